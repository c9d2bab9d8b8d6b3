/* 图文直播 live updates: applies new / updated / retracted posts without a reload.
   Uses EventSource on /live; without it, polls /api/feed at the interval the server set.
   Everything is built with textContent: post text is never parsed as HTML. */
(function () {
  'use strict';
  var body = document.body;
  var feed = document.getElementById('feed');
  if (!feed || body.getAttribute('data-live') !== '1') { return; }
  var poll = parseInt(body.getAttribute('data-poll'), 10) || 15;
  var since = body.getAttribute('data-seq') || '0';
  var more = body.getAttribute('data-more') === '1';
  /* a page that follows one stop hears only of that stop's posts */
  var stop = body.getAttribute('data-stop');
  var only = stop ? '&stop=' + encodeURIComponent(stop) : '';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  /* with 台标 on, photo links name the setting's digest (a copy cached before it changed is
     never reused) */
  var mark = body.getAttribute('data-w');
  function media(hash, size) {
    return '/media/' + hash + '/' + size + '.jpg' + (mark ? '?w=' + encodeURIComponent(mark) : '');
  }

  function render(p) {
    var a = el('article', 'post' + (p.pinned ? ' pinned' : ''));
    a.id = 'p-' + p.id;
    a.setAttribute('data-published', p.published_at);
    var meta = el('header', 'meta');
    if (p.pinned) { meta.appendChild(el('span', 'pin', '置顶')); }
    var t = el('time', null, p.time);
    t.setAttribute('datetime', p.published_at);
    meta.appendChild(t);
    if (p.stop_label) { meta.appendChild(el('span', 'stop', p.stop_label)); }
    a.appendChild(meta);
    for (var i = 0; i < p.paragraphs.length; i++) { a.appendChild(el('p', null, p.paragraphs[i])); }
    if (p.photos.length) {
      var g = el('div', 'photos n' + p.photos.length);
      for (var j = 0; j < p.photos.length; j++) {
        var link = el('a');
        link.href = media(p.photos[j], 1600);
        var img = el('img');
        if (p.photos.length === 1) {
          /* the widths by the long side (the feed does not carry sizes): the phone picks the
             smallest copy that is sharp on its screen, as on the server's page */
          img.src = media(p.photos[j], 800);
          img.srcset = media(p.photos[j], 320) + ' 320w, ' + media(p.photos[j], 800) + ' 800w, ' +
            media(p.photos[j], 1600) + ' 1600w';
          img.sizes = '(min-width: 720px) 688px, calc(100vw - 32px)';
        } else {
          img.src = media(p.photos[j], 320);
        }
        img.alt = '现场图片 ' + (j + 1);
        img.loading = 'lazy';
        img.decoding = 'async';
        link.appendChild(img);
        g.appendChild(link);
      }
      a.appendChild(g);
    }
    if (p.credit) { a.appendChild(el('p', 'credit', p.credit)); }
    if (p.updated_time) { a.appendChild(el('p', 'updated', '已更新 ' + p.updated_time)); }
    return a;
  }

  function newer(a, b) { /* is post a above post b in the stream? */
    var pa = a.getAttribute('data-published'), pb = b.getAttribute('data-published');
    return pa > pb || (pa === pb && a.id > b.id);
  }

  function remove(id) {
    var old = document.getElementById('p-' + id);
    if (old) { old.parentNode.removeChild(old); }
  }

  function upsert(p, fresh) {
    var had = !!document.getElementById('p-' + p.id);
    remove(p.id);
    var node = render(p);
    if (fresh && !had) { node.className += ' fresh'; }
    var empty = document.querySelector('.empty');
    if (empty) { empty.parentNode.removeChild(empty); }
    if (p.pinned) { feed.insertBefore(node, feed.firstChild); return; }
    var kids = feed.children;
    for (var i = 0; i < kids.length; i++) {
      if (kids[i].className.indexOf('pinned') >= 0) { continue; }
      if (newer(node, kids[i])) { feed.insertBefore(node, kids[i]); return; }
    }
    /* Older than everything shown: it belongs here only when no older page exists. */
    if (had || !more) { feed.appendChild(node); }
  }

  function apply(ev) {
    if (ev.kind === 'retracted' || !ev.post) { remove(ev.id); } else { upsert(ev.post, ev.kind === 'new'); }
  }

  function pollOnce() {
    var x = new XMLHttpRequest();
    x.open('GET', '/api/feed?limit=20' + only);
    x.onload = function () {
      if (x.status !== 200) { return; }
      var f;
      try { f = JSON.parse(x.responseText); } catch (e) { return; }
      var seen = {};
      var list = f.posts.slice();
      if (f.pinned) { list.unshift(f.pinned); }
      for (var i = list.length - 1; i >= 0; i--) { seen['p-' + list[i].id] = true; upsert(list[i], false); }
      var oldest = f.posts.length ? f.posts[f.posts.length - 1].published_at : '';
      var kids = Array.prototype.slice.call(feed.children);
      for (var k = 0; k < kids.length; k++) {
        var pub = kids[k].getAttribute('data-published');
        if (kids[k].id && !seen[kids[k].id] && pub && (pub >= oldest || kids[k].className.indexOf('pinned') >= 0)) {
          feed.removeChild(kids[k]);
        }
      }
    };
    x.send();
  }

  var polling = null;
  /* The stream opens once the first screen is shown (start.js); it continues from the page's
     version, so nothing published meanwhile is missed. */
  function connect() {
    if (window.EventSource) {
      var es = new EventSource('/live?since=' + encodeURIComponent(since) + only);
      es.addEventListener('post', function (m) {
        try { apply(JSON.parse(m.data)); } catch (e) { /* a bad event is skipped */ }
      });
      /* comments or likes changed: comments.js reloads them */
      es.addEventListener('comments', function () {
        var ev = document.createEvent('Event');
        ev.initEvent('gm:comments', false, false);
        document.dispatchEvent(ev);
      });
      /* refused (too many pages open from this address) or gone for good: poll instead */
      es.addEventListener('error', function () {
        if (es.readyState === 2 && !polling) {
          polling = setInterval(pollOnce, poll * 1000);
        }
      });
      /* the page is further behind than the server replays: start again from the current page */
      es.addEventListener('reload', function () {
        es.close();
        window.location.reload();
      });
    } else {
      setInterval(pollOnce, poll * 1000);
    }
  }
  window.gmStart(connect);
})();
