/* 评论与点赞 on the live page: likes, approved comments under each post and for the event,
   the comment form (先审后发: a comment shows only after a moderator approves it), 举报, and
   one's own comments with 申诉. Refreshes when the live stream says the comments changed
   (event `gm:comments` from live.js) or, without EventSource and on older pages that have
   no stream, by polling at the interval the server set.
   Everything is built with textContent: comment text is never parsed as HTML. */
(function () {
  'use strict';
  var body = document.body;
  if (body.getAttribute('data-comments') !== '1') { return; }
  var poll = (parseInt(body.getAttribute('data-poll'), 10) || 15) * 1000;
  var KINDS = { praise: '点赞家乡', suggestion: '意见建议', other: '其他' };
  var STATUS = { pending: '待审核', approved: '已通过', rejected: '未通过' };
  var state = { open: true, comments: [], likes: {}, liked: {}, mine: [], etag: null, sms: false, loaded: false };
  var townships = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function request(method, url, data, done) {
    var x = new XMLHttpRequest();
    x.open(method, url);
    if (data) { x.setRequestHeader('Content-Type', 'application/json'); }
    if (method === 'GET' && url.indexOf('/api/comments') === 0 && state.etag) {
      x.setRequestHeader('If-None-Match', state.etag);
    }
    x.onload = function () {
      var v = null;
      try { v = x.responseText ? JSON.parse(x.responseText) : null; } catch (e) { v = null; }
      done(x.status, v, x);
    };
    x.onerror = function () { done(0, null, x); };
    x.send(data ? JSON.stringify(data) : null);
  }

  function hhmm(rfc) {
    var d = new Date(rfc);
    if (isNaN(d.getTime())) { return ''; }
    /* Beijing time whatever the phone's zone */
    var b = new Date(d.getTime() + 8 * 3600 * 1000);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return (b.getUTCMonth() + 1) + '月' + b.getUTCDate() + '日 ' + two(b.getUTCHours()) + ':' + two(b.getUTCMinutes());
  }

  function failure(status, v) {
    if (v && v.message) {
      var m = v.message;
      if (v.problems && v.problems.length) {
        var parts = [];
        for (var i = 0; i < v.problems.length; i++) { parts.push(v.problems[i].message); }
        m += ':' + parts.join(';');
      }
      return m;
    }
    if (status === 0) { return '网络不通,请稍后再试'; }
    return '提交失败,请稍后再试';
  }

  /* ---- rendering ---- */

  function commentNode(c) {
    var li = el('li', 'cm' + (c.pinned ? ' pinned' : ''));
    li.id = 'c-' + c.id;
    var head = el('div', 'cm-head');
    if (c.pinned) { head.appendChild(el('span', 'pin', '置顶')); }
    head.appendChild(el('b', 'nick', c.nickname));
    head.appendChild(el('span', 'kind', KINDS[c.kind] || ''));
    if (c.township) { head.appendChild(el('span', 'tw', c.township)); }
    head.appendChild(el('time', null, hhmm(c.created_at)));
    li.appendChild(head);
    li.appendChild(el('p', 'cm-text', c.text));
    if (c.reply) { li.appendChild(replyBox(c.reply)); }
    var rep = el('button', 'link report', '举报');
    rep.type = 'button';
    rep.onclick = function () { report(c.id); };
    li.appendChild(rep);
    return li;
  }

  function likeButton(target) {
    var n = state.likes[target] || 0;
    var b = el('button', 'like' + (state.liked[target] ? ' on' : ''), (state.liked[target] ? '已赞' : '点赞') + (n ? ' ' + n : ''));
    b.type = 'button';
    b.setAttribute('data-like', target);
    b.onclick = function () { like(target); };
    return b;
  }

  /* The approved comments by target, worked out once per change of state.comments. */
  var byTarget = null;
  function commentsOf(target) {
    if (!byTarget) {
      byTarget = {};
      for (var i = 0; i < state.comments.length; i++) {
        var c = state.comments[i];
        (byTarget[c.target] = byTarget[c.target] || []).push(c);
      }
    }
    return byTarget[target] || [];
  }

  function section(target, title, list) {
    var s = el('section', 'cms');
    s.setAttribute('data-target', target);
    var bar = el('div', 'cm-bar');
    bar.appendChild(likeButton(target));
    var w = el('button', 'write', '写评论');
    w.type = 'button';
    w.onclick = function () { openForm(target, title); };
    if (!state.open) { w.disabled = true; w.textContent = '评论区已关闭'; }
    bar.appendChild(w);
    s.appendChild(bar);
    if (list.length) {
      var ul = el('ul', 'cm-list');
      for (var i = 0; i < list.length; i++) { ul.appendChild(commentNode(list[i])); }
      s.appendChild(ul);
    }
    return s;
  }

  function titleOf(article) {
    var stop = article.querySelector('.stop');
    return stop ? stop.textContent : '这条动态';
  }

  /* Draws the comment area of `box` (a post, or the event's area) for `target`, unless what
     it would show is what it shows already. */
  function draw(box, target, title) {
    var list = commentsOf(target);
    var sig = JSON.stringify([state.open, state.likes[target] || 0, !!state.liked[target], list]);
    var old = box.querySelector('section.cms');
    if (old && box.gmDrawn === sig) { return; }
    box.gmDrawn = sig;
    var fresh = section(target, title, list);
    if (old) { box.replaceChild(fresh, old); } else { box.appendChild(fresh); }
  }

  function drawBox(box) {
    if (box.id === 'event-comments') { draw(box, 'event', '整场观摩会'); } else { draw(box, box.id.replace(/^p-/, ''), titleOf(box)); }
  }

  /* Areas to draw, a few at a time: each turn of the page's main thread draws for at most a
     few milliseconds, so a tap or a scroll never waits behind a long task. */
  var toDraw = [];
  var drawing = false;
  function drawSome() {
    var end = Date.now() + 6;
    while (toDraw.length && Date.now() < end) {
      var box = toDraw.shift();
      if (box.isConnected !== false) { drawBox(box); }
    }
    if (toDraw.length) { setTimeout(drawSome, 0); } else { drawing = false; }
  }
  function later(box) {
    if (toDraw.indexOf(box) < 0) { toDraw.push(box); }
    if (!drawing) { drawing = true; setTimeout(drawSome, 0); }
  }

  /* A comment area is drawn once its post comes near the screen, so the phone does no work
     for the posts nobody scrolls to; without IntersectionObserver every area is drawn. */
  var near = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    for (var i = 0; i < entries.length; i++) {
      var box = entries[i].target;
      if (entries[i].isIntersecting && !box.gmNear) {
        box.gmNear = true;
        near.unobserve(box);
        if (state.loaded) { later(box); }
      }
    }
  }, { rootMargin: '600px 0px' }) : null;

  function renderAll() {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('article.post'));
    var ev = document.getElementById('event-comments');
    if (ev) { boxes.push(ev); }
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.gmNear || !near) { later(box); } else if (!box.gmWatched) { box.gmWatched = true; near.observe(box); }
    }
    renderMine();
  }

  /* A reply under a comment: 官方回复 in a department's name, or a township's to a suggestion. */
  function replyBox(reply) {
    var r = el('div', reply.official ? 'reply official' : 'reply');
    if (reply.official) { r.appendChild(el('span', 'badge', '官方回复')); }
    r.appendChild(el('b', null, (reply.township || '相关部门') + (reply.official ? ':' : '回复:')));
    r.appendChild(el('span', null, reply.text));
    r.appendChild(el('time', null, hhmm(reply.at)));
    return r;
  }

  function renderMine() {
    var box = document.getElementById('my-comments');
    if (!box) { return; }
    var sig = JSON.stringify(state.mine);
    if (box.gmDrawn === sig) { return; }
    box.gmDrawn = sig;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    if (!state.mine.length) { return; }
    box.appendChild(el('h2', null, '我的评论'));
    var ul = el('ul', 'mine');
    for (var i = 0; i < state.mine.length; i++) {
      var c = state.mine[i];
      var li = el('li', 'st-' + c.status);
      li.appendChild(el('span', 'st', STATUS[c.status] || ''));
      li.appendChild(el('span', 'cm-text', c.text));
      if (c.reply) { li.appendChild(replyBox(c.reply)); }
      if (c.status === 'rejected') {
        if (c.reject_reason) { li.appendChild(el('span', 'why', '原因:' + c.reject_reason)); }
        if (!c.appealed) {
          var b = el('button', 'link', '申诉');
          b.type = 'button';
          b.onclick = (function (id) { return function () { appeal(id); }; })(c.id);
          li.appendChild(b);
        }
      }
      ul.appendChild(li);
    }
    box.appendChild(ul);
  }

  /* ---- data ---- */

  function load() {
    request('GET', '/api/comments', null, function (status, v, x) {
      if (status === 200 && v) {
        state.etag = x.getResponseHeader('ETag');
        state.open = v.open;
        state.comments = v.comments;
        state.loaded = true;
        byTarget = null;
        state.likes = {};
        for (var i = 0; i < v.likes.length; i++) { state.likes[v.likes[i][0]] = v.likes[i][1]; }
        renderAll();
      }
    });
  }

  function loadMine() {
    request('GET', '/api/me', null, function (status, v) {
      if (status !== 200 || !v) { return; }
      state.mine = v.comments;
      state.sms = !!v.sms;
      var row = document.getElementById('cf-code-row');
      if (row) { row.hidden = !state.sms; }
      state.liked = {};
      for (var i = 0; i < v.liked.length; i++) { state.liked[v.liked[i]] = true; }
      if (state.loaded) { renderAll(); } else { renderMine(); }
    });
  }

  function like(target) {
    request('POST', '/api/likes', { target: target }, function (status, v) {
      if (status === 200 && v) {
        state.liked[target] = true;
        state.likes[target] = v.count;
        renderAll();
      } else { toast(failure(status, v)); }
    });
  }

  function report(id) {
    var reason = window.prompt('举报理由(如:广告、不实信息、人身攻击)');
    if (!reason) { return; }
    request('POST', '/api/comments/' + id + '/report', { reason: reason }, function (status, v) {
      toast(status === 202 && v ? v.message : failure(status, v));
    });
  }

  function appeal(id) {
    var reason = window.prompt('申诉理由');
    if (!reason) { return; }
    request('POST', '/api/comments/' + id + '/appeal', { reason: reason }, function (status, v) {
      toast(status === 202 && v ? v.message : failure(status, v));
      loadMine();
    });
  }

  var toastTimer = null;
  function toast(text) {
    var t = document.getElementById('toast');
    if (!t) { t = el('div', 'toast'); t.id = 'toast'; t.setAttribute('role', 'status'); body.appendChild(t); }
    t.textContent = text;
    t.className = 'toast show';
    if (toastTimer) { clearTimeout(toastTimer); }
    toastTimer = setTimeout(function () { t.className = 'toast'; }, 4000);
  }

  /* ---- the form ---- */

  var form = document.getElementById('comment-form');
  var dialog = document.getElementById('comment-dialog');

  function openForm(target, title) {
    if (!form || !dialog) { return; }
    form.elements.target.value = target;
    document.getElementById('cf-title').textContent = '评论:' + title;
    document.getElementById('cf-msg').textContent = '';
    dialog.hidden = false;
    form.elements.nickname.focus();
    askTownships();
  }

  function count() {
    var n = Array.from ? Array.from(form.elements.text.value).length : form.elements.text.value.length;
    document.getElementById('cf-count').textContent = n + '/500';
  }

  if (form && dialog) {
    form.elements.text.addEventListener('input', count);
    document.getElementById('cf-cancel').onclick = function () { dialog.hidden = true; };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var f = form.elements;
      var kind = 'praise';
      for (var i = 0; i < f.kind.length; i++) { if (f.kind[i].checked) { kind = f.kind[i].value; } }
      var data = {
        target: f.target.value,
        nickname: f.nickname.value,
        kind: kind,
        text: f.text.value,
        township_id: f.township_id.value || null,
        phone: f.phone.value
      };
      if (f.website.value) { data.website = f.website.value; }
      if (state.sms) { data.code = f.code.value; }
      var msg = document.getElementById('cf-msg');
      var btn = form.querySelector('button[type=submit]');
      btn.disabled = true;
      request('POST', '/api/comments', data, function (status, v) {
        btn.disabled = false;
        if ((status === 201 || status === 200) && v) {
          f.text.value = '';
          count();
          dialog.hidden = true;
          toast(v.message);
          loadMine();
        } else {
          msg.textContent = failure(status, v);
        }
      });
    });
    var send = document.getElementById('cf-send');
    send.onclick = function () {
      var msg = document.getElementById('cf-msg');
      send.disabled = true;
      request('POST', '/api/verify', { phone: form.elements.phone.value }, function (status, v) {
        if (status !== 202) { send.disabled = false; msg.textContent = failure(status, v); return; }
        msg.textContent = v.message;
        var left = 60;
        var t = setInterval(function () {
          left -= 1;
          send.textContent = left > 0 ? left + '秒后重新获取' : '获取验证码';
          if (left <= 0) { clearInterval(t); send.disabled = false; }
        }, 1000);
      });
    };
  }

  /* The townships of the form's picker, asked for the first time the form opens. */
  var townshipsAsked = false;
  function askTownships() {
    if (townshipsAsked) { return; }
    townshipsAsked = true;
    request('GET', '/api/townships', null, function (status, v) {
      if (status !== 200 || !v) { townshipsAsked = false; return; }
      townships = v;
      var sel = form.elements.township_id;
      for (var i = 0; i < townships.length; i++) {
        var o = el('option', null, townships[i].name);
        o.value = townships[i].id;
        sel.appendChild(o);
      }
    });
  }

  var feed = document.getElementById('feed');
  if (feed && window.MutationObserver) {
    /* posts added live get their like and comment bar too */
    var pending = false;
    new MutationObserver(function () {
      if (pending) { return; }
      pending = true;
      setTimeout(function () {
        pending = false;
        var posts = feed.querySelectorAll('article.post');
        for (var i = 0; i < posts.length; i++) {
          if (!posts[i].querySelector('section.cms') && !posts[i].gmWatched) { renderAll(); return; }
        }
      }, 50);
    }).observe(feed, { childList: true });
  }

  var reloadTimer = null;
  document.addEventListener('gm:comments', function () {
    if (reloadTimer) { return; }
    /* many changes in a burst (likes) cost one request */
    reloadTimer = setTimeout(function () { reloadTimer = null; load(); if (state.mine.length) { loadMine(); } }, 300);
  });
  /* Older pages (查看更早的动态) have no live stream: they poll like a phone without one. */
  if (!window.EventSource || body.getAttribute('data-live') !== '1') {
    setInterval(function () { load(); if (state.mine.length) { loadMine(); } }, poll);
  }
  /* The comment areas wait until the first screen is shown (start.js): what residents came
     to see comes first. */
  window.gmStart(function () { load(); loadMine(); });
})();
