// The colour scheme follows the system setting (light or dark), live. Loaded in <head>
// without defer so that the page is never painted in the wrong scheme first; a static file
// because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    document.documentElement.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
  }
  apply();
  dark.addEventListener("change", apply);
})();
