/* When the page's own script starts its work: once the page and its first photos have loaded
   and the first screen has been painted (the frame after the first one after loading), so
   what residents came to see comes first. Without painted frames (a tab in the background)
   it starts a second after loading all the same. */
window.gmStart = function (work) {
  'use strict';
  var done = false;
  function go() {
    if (done) { return; }
    done = true;
    setTimeout(work, 0);
  }
  function loaded() {
    if (window.requestAnimationFrame) {
      window.requestAnimationFrame(function () { window.requestAnimationFrame(go); });
    }
    setTimeout(go, 1000);
  }
  if (document.readyState === 'complete') { loaded(); } else { window.addEventListener('load', loaded); }
};
