"""Writes to the core directory."""

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from msp.choices import OutboxChannel, OutboxStatus, UserRole
from msp.models import (
    ApiToken,
    Asset,
    Client,
    Contact,
    Heartbeat,
    Notification,
    OutboxMessage,
    Site,
    Team,
    User,
)
from msp.text import one_line


def heartbeat_record(*, name: str) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"last_run_at": timezone.now()}
    )
    return heartbeat


@transaction.atomic
def contact_portal_login_grant(*, contact: Contact, password: str | None = None) -> User:
    """Give a contact a portal login (a client user of the contact's client)."""
    if contact.user_id:
        return contact.user
    if not contact.email:
        raise ValueError("A contact needs an email address to log in to the portal.")
    user = User.objects.create_user(
        contact.email,
        password,
        full_name=contact.full_name,
        role=UserRole.CLIENT,
        client=contact.client,
        phone=contact.phone,
    )
    contact.user = user
    contact.save(update_fields=["user", "updated_at"])
    return user


# Outbox -----------------------------------------------------------------------------------

OUTBOX_MAX_ATTEMPTS = 5
OUTBOX_DELIVER_TASK = "msp.outbox_deliver"


def _outbox_fields(
    *,
    key: str,
    channel: str,
    subject: str,
    body: str,
    recipient: User | None = None,
    email: str = "",
    url: str = "",
    headers: dict | None = None,
    attachment: str = "",
) -> dict | None:
    """The columns of one outbox message; None for an email with nowhere to go."""
    email = email or (recipient.email if recipient else "")
    if channel == OutboxChannel.EMAIL and not email:
        return None
    return {
        "key": key[:200],
        "channel": channel,
        "subject": one_line(subject)[:250],
        "body": body,
        "recipient": recipient,
        "email": email,
        "url": url,
        "headers": headers or {},
        "attachment": attachment,
    }


DATABASE_UNREACHABLE = (OperationalError, InterfaceError)

# Messages per delivery task: a batch's messages reach the broker in a few publishes, not one
# each, and still spread over the workers; each message is claimed and recorded on its own.
OUTBOX_TASK_CHUNK = 50


def _deliver_after_commit(message_ids: list[int]) -> None:
    # By name, so that services never import tasks; after commit, so the rows exist.
    def queue() -> None:
        for start in range(0, len(message_ids), OUTBOX_TASK_CHUNK):
            chunk = message_ids[start : start + OUTBOX_TASK_CHUNK]
            current_app.send_task(OUTBOX_DELIVER_TASK, args=chunk)

    # Robust: with the broker down the change is still committed and the request answered;
    # the periodic outbox retry delivers the pending rows once the broker is back.
    transaction.on_commit(queue, robust=True)


def outbox_enqueue(**message) -> OutboxMessage | None:
    """Write a side effect into the outbox, inside the caller's transaction; it is delivered
    once that transaction commits. A key seen before is ignored (None is returned).
    Takes key, channel, subject, body, and recipient, email, url as needed."""
    fields = _outbox_fields(**message)
    if fields is None:
        return None
    outbox_message, created = OutboxMessage.objects.get_or_create(
        key=fields.pop("key"), defaults=fields
    )
    if not created:
        return None
    _deliver_after_commit([outbox_message.pk])
    return outbox_message


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 60))


# A claimed message whose worker died is handed back after this long (then sent again). A claim
# covers one message: an SMTP exchange (EMAIL_TIMEOUT, 10 s) a few times over and a PDF render.
OUTBOX_CLAIM_TIMEOUT = timedelta(seconds=90)
# While the database is unreachable, a worker holding a claim tries to record its outcome
# again after each of these pauses (about a minute in all) before leaving it to the timeout.
OUTBOX_RECORD_RETRY_SECONDS = (1, 2, 4, 8, 15, 30)
OUTBOX_OUTCOME_FIELDS = [
    "status",
    "sent_at",
    "attempts",
    "last_error",
    "next_attempt_at",
    "updated_at",
]


def outbox_deliver(*, message_id: int) -> str | None:
    """Deliver one pending message, or record the failure and when to try again.

    A message is claimed by one conditional UPDATE (pending -> sending), so of two workers
    racing for it exactly one delivers, on any database. Email is at-least-once at worst (a
    worker dying between the SMTP hand-off and recording it: the claim expires and the message
    goes again); each carries a stable Message-ID built from its key, so mail systems can drop
    the repeat. A worker that loses the database while holding a claim records what happened
    as soon as the database is back (sent, or the claim handed back), not after the timeout.
    """
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENDING, next_attempt_at=now + OUTBOX_CLAIM_TIMEOUT, updated_at=now
    )
    if not claimed:
        return None
    try:
        message = OutboxMessage.objects.select_related("recipient").get(pk=message_id)
        if message.channel == OutboxChannel.IN_APP:
            try:
                with transaction.atomic():  # the notification commits together with "sent"
                    _send(message)
                    _mark_sent(message).save(update_fields=OUTBOX_OUTCOME_FIELDS)
            except DATABASE_UNREACHABLE:
                raise
            except Exception as exc:
                message.refresh_from_db()  # as it was before the rolled-back attempt
                _mark_failed(message, exc, now).save(update_fields=OUTBOX_OUTCOME_FIELDS)
            return message.status
    except DATABASE_UNREACHABLE:
        _when_database_answers(lambda: _hand_back(message_id))
        raise
    try:
        _send(message)
    except Exception as exc:  # any transport error is recorded and retried, never lost
        _mark_failed(message, exc, now)
    else:
        _mark_sent(message)
    _when_database_answers(lambda: message.save(update_fields=OUTBOX_OUTCOME_FIELDS))
    return message.status


def _mark_sent(message: OutboxMessage) -> OutboxMessage:
    message.status = OutboxStatus.SENT
    message.sent_at = timezone.now()
    message.attempts += 1
    return message


def _mark_failed(message: OutboxMessage, exc: Exception, now) -> OutboxMessage:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if message.attempts >= OUTBOX_MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = now + _backoff(message.attempts)
    return message


def _hand_back(message_id: int) -> None:
    OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )


def _when_database_answers(write: Callable[[], None]) -> None:
    """Run a write now, or again after each pause while the database is unreachable."""
    for pause in (0, *OUTBOX_RECORD_RETRY_SECONDS):
        time.sleep(pause)
        try:
            write()
            return
        except DATABASE_UNREACHABLE:
            if pause == OUTBOX_RECORD_RETRY_SECONDS[-1]:
                raise
            if not connection.in_atomic_block:
                connection.close()  # the next try opens a fresh connection


def _send(message: OutboxMessage) -> None:
    if message.channel == OutboxChannel.IN_APP:
        Notification.objects.create(
            recipient=message.recipient, title=message.subject, body=message.body, url=message.url
        )
        return
    # Header values on one line whatever was stored: Django refuses a line break in a header
    # (BadHeaderError), and a message that can never be sent would hold the outbox up.
    headers = {name: one_line(str(value)) for name, value in message.headers.items()}
    # No out-of-office or other robot answers our mail (no loops): Exchange honours
    # X-Auto-Response-Suppress, RFC 3834 responders Auto-Submitted, older ones Precedence.
    # Only a reply a person wrote on a ticket is not automatic.
    headers.setdefault("X-Auto-Response-Suppress", "All")
    if not message.key.startswith("ticket-reply:") or "Auto-Submitted" in headers:
        headers.setdefault("Auto-Submitted", "auto-generated")
        headers.setdefault("Precedence", "bulk")
    email = EmailMessage(
        subject=one_line(message.subject),
        body=message.body,
        to=[message.email],
        headers={**headers, "Message-ID": outbox_message_id(message.key)},
    )
    if message.attachment:
        email.attach(*_attachment(message.attachment))
    email.send(fail_silently=False)


# Renderers of the files attached to outbox emails, by kind: function(id) giving (filename,
# content, mimetype). The apps that own the files register them from their AppConfig.ready(),
# since msp, the lowest layer, cannot import them.
AttachmentRenderer = Callable[[str], tuple[str, bytes, str]]
_attachment_renderers: dict[str, AttachmentRenderer] = {}


def outbox_attachment_renderer_register(kind: str, render: AttachmentRenderer) -> None:
    """Render the attachments referenced as "<kind>:<id>" with render(id) when sending."""
    _attachment_renderers[kind] = render


def _attachment(reference: str) -> tuple[str, bytes, str]:
    """Render an attachment when sending, from its "kind:id" reference."""
    kind, _, identifier = reference.partition(":")
    return _attachment_renderers[kind](identifier)


def outbox_message_id(key: str) -> str:
    """The Message-ID an outbox email is sent with: stable per key, so a repeat delivery can
    be dropped by mail systems and replies can be threaded back (In-Reply-To)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{digest}@{domain}>"


def outbox_retry_due(*, limit: int = 200) -> int:
    """Deliver pending messages whose next attempt is due (those a lost task left behind),
    after handing back claims whose worker died."""
    now = timezone.now()
    OutboxMessage.objects.filter(status=OutboxStatus.SENDING, next_attempt_at__lte=now).update(
        status=OutboxStatus.PENDING, updated_at=now
    )
    due = list(
        OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        outbox_deliver(message_id=message_id)
    return len(due)


@transaction.atomic
def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def outbox_replay(*, message_ids: list[int]) -> int:
    """Send failed (or stuck) messages again: back to pending, due now, attempts reset."""
    messages = OutboxMessage.objects.filter(pk__in=message_ids).exclude(status=OutboxStatus.SENT)
    ids = list(messages.values_list("pk", flat=True))
    messages.update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
    _deliver_after_commit(ids)
    return len(ids)


def outbox_enqueue_many(messages: list[dict]) -> int:
    """outbox_enqueue for a batch, in two queries: one insert (keys seen before are skipped)
    and one read of what is pending under those keys, whose delivery is queued on commit."""
    rows = [OutboxMessage(**fields) for m in messages if (fields := _outbox_fields(**m))]
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    pending = list(
        OutboxMessage.objects.filter(
            key__in=[row.key for row in rows], status=OutboxStatus.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    _deliver_after_commit(pending)
    return len(pending)


API_TOKEN_PREFIX = "psa_"  # noqa: S105 - a marker for secret scanners, not a secret


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str, expires_at=None):
    """A new token for `user`: returns the row and the secret, which is not stored (only its
    hash) and so can be shown this once."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        scope=scope,
        prefix=secret[:12],
        key_hash=token_hash(secret),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, at=None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = at or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> int:
    """End every session of `user` (at their next request: the session hash no longer
    matches) and revoke all their API tokens. Returns the number of tokens revoked. A view
    acting for the user themself keeps its own session with update_session_auth_hash."""
    now = timezone.now()
    user.sessions_revoked_at = now
    user.save(update_fields=["sessions_revoked_at"])
    tokens = list(user.api_tokens.filter(revoked_at__isnull=True))
    for token in tokens:  # saved one by one: each revocation is in the audit trail
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
    return len(tokens)


@transaction.atomic
def client_teams_set(*, client: Client, teams: list[Team]) -> None:
    """The teams narrowed to their clients that serve `client` (their members and leads see
    its data); teams that serve all clients are left as they are."""
    every = list(client.teams.filter(serves_all_clients=True))
    client.teams.set([*teams, *every])


# People ----------------------------------------------------------------------------------------

USER_FIELDS = ("email", "full_name", "role", "tier", "client", "phone", "is_active")


@transaction.atomic
def user_invite(*, by: User, teams: list[Team] | None = None, **fields) -> User:
    """A new person (staff or a client's user) without a password: they are emailed a link to
    choose one, valid as long as Django's password-reset links (PASSWORD_RESET_TIMEOUT)."""
    user = User(**{name: fields[name] for name in USER_FIELDS if name in fields})
    user.set_unusable_password()
    user.full_clean()
    user.save()
    if teams is not None:
        user_teams_set(user=user, teams=teams)
    outbox_enqueue(
        key=f"user-invite:{user.pk}",
        channel=OutboxChannel.EMAIL,
        subject="Your account: choose a password",
        body=render_to_string(
            "email/user_invite.txt",
            {"user": user, "by": by, "url": user_password_link(user)},
        ),
        email=user.email,
    )
    return user


def user_password_link(user: User) -> str:
    """The emailed link where `user` chooses a password (Django's reset-link machinery)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return f"{settings.SITE_URL}{reverse('password_reset_confirm', args=[uid, token])}"


@transaction.atomic
def user_update(*, user: User, by: User, teams: list[Team] | None = None, **fields) -> User:
    """Change a person's details, role or tier, or deactivate them. Deactivating (or moving
    staff to another role) ends their sessions and revokes their tokens at once; the last
    active administrator cannot be demoted or deactivated, by anyone."""
    user = User.objects.select_for_update().get(pk=user.pk)
    old_role, was_active = user.role, user.is_active
    for name in USER_FIELDS:
        if name in fields:
            setattr(user, name, fields[name])
    losing_admin = old_role == UserRole.ADMIN and (
        user.role != UserRole.ADMIN or not user.is_active
    )
    if (
        losing_admin
        and not User.objects.filter(role=UserRole.ADMIN, is_active=True, client__isnull=True)
        .exclude(pk=user.pk)
        .exists()
    ):
        raise ValidationError(
            {"role": "The last active administrator stays one: make another first."}
        )
    user.full_clean()
    user.save()
    if teams is not None:
        user_teams_set(user=user, teams=teams)
    if (was_active and not user.is_active) or old_role != user.role:
        user_sign_out_everywhere(user=user)
    return user


@transaction.atomic
def user_timezone_set(*, user: User, timezone_name: str) -> User:
    """The zone a person reads times in ("" for the browser's); an unknown zone is refused."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.timezone = timezone_name.strip()
    user.full_clean(validate_unique=False, validate_constraints=False)
    user.save(update_fields=["timezone", "updated_at"])
    return user


def user_teams_set(*, user: User, teams: list[Team]) -> None:
    """The teams `user` is a member of (which decide the clients they see). Client users are
    in no team."""
    if teams and not user.is_msp_staff:
        raise ValidationError({"teams": "Client users are in no team."})
    user.teams.set(teams)


# The directory: clients, sites, contacts, assets and teams -------------------------------------
# Each write validates the row as the model says (full_clean) and saves it in one transaction;
# the pages and the API call these same functions. Rows are deactivated, never deleted (their
# tickets, contracts and reports point at them).

CLIENT_FIELDS = (
    "name",
    "slug",
    "timezone",
    "account_manager",
    "status",
    "email_domains",
    "notes",
    "require_mfa",
)
SITE_FIELDS = ("client", "name", "address", "timezone")
CONTACT_FIELDS = (
    "client",
    "site",
    "full_name",
    "email",
    "phone",
    "job_title",
    "role",
    "is_active",
    "is_seat",
    "receives_reports",
    "unverified_from_email",
)
ASSET_FIELDS = (
    "client",
    "site",
    "kind",
    "name",
    "hostname",
    "serial_number",
    "rmm_id",
    "is_active",
    "notes",
)
TEAM_FIELDS = ("name", "tier", "lead", "email", "serves_all_clients")

RowT = TypeVar("RowT", bound=models.Model)


def _save_checked(row: RowT, fields: dict, names: tuple[str, ...]) -> RowT:
    unknown = set(fields) - set(names)
    if unknown:
        raise TypeError(f"Not fields of {type(row).__name__}: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row


def _locked(row: RowT) -> RowT:
    return type(row)._default_manager.select_for_update().get(pk=row.pk)


@transaction.atomic
def client_create(*, by: User, **fields) -> Client:
    """A new client. Its creator keeps seeing it: staff who see only the clients of their
    teams have it served by those of their teams that are narrowed to some clients (an
    administrator, or a member of a team that serves all clients, sees it anyway)."""
    client = _save_checked(Client(), fields, CLIENT_FIELDS)
    if not by.visible_clients().every:
        own_teams = Team.objects.filter(Q(members=by) | Q(lead=by), serves_all_clients=False)
        client.teams.add(*own_teams.distinct())
    return client


@transaction.atomic
def client_update(*, client: Client, **fields) -> Client:
    """Change a client's details or status (status "inactive" deactivates it)."""
    return _save_checked(_locked(client), fields, CLIENT_FIELDS)


@transaction.atomic
def site_create(**fields) -> Site:
    return _save_checked(Site(), fields, SITE_FIELDS)


@transaction.atomic
def site_update(*, site: Site, **fields) -> Site:
    return _save_checked(_locked(site), fields, SITE_FIELDS)


def _billed_span_follows(row: Contact | Asset, was_active: bool) -> None:
    """Keep the days billing counts a seat or device (active_from, active_until) in step with
    is_active: a row starts being counted the day it is made, stops the day it is
    deactivated, and a reactivated one is counted again from the day of its reactivation."""
    today = timezone.localdate(timezone=ZoneInfo(row.client.timezone))
    changed = []
    if row.active_from is None:
        row.active_from, changed = today, ["active_from"]
    if was_active and not row.is_active and row.active_until is None:
        row.active_until = today
        changed.append("active_until")
    elif not was_active and row.is_active and row.active_until is not None:
        row.active_from, row.active_until = today, None
        changed += ["active_from", "active_until"]
    if changed:
        row.save(update_fields=sorted(set(changed)))


@transaction.atomic
def contact_create(**fields) -> Contact:
    contact = _save_checked(Contact(), fields, CONTACT_FIELDS)
    _billed_span_follows(contact, was_active=contact.is_active)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by: User, **fields) -> Contact:
    """Change a contact. Deactivating one (is_active false) also deactivates their portal
    login, which ends its sessions and tokens: a person who left keeps no access."""
    contact = _locked(contact)
    was_active = contact.is_active
    contact = _save_checked(contact, fields, CONTACT_FIELDS)
    _billed_span_follows(contact, was_active)
    if not contact.is_active and contact.user_id and contact.user.is_active:
        user_update(user=contact.user, by=by, is_active=False)
    return contact


@transaction.atomic
def asset_create(**fields) -> Asset:
    asset = _save_checked(Asset(), fields, ASSET_FIELDS)
    _billed_span_follows(asset, was_active=asset.is_active)
    return asset


@transaction.atomic
def asset_update(*, asset: Asset, **fields) -> Asset:
    asset = _locked(asset)
    was_active = asset.is_active
    asset = _save_checked(asset, fields, ASSET_FIELDS)
    _billed_span_follows(asset, was_active)
    return asset


@transaction.atomic
def team_create(
    *, members: list[User] | None = None, clients: list[Client] | None = None, **fields
) -> Team:
    team = _save_checked(Team(), fields, TEAM_FIELDS)
    return _team_people_and_clients(team, members, clients)


@transaction.atomic
def team_update(
    *,
    team: Team,
    members: list[User] | None = None,
    clients: list[Client] | None = None,
    **fields,
) -> Team:
    team = _save_checked(_locked(team), fields, TEAM_FIELDS)
    return _team_people_and_clients(team, members, clients)


def _team_people_and_clients(team: Team, members, clients) -> Team:
    if members is not None:
        if any(not member.is_msp_staff for member in members):
            raise ValidationError({"members": "Only MSP staff are members of teams."})
        team.members.set(members)
    if clients is not None:
        team.clients.set(clients)
    return team
