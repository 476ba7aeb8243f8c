// Running timers: every element with data-timer-started shows the time since then, ticking each
// second. The server's clock is authoritative: data-timer-now is the server's time when the page
// was drawn, so a browser clock that is off does not change what is shown.
(function () {
  "use strict";
  if (window.psaTimer) {
    window.psaTimer.tick();
    return;
  }
  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }
  function tick() {
    var nodes = document.querySelectorAll("[data-timer-started]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (!node.dataset.timerOffset) {
        var serverNow = Date.parse(node.dataset.timerNow || "") || Date.now();
        node.dataset.timerOffset = String(serverNow - Date.now());
      }
      var now = Date.now() + Number(node.dataset.timerOffset);
      var seconds = Math.max(0, Math.floor((now - Date.parse(node.dataset.timerStarted)) / 1000));
      node.textContent =
        Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" + pad(seconds % 60);
    }
  }
  window.psaTimer = { tick: tick };
  tick();
  setInterval(tick, 1000);
})();
