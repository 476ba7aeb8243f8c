"""Canned responses: who sees and keeps which, and their placeholders filled for a ticket.

Placeholders are written `{{name}}` (spaces inside the braces allowed). The documented list:

| placeholder            | becomes                                                          |
| ---------------------- | ---------------------------------------------------------------- |
| `{{contact.name}}`       | the ticket's contact's full name ("" without a contact)          |
| `{{contact.first_name}}` | the contact's first name                                         |
| `{{contact.email}}`      | the contact's email address                                      |
| `{{client.name}}`        | the client's name                                                |
| `{{ticket.number}}`      | the ticket's number, "#1234"                                     |
| `{{ticket.subject}}`     | the ticket's subject                                             |
| `{{ticket.priority}}`    | its priority, "P2"                                               |
| `{{ticket.status}}`      | its status, "In progress"                                        |
| `{{sla.due}}`            | the next SLA deadline in the client's time zone, with the zone   |
| `{{me.name}}`            | the name of the person replying                                  |
| `{{me.first_name}}`      | their first name                                                 |

Filling is text into text: the result goes into the composer's textarea as typed text, and
on sending through the same Markdown sanitiser as every reply. A value is put on one line and
its Markdown punctuation escaped, so a contact named `<b>*Bob*</b>` or `[x](javascript:..)` shows
as written and never as markup. An unknown placeholder is left as written and reported, so
the technician sees it before sending.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from msp.choices import UserRole
from msp.models import User
from msp.text import one_line
from tickets.models import CannedResponse, Ticket

# Who keeps the shared texts.
SHARED_EDITORS = (UserRole.ADMIN, UserRole.DISPATCHER)

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
# Characters that mean something in Markdown (and "<", which starts raw HTML).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _sla_due(ticket: Ticket, user: User) -> str:
    if ticket.sla_due_at is None:
        return "no SLA deadline running"
    zone = ZoneInfo(ticket.client.timezone)
    return ticket.sla_due_at.astimezone(zone).strftime("%a %d %b %Y %H:%M ") + (
        ticket.client.timezone
    )


def _contact(attribute: str) -> Callable[[Ticket, User], str]:
    def value(ticket: Ticket, user: User) -> str:
        contact = ticket.contact
        if contact is None:
            return ""
        if attribute == "first_name":
            return contact.full_name.split(" ")[0]
        return getattr(contact, attribute)

    return value


PLACEHOLDERS: dict[str, tuple[str, Callable[[Ticket, User], str]]] = {
    "contact.name": ("The contact's full name", _contact("full_name")),
    "contact.first_name": ("The contact's first name", _contact("first_name")),
    "contact.email": ("The contact's email address", _contact("email")),
    "client.name": ("The client's name", lambda t, u: t.client.name),
    "ticket.number": ('The ticket\'s number, "#1234"', lambda t, u: t.number),
    "ticket.subject": ("The ticket's subject", lambda t, u: t.subject),
    "ticket.priority": ('The ticket\'s priority, "P2"', lambda t, u: t.priority),
    "ticket.status": ("The ticket's status", lambda t, u: t.get_status_display()),
    "sla.due": ("The next SLA deadline, in the client's time zone", _sla_due),
    "me.name": ("Your name", lambda t, u: u.full_name),
    "me.first_name": ("Your first name", lambda t, u: u.full_name.split(" ")[0]),
}


@dataclass(frozen=True)
class FilledText:
    text: str
    unknown: tuple[str, ...]  # placeholders left as written, in order of first use


def markdown_literal(value: str) -> str:
    """`value` on one line, with Markdown's punctuation escaped: it reads as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(value)).strip())


def canned_fill(*, body: str, ticket: Ticket, user: User) -> FilledText:
    """`body` with every known placeholder replaced by its value for `ticket` and `user`."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            if name not in unknown:
                unknown.append(name)
            return match.group(0)
        return markdown_literal(PLACEHOLDERS[name][1](ticket, user))

    return FilledText(text=PLACEHOLDER.sub(replace, body), unknown=tuple(unknown))


def unknown_placeholders(body: str) -> list[str]:
    return list(dict.fromkeys(n for n in PLACEHOLDER.findall(body) if n not in PLACEHOLDERS))


# ------------------------------------------------------------------------- scope and writes


def canned_for_user(user: User) -> QuerySet[CannedResponse]:
    """The texts a staff member may use: their own and the shared ones (nobody else's)."""
    if not user.is_authenticated or not user.is_msp_staff:
        return CannedResponse.objects.none()
    return CannedResponse.objects.filter(Q(owner=user) | Q(owner__isnull=True))


def canned_may_edit(*, user: User, canned: CannedResponse) -> bool:
    if canned.owner_id is None:
        return user.role in SHARED_EDITORS
    return canned.owner_id == user.pk


def may_share(user: User) -> bool:
    return user.role in SHARED_EDITORS


@transaction.atomic
def canned_response_save(
    *,
    user: User,
    title: str,
    body: str,
    shared: bool,
    canned: CannedResponse | None = None,
) -> CannedResponse:
    """Create (canned None) or change a canned response: a shared one only by those who keep
    shared texts; another person's own never."""
    if canned is not None and not canned_may_edit(user=user, canned=canned):
        raise PermissionDenied("You may not change this canned response.")
    if shared and not may_share(user):
        raise PermissionDenied("Only administrators and dispatchers keep shared responses.")
    canned = canned or CannedResponse()
    canned.title = one_line(title).strip()[:100]
    canned.body = body
    canned.owner = None if shared else (canned.owner if canned.pk and canned.owner else user)
    canned.full_clean()
    canned.save()
    return canned


@transaction.atomic
def canned_response_delete(*, user: User, canned: CannedResponse) -> None:
    if not canned_may_edit(user=user, canned=canned):
        raise PermissionDenied("You may not delete this canned response.")
    canned.delete()
