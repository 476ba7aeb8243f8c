"""What a web process does once its application is built, before its first request."""

import gc

from django.urls import get_resolver


def settle() -> None:
    """Import every view now (the URLconf is otherwise loaded by the first request), then set
    what start-up made aside from the garbage collector. Its full collections otherwise walk
    these few hundred thousand long-lived objects (modules, classes, templates) each time: a
    pause of 60-90 ms every few requests on the pages that make many objects, which set their
    p95 (the accounts page at 1M tickets: p95 232 ms, 164 ms once settled)."""
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view
    gc.collect()
    gc.freeze()
