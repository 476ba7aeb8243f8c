// The ticket page's composers: reply / note tabs, Write / Preview, canned responses, and files
// dropped or pasted (screenshots) onto a composer, added to its file input through a
// DataTransfer so that they are sent with the reply by the ordinary form post.
(function () {
  "use strict";

  function composers() { return document.querySelectorAll("form[data-composer]"); }

  function show(kind) {
    var section = document.getElementById("composer");
    if (!section) return;
    section.dataset.active = kind;
    composers().forEach(function (form) { form.hidden = form.dataset.composer !== kind; });
    section.querySelectorAll("[data-composer-tab]").forEach(function (tab) {
      var on = tab.dataset.composerTab === kind;
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
    });
  }

  function setUp() {
    var section = document.getElementById("composer");
    if (section) show(section.dataset.active || "reply");
    composers().forEach(listFiles);
  }

  // --- files: drop, paste, list
  function listFiles(form) {
    var input = form.querySelector("[data-composer-input]");
    var list = form.querySelector("[data-composer-filelist]");
    if (!input || !list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      item.textContent = "📎 " + file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
      list.appendChild(item);
    });
  }

  function addFiles(form, files) {
    var input = form.querySelector("[data-composer-input]");
    if (!input || !files.length) return;
    var transfer = new DataTransfer();
    Array.prototype.forEach.call(input.files || [], function (file) { transfer.items.add(file); });
    Array.prototype.forEach.call(files, function (file, index) {
      // A pasted screenshot is called "image.png" by every browser: name it so that several
      // pasted ones stay apart.
      if (/^image\.(png|jpe?g|gif|webp)$/i.test(file.name) || !file.name) {
        var stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
        var extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
        file = new File([file], "screenshot-" + stamp + (index ? "-" + index : "") + "." + extension, { type: file.type });
      }
      transfer.items.add(file);
    });
    input.files = transfer.files;
    listFiles(form);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-composer-input]")) listFiles(event.target.form);
  });

  document.addEventListener("dragover", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (form && event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
      form.classList.add("composer-dragging");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (form) form.classList.remove("composer-dragging");
  });
  document.addEventListener("drop", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (!form || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    form.classList.remove("composer-dragging");
    addFiles(form, event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (!form || !event.clipboardData) return;
    var files = [];
    Array.prototype.forEach.call(event.clipboardData.items || [], function (item) {
      if (item.kind === "file") { var file = item.getAsFile(); if (file) files.push(file); }
    });
    if (!files.length) return;  // text is pasted as usual
    event.preventDefault();
    addFiles(form, files);
  });

  // --- tabs, write / preview, canned responses
  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-composer-tab]");
    if (tab) { show(tab.dataset.composerTab); var body = document.querySelector("form[data-composer=" + tab.dataset.composerTab + "] [data-composer-body]"); if (body) body.focus(); return; }
    var mode = event.target.closest("[data-composer-mode]");
    if (mode) {
      var form = mode.closest("form[data-composer]");
      var preview = mode.dataset.composerMode === "preview";
      form.querySelector("[data-composer-body]").hidden = preview;
      form.querySelector("[data-composer-preview]").hidden = !preview;
      form.querySelectorAll("[data-composer-mode]").forEach(function (button) {
        var on = button === mode;
        button.classList.toggle("active", on);
        button.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[data-composer-tab]");
    if (!tab || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
    var next = tab.dataset.composerTab === "reply" ? "note" : "reply";
    show(next);
    document.getElementById("composer-tab-" + next).focus();
  });

  function insertAtCursor(field, text) {
    var start = field.selectionStart || 0, end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  }

  // The canned responses are read when the menu is first opened, not with every page.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("[data-composer-canned-menu]") || !menu.open) return;
    var list = menu.querySelector("[data-url]");
    if (!list || list.dataset.loaded) return;
    list.dataset.loaded = "1";
    htmx.ajax("GET", list.dataset.url, { target: list, swap: "innerHTML" });
  }, true);

  document.addEventListener("click", function (event) {
    var choice = event.target.closest && event.target.closest("[data-canned-url]");
    if (!choice) return;
    var form = choice.closest("form[data-composer]");
    var menu = choice.closest("details");
    fetch(choice.dataset.cannedUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) {
        // Text into the textarea's value, never into the page's HTML.
        insertAtCursor(form.querySelector("[data-composer-body]"), data.text);
        var warning = form.querySelector("[data-composer-unknown]");
        warning.hidden = !data.unknown.length;
        warning.textContent = data.unknown.length
          ? "Unknown placeholders left as written: " + data.unknown.map(function (n) { return "{{" + n + "}}"; }).join(", ") + ". Edit them before sending."
          : "";
      })
      .catch(function () { window.alert("The canned response could not be loaded."); })
      .then(function () { if (menu) menu.open = false; });
  });

  // After a composer's own post: sent (no refusal drawn) -> empty its preserved text and files.
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var kind = elt && elt.closest && elt.closest("form[data-composer]") ? elt.closest("form[data-composer]").dataset.composer : null;
    if (kind && event.detail.xhr && event.detail.xhr.status === 200) {
      var form = document.querySelector("form[data-composer=" + kind + "]");
      if (form && !form.hasAttribute("data-composer-refused")) {
        var body = form.querySelector("[data-composer-body]");
        var input = form.querySelector("[data-composer-input]");
        if (body) body.value = "";
        if (input) input.value = "";
      }
    }
    setUp();
  });

  document.addEventListener("DOMContentLoaded", setUp);
  if (document.readyState !== "loading") setUp();
})();
