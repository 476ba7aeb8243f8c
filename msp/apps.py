from django.apps import AppConfig


class MspConfig(AppConfig):
    name = "msp"
    verbose_name = "Directory"

    def ready(self) -> None:
        # Stamps a session's activity at sign-in (user_logged_in).
        from msp import sessions  # noqa: F401
