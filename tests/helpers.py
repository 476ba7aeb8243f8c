"""Small helpers shared by the test modules."""

import contextlib

from django.db import transaction
from django.test import Client as HttpClient


@contextlib.contextmanager
def rows_for_the_module(django_db_blocker):
    """For a module-scoped fixture: rows made once for all of a module's tests, in a
    transaction rolled back when the module ends. Each test's own transaction is a savepoint
    inside it, so what a test writes is undone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


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
