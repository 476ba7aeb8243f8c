// Keyboard shortcuts of the queue and the ticket page, the queue's "select all" and the count
// of ticked rows. No inline script (the Content-Security-Policy allows static files only);
// events are delegated from the document, so rows redrawn by htmx keep working.
//
// Queue: j / k move the current row, Enter opens it, x ticks it, a assigns it to me.
// Ticket: r reply, n note, a assign to me, e escalate. Both: ? lists the shortcuts.
// Nothing happens while typing in a field, or with Ctrl, Alt or Cmd held.
(function () {
  "use strict";

  var SHORTCUTS = [
    ["j", "Next ticket in the queue"],
    ["k", "Previous ticket in the queue"],
    ["Enter", "Open the current ticket"],
    ["x", "Tick or untick the current ticket"],
    ["a", "Assign the current ticket to me"],
    ["r", "Reply (ticket page)"],
    ["n", "Internal note (ticket page); new ticket (queue)"],
    ["e", "Escalate (ticket page)"],
    ["/", "Search"],
    ["?", "Show this list"],
  ];
  var currentId = null;

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-testid=queue] tr.queue-row"));
  }

  function currentRow() {
    if (currentId === null) return null;
    return document.querySelector('[data-testid=queue] tr.queue-row[data-ticket="' + currentId + '"]');
  }

  function setCurrent(row) {
    rows().forEach(function (other) { other.classList.remove("is-current"); });
    if (!row) { currentId = null; return; }
    currentId = row.dataset.ticket;
    row.classList.add("is-current");
    row.focus();
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    index = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    setCurrent(all[index]);
  }

  function focusField(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var field = document.querySelector(selectors[i]);
      if (field) {
        var details = field.closest("details");
        if (details) details.open = true;
        field.scrollIntoView({ block: "center" });
        field.focus();
        return true;
      }
    }
    return false;
  }

  function click(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var control = document.querySelector(selectors[i]);
      if (control) { control.click(); return true; }
    }
    return false;
  }

  function helpDialog() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "shortcuts-help";
    dialog.className = "shortcuts-help";
    dialog.setAttribute("aria-labelledby", "shortcuts-help-title");
    var title = document.createElement("h2");
    title.id = "shortcuts-help-title";
    title.className = "h5";
    title.textContent = "Keyboard shortcuts";
    dialog.appendChild(title);
    var list = document.createElement("dl");
    list.className = "shortcuts-list";
    SHORTCUTS.forEach(function (pair) {
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    dialog.appendChild(list);
    var note = document.createElement("p");
    note.className = "small text-secondary";
    note.textContent = "Shortcuts are off while you type in a field. Esc closes this list.";
    dialog.appendChild(note);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-sm btn-primary";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.appendChild(close);
    document.body.appendChild(dialog);
    return dialog;
  }

  function toggleHelp() {
    var dialog = helpDialog();
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  function onTicketPage() {
    return document.getElementById("ticket-main") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open && event.key !== "?") return;
    var row = currentRow();
    var handled = true;
    switch (event.key) {
      case "?":
        toggleHelp();
        break;
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "Enter":
        // Only on the current row itself: Enter on a link or button does its own thing.
        if (row && event.target === row) window.location.href = row.dataset.href;
        else handled = false;
        break;
      case "x":
        var box = row && row.querySelector("[data-row-select]");
        if (box) {
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change", { bubbles: true }));
        } else handled = false;
        break;
      case "a":
        if (row) handled = click(['tr.queue-row[data-ticket="' + currentId + '"] [data-row-take]']);
        else handled = onTicketPage() && click(['[data-shortcut="assign-me"]', 'form[action$="/take/"] button']);
        break;
      case "r":
        handled = onTicketPage() && focusField(['[data-shortcut="reply"]', 'form[action$="/reply/"] textarea']);
        break;
      case "n":
        // On the queue, n stays "new ticket" (workspace.js).
        handled = onTicketPage() && focusField([
          '[data-shortcut="note"]', 'form[action$="/note/"] textarea', 'form[action$="/reply/"] textarea',
        ]);
        break;
      case "e":
        handled = onTicketPage() && focusField([
          '[data-shortcut="escalate"]',
          'details[data-action="escalate_form"] textarea',
          'details[data-action="escalate_form"] input:not([type=hidden])',
        ]);
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Ticked rows: "select all on this page" and the count in the bulk bar.
  function updateCount() {
    var boxes = document.querySelectorAll("[data-row-select]");
    var ticked = document.querySelectorAll("[data-row-select]:checked").length;
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var count = document.querySelector("[data-bulk-count]");
    if (count) count.textContent = ticked ? ticked + " selected" : "No ticket selected";
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches("[data-select-all]")) {
      document.querySelectorAll("[data-row-select]").forEach(function (box) { box.checked = field.checked; });
    }
    if (field.matches("[data-select-all], [data-row-select]")) updateCount();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-help]")) toggleHelp();
    // A click in a row makes it the current one (without moving the focus off a control).
    var row = event.target.closest && event.target.closest("tr.queue-row");
    if (row) {
      rows().forEach(function (other) { other.classList.remove("is-current"); });
      currentId = row.dataset.ticket;
      row.classList.add("is-current");
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    var row = currentRow();
    if (row) row.classList.add("is-current");
    updateCount();
  });
  document.addEventListener("DOMContentLoaded", updateCount);
})();
