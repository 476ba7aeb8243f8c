"""Secrets at rest: values the app must read back (IMAP passwords) are stored encrypted with
Fernet (AES-128-CBC + HMAC-SHA256) under the keys in settings.SECRETS_KEYS, newest first.

Rotation: put a new key in front of SECRETS_KEYS, run `manage.py secrets_rotate` (every stored
secret is re-encrypted with the newest key), then drop the old key. Without SECRETS_KEYS (dev,
test, demo; production refuses to start) one key is derived from SECRET_KEY."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class SecretUnreadable(Exception):
    """A stored secret that no key in SECRETS_KEYS decrypts (a key dropped too early)."""


def derived_key(secret_key: str) -> str:
    """The Fernet key used when SECRETS_KEYS is not set: not a secret of its own, only good
    for development and tests."""
    digest = hashlib.sha256(b"msp.secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def keys_check(keys: list[str]) -> None:
    """Refuse keys that are not Fernet keys (32 url-safe base64 bytes), naming their place."""
    for place, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"SECRETS_KEYS: key {place} is not a Fernet key (make one with "
                '`python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`).'
            ) from None


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    keys_check(list(keys))
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.SECRETS_KEYS) or (derived_key(settings.SECRET_KEY),)


def encrypt(plain: str) -> str:
    """A token for `plain`, under the newest key."""
    return _fernet(_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text of a token made under any of the keys."""
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with any key in SECRETS_KEYS."
        ) from None


def is_current(token: str) -> bool:
    """Whether `token` was made under the newest key (nothing to rotate)."""
    try:
        Fernet(_keys()[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; the model attribute holds the plain text. An
    empty value stays empty. Encryption is randomised, so the column cannot be filtered on."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
