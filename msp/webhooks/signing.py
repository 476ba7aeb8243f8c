"""Signatures as the Standard Webhooks specification defines them, so that receivers can use
its verifier libraries: the secret is "whsec_" + base64 of random bytes; the signature is
"v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), several separated by spaces
(every secret in force during a rotation)."""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's marker for secrets, not a secret


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secrets_in_force: list[str], msg_id: str, timestamp: int, body: str):
    """The three headers of one request, signed with each secret in force."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
            for secret in secrets_in_force
        ),
    }
