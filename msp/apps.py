from django.apps import AppConfig


class MspConfig(AppConfig):
    name = "msp"
    verbose_name = "Directory"

    def ready(self) -> None:
        # Stamp a session at sign-in (user_logged_in): its activity, and its two-factor state.
        from msp import mfa, sessions  # noqa: F401
