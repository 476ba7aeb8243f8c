// Live SLA countdowns, keyboard shortcuts and auto-submitting filters. No build step, and no
// inline script anywhere: the Content-Security-Policy allows scripts from static files only.
(function () {
  "use strict";

  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    minutes = minutes % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + minutes + " min";
    return minutes + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      var due = Date.parse(badge.dataset.due);
      var warn = badge.dataset.warn ? Date.parse(badge.dataset.warn) : null;
      var state = now > due ? "breached" : warn !== null && now >= warn ? "warning" : "ok";
      badge.textContent = state === "breached" ? "overdue " + duration(now - due) : duration(due - now);
      badge.className = "sla sla-" + state;
    });
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    if (event.key === "/") {
      var search = document.getElementById("id_q");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (event.key === "n" && !event.ctrlKey && !event.metaKey) {
      var link = document.querySelector("[accesskey=n]");
      if (link) link.click();
    }
  });

  // Buttons that remove something ask first (data-confirm="question").
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Filters that apply on change (data-autosubmit), instead of inline onchange handlers that
  // the Content-Security-Policy would refuse.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.form && field.hasAttribute("data-autosubmit")) field.form.requestSubmit();
  });

  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
})();
