from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


class SlowBackend(BaseEmailBackend):
    """A slow SMTP server that counts what it was handed, across threads."""

    sent: list = []

    def send_messages(self, email_messages):
        import time

        time.sleep(0.3)
        SlowBackend.sent.extend(email_messages)
        return len(email_messages)
