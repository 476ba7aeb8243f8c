// Live pages by conditional polling (msp/live.py). An element with data-live-poll polls with
// htmx; this script sends the ETag of the last fragment it was given (If-None-Match), so that
// an unchanged page costs a 304 and nothing is swapped. No inline script: the CSP forbids it.
(function () {
  "use strict";

  function pollOf(elt) {
    return elt && elt.closest ? elt.closest("[data-live-poll]") : null;
  }

  // Did the user type into a composer lately? Then the heartbeat says "replying".
  var lastTyped = 0;
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-composer-body]")) lastTyped = Date.now();
  });

  function typing(poll) {
    var selector = poll.dataset.liveTypingFrom;
    if (!selector) return false;
    var busy = Array.prototype.some.call(document.querySelectorAll(selector), function (field) {
      return field.value.trim() !== "";
    });
    return busy && Date.now() - lastTyped < 60000;
  }

  // A queue is not redrawn while rows are selected or a row has the focus: the selection and
  // the place the user is at are theirs (the queue's checkboxes stay as they are).
  function queueBusy(poll) {
    var results = document.querySelector(poll.getAttribute("hx-target"));
    if (!results) return false;
    return !!results.querySelector("input[type=checkbox]:checked") ||
      results.contains(document.activeElement) && document.activeElement !== document.body;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var poll = pollOf(event.detail.elt);
    if (poll && poll.hasAttribute("data-live-queue") && queueBusy(poll)) event.preventDefault();
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var poll = pollOf(event.detail.elt);
    if (!poll) return;
    if (poll.dataset.etag) event.detail.headers["If-None-Match"] = poll.dataset.etag;
    if (poll.dataset.liveTypingFrom) event.detail.parameters.state = typing(poll) ? "typing" : "viewing";
    if (poll.hasAttribute("data-live-queue")) {
      // The queue as the address bar shows it (filters, sort, page), asked for its changes.
      new URLSearchParams(window.location.search).forEach(function (value, key) {
        if (!(key in event.detail.parameters)) event.detail.parameters[key] = value;
      });
    }
    poll.dataset.skipped = "";
  });

  // A 304 carries no body: keep what is on the page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 304) event.detail.shouldSwap = false;
  });

  // The actions column is not redrawn under someone using it (a panel open, the focus in it).
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "ticket-actions") return;
    if (target.querySelector("details[open]") || target.contains(document.activeElement)) {
      event.detail.shouldSwap = false;
      var poll = document.querySelector("[data-live-poll]");
      if (poll) poll.dataset.skipped = "1";
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var poll = pollOf(event.detail.elt);
    if (!poll || !event.detail.xhr) return;
    var etag = event.detail.xhr.getResponseHeader("ETag");
    // When a part was left as it was, forget the ETag so that the next poll brings it again.
    if (poll.dataset.skipped) { poll.dataset.etag = ""; return; }
    if (etag && event.detail.successful) poll.dataset.etag = etag;
  });
})();
