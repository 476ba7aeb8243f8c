"""Signed reply addresses. Every email we send about a ticket carries, as Reply-To, our
address with a plus-tag naming the ticket and the one recipient it was issued to, sealed with
an HMAC of both (keyed by SECRET_KEY, salted):

    support+t123-c45-<20 base32 characters>@demo.msp    (c: a contact, u: a staff user,
                                                          n: a staff user, internally)

An `n` address goes on internal mail to staff (SLA warnings, escalations): answering it adds an
internal note as that person, never a reply to the client.

The seal cannot be guessed (100 bits) nor moved to another ticket or recipient, so a reply
sent to it proves that its sender was given it; the sender must still be that recipient for
the reply to count as theirs (see tickets.intake.mail). Pure: no database.
"""

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "tickets.reply_address"
SIGNATURE_LENGTH = 20  # base32 characters: 100 bits
CONTACT, USER, NOTE = "c", "u", "n"
TAG = re.compile(
    r"\+t(?P<ticket>\d{1,12})-(?P<kind>[cun])(?P<recipient>\d{1,12})-(?P<signature>[a-z2-7]+)@",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SignedReply:
    """What a valid signed reply address says: this ticket, issued to this contact or user."""

    ticket_id: int
    kind: str
    recipient_id: int

    @property
    def contact_id(self) -> int | None:
        return self.recipient_id if self.kind == CONTACT else None

    @property
    def user_id(self) -> int | None:
        return self.recipient_id if self.kind in (USER, NOTE) else None

    @property
    def internal(self) -> bool:
        """Issued on internal mail: a reply to it is an internal note."""
        return self.kind == NOTE


@dataclass(frozen=True)
class ReplyAddressCheck:
    signed: SignedReply | None  # the first valid signed address among the recipients
    refused: bool  # a signed-looking address whose signature did not match


def _signature(ticket_id: int, kind: str, recipient_id: int, secret: str) -> str:
    digest = salted_hmac(
        SALT, f"{ticket_id}:{kind}:{recipient_id}", secret=secret, algorithm="sha256"
    ).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def _base_address() -> tuple[str, str]:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    local, _, domain = (address or "support@localhost").partition("@")
    return local.split("+", 1)[0], domain


def reply_address(*, ticket_id: int, contact=None, user=None, internal: bool = False) -> str:
    """The address a reply about `ticket_id` from this contact (or staff user) is sent to;
    `internal` for a staff user's internal mail, whose replies become internal notes."""
    if (contact is None) == (user is None) or (internal and user is None):
        raise ValueError("A reply address is issued to one contact or one user.")
    if contact is not None:
        kind, recipient_id = CONTACT, contact.pk
    else:
        kind, recipient_id = (NOTE if internal else USER), user.pk
    local, domain = _base_address()
    signature = _signature(ticket_id, kind, recipient_id, settings.SECRET_KEY)
    return f"{local}+t{ticket_id}-{kind}{recipient_id}-{signature}@{domain}"


def reply_address_check(addresses: Iterable[str]) -> ReplyAddressCheck:
    """Find a signed reply address among a message's recipients and check its signature
    (against the current secret key and the fallbacks of a key rotation)."""
    refused = False
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for address in addresses:
        match = TAG.search(address)
        if match is None:
            continue
        ticket_id, kind = int(match["ticket"]), match["kind"].lower()
        recipient_id, given = int(match["recipient"]), match["signature"].lower()
        if len(given) == SIGNATURE_LENGTH and any(
            constant_time_compare(given, _signature(ticket_id, kind, recipient_id, secret))
            for secret in secrets
        ):
            return ReplyAddressCheck(SignedReply(ticket_id, kind, recipient_id), refused=False)
        refused = True
    return ReplyAddressCheck(None, refused=refused)
