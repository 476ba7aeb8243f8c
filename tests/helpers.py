"""Small helpers shared by the test modules."""

from django.test import Client as HttpClient


def signed_in(user) -> HttpClient:
    """A browser-like client with `user` signed in."""
    http = HttpClient()
    http.force_login(user)
    return http


def mailbox_on(imap_server: dict, **fields):
    """A Mailbox polling the test's IMAP server (the `imap_server` fixture)."""
    from tickets.models import Mailbox

    values = {
        "name": "support",
        "host": imap_server["host"],
        "port": imap_server["port"],
        "use_ssl": False,
        "username": imap_server["username"],
        "password": imap_server["password"],
        **fields,
    }
    return Mailbox.objects.create(**values)
