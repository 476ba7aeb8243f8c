// The search box of every page: an ARIA combobox whose listbox htmx fills with suggestions
// (templates/search/_suggestions.html). Arrow keys move through the options, Enter opens the
// active one (or, with none active, submits the search), Escape closes the list, then clears
// the box. No inline script: the Content-Security-Policy allows static files only.
(function () {
  "use strict";

  function parts(form) {
    return {
      input: form.querySelector("[role=combobox]"),
      listbox: form.querySelector("[role=listbox]"),
      status: form.querySelector("[data-site-search-status]"),
    };
  }

  function options(listbox) {
    return Array.prototype.slice.call(listbox.querySelectorAll("[role=option]"));
  }

  function activate(form, option) {
    var p = parts(form);
    options(p.listbox).forEach(function (each) {
      var on = each === option;
      each.setAttribute("aria-selected", on ? "true" : "false");
      each.classList.toggle("active", on);
    });
    if (option) {
      p.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }

  function open(form, show) {
    var p = parts(form);
    var show_ = show && options(p.listbox).length > 0;
    p.listbox.hidden = !show_;
    p.input.setAttribute("aria-expanded", show_ ? "true" : "false");
    if (!show_) activate(form, null);
  }

  function active(form) {
    return parts(form).listbox.querySelector("[role=option][aria-selected=true]");
  }

  // New suggestions: number the options, show the list, say how many there are.
  document.addEventListener("htmx:afterSwap", function (event) {
    var listbox = event.detail.target;
    if (!listbox || listbox.getAttribute("role") !== "listbox") return;
    var form = listbox.closest("[data-site-search]");
    if (!form) return;
    var found = options(listbox);
    found.forEach(function (option, index) {
      option.id = listbox.id + "-" + index;
    });
    var p = parts(form);
    open(form, document.activeElement === p.input);
    // The last option is "all results for ...": it is not a suggestion of its own.
    var count = Math.max(found.length - 1, 0);
    p.status.textContent = found.length
      ? count + (count === 1 ? " suggestion" : " suggestions") + ", arrow keys to choose"
      : "";
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-site-search] [role=combobox]")) return;
    var form = input.closest("[data-site-search]");
    var listbox = parts(form).listbox;
    var all = options(listbox);
    var current = active(form);
    var index = all.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      if (listbox.hidden) open(form, true);
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : (index + step + all.length) % all.length;
      activate(form, all[next]);
    } else if (event.key === "Enter") {
      if (current && !listbox.hidden) {
        event.preventDefault();
        window.location.assign(current.href);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (!listbox.hidden) {
        open(form, false);
      } else {
        input.value = "";
      }
    }
  });

  // A click on an option must not blur the box first (the list would close under the pointer).
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest("[data-site-search] [role=listbox]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("focusout", function (event) {
    var form = event.target.closest && event.target.closest("[data-site-search]");
    if (form && !form.contains(event.relatedTarget)) open(form, false);
  });

  document.addEventListener("focusin", function (event) {
    var form = event.target.closest && event.target.closest("[data-site-search]");
    if (form && event.target.matches("[role=combobox]") && event.target.value) open(form, true);
  });
})();
