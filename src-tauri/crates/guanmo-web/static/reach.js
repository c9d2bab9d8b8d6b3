/* 传播数据: tells the site, in one small beacon per load and then per batch of posts scrolled
   into view, that the page was opened and which posts it showed (each once per load). The
   phone's existing cookie goes along; nothing new is stored on the phone. */
(function () {
  'use strict';
  var feed = document.getElementById('feed');
  if (!feed || location.protocol.indexOf('http') !== 0) { return; }
  var seen = {};
  var queue = [];
  var page = true;
  var timer = null;

  function send() {
    timer = null;
    var body = JSON.stringify({ page: page, posts: queue.splice(0, 50) });
    page = false;
    var sent = false;
    try { sent = !!(navigator.sendBeacon && navigator.sendBeacon('/api/seen', body)); } catch (e) { sent = false; }
    if (!sent && window.fetch) {
      fetch('/api/seen', { method: 'POST', body: body, keepalive: true, credentials: 'same-origin' })
        .catch(function () { /* counting never bothers the reader */ });
    }
    if (queue.length) { schedule(); }
  }

  function schedule() { if (!timer) { timer = setTimeout(send, 1500); } }

  function shown(a) {
    var id = a.id.slice(2);
    if (!id || seen[id]) { return; }
    seen[id] = 1;
    queue.push(id);
    schedule();
  }

  var io = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { shown(e.target); io.unobserve(e.target); }
    });
  }, { threshold: 0.3 }) : null;

  function watch(a) {
    if (a.tagName !== 'ARTICLE' || a.id.indexOf('p-') !== 0) { return; }
    if (io) { io.observe(a); } else { shown(a); }
  }

  // Watching starts once the first screen is shown (start.js), as the comment area's /api/me
  // does. The first report waits a moment more, so a phone on its first visit has its
  // cookie (from that /api/me) and counts as a visitor; leaving sooner still reports.
  function start() {
    Array.prototype.forEach.call(feed.querySelectorAll('article[id^="p-"]'), watch);
    if (window.MutationObserver) {
      new MutationObserver(function (muts) {
        muts.forEach(function (m) { Array.prototype.forEach.call(m.addedNodes, function (n) { if (n.nodeType === 1) { watch(n); } }); });
      }).observe(feed, { childList: true });
    }
    schedule();
  }
  window.gmStart(start);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden' && (page || queue.length)) { clearTimeout(timer); send(); }
  });
})();
