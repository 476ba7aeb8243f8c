"""Small helpers shared by the test modules."""

from django.test import Client as HttpClient


def signed_in(user) -> HttpClient:
    """A browser-like client with `user` signed in."""
    http = HttpClient()
    http.force_login(user)
    return http
