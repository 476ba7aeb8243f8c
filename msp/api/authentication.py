from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from msp.audit.context import SOURCE_API, audit_actor_set
from msp.models import ApiToken, Client, User
from msp.prepared import PreparedQuery, attnames, instance
from msp.services import token_hash

# last_used_at is written at most this often per token: not one UPDATE per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _token_query(*, key_hash: str):
    client_columns = [f"user__client__{name}" for name in attnames(Client)]
    return ApiToken.objects.filter(key_hash=key_hash).values_list(
        *attnames(ApiToken), *[f"user__{name}" for name in attnames(User)], *client_columns
    )


_TOKEN = PreparedQuery(_token_query)


def token_with_user(key_hash: str) -> ApiToken | None:
    """The token of `key_hash` with its user and the user's client in hand, in one query
    compiled once per process (every API request makes it)."""
    row = _TOKEN.first(key_hash=key_hash)
    if row is None:
        return None
    token_end = len(attnames(ApiToken))
    user_end = token_end + len(attnames(User))
    token = instance(ApiToken, row[:token_end])
    token.user = instance(User, row[token_end:user_end])
    if token.user.client_id is not None:
        token.user.client = instance(Client, row[user_end:])
    return token


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or `Token <token>`): one indexed lookup, user joined."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give one token after “Bearer”.")
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = token_with_user(token_hash(secret))
        now = timezone.now()
        if token is None or not token.is_usable(now) or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid, expired or revoked.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            # Conditional, so that concurrent requests of one token write it once.
            stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        # The audit scope opened by the middleware saw no user: DRF authenticates in the view.
        audit_actor_set(actor=token.user, token=token, source=SOURCE_API)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "msp.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (Settings > API tokens), scoped read, write "
            "or alerts-only.",
        }
