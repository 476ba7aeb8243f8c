// The browser's time zone, for the server to show times in when the user has chosen none
// (msp/middleware.py reads the "tz" cookie and checks it names a known zone). Rewritten only
// when it changes, e.g. after travelling; the next page load uses it.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  var current = document.cookie.split("; ").filter(function (part) {
    return part.indexOf("tz=") === 0;
  })[0];
  if (current === "tz=" + encodeURIComponent(zone)) return;
  var secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie =
    "tz=" + encodeURIComponent(zone) + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
})();
