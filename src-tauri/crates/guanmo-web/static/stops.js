/* 图文直播 by stop: picking a stop opens its page (/?stop=N) at once, and 分享本站 shares the
   stop's link (the phone's share sheet where there is one, else copied with a note). */
(function () {
  'use strict';
  var pick = document.getElementById('stop-pick');
  if (pick) {
    pick.addEventListener('change', function () {
      window.location.href = '/' + (pick.value ? '?stop=' + encodeURIComponent(pick.value) : '');
    });
  }

  function note(text) {
    var t = document.createElement('div');
    t.className = 'toast show';
    t.setAttribute('role', 'status');
    t.textContent = text;
    document.body.appendChild(t);
    setTimeout(function () { t.className = 'toast'; }, 2500);
    setTimeout(function () { if (t.parentNode) { t.parentNode.removeChild(t); } }, 3000);
  }

  function copyByHand(url) {
    var area = document.createElement('textarea');
    area.value = url;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    note(ok ? '本站链接已复制,可粘贴分享' : '请长按链接复制:' + url);
  }

  var links = document.querySelectorAll('a[data-share]');
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener('click', function (ev) {
      var a = ev.currentTarget;
      var url = a.href;
      ev.preventDefault();
      if (navigator.share) {
        navigator.share({ title: a.getAttribute('data-share'), url: url }).catch(function () {});
      } else if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(function () {
          note('本站链接已复制,可粘贴分享');
        }, function () { copyByHand(url); });
      } else {
        copyByHand(url);
      }
    });
  }
})();
