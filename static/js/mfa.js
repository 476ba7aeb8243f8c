// The security page: once a passkey is registered, show it in the list (and the recovery
// codes section) by loading the page again.
document.addEventListener("otp_webauthn.register_complete", function () {
  window.setTimeout(function () { window.location.reload(); }, 600);
});
