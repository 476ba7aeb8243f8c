"""Writes to the core directory."""

from django.db import transaction
from django.utils import timezone

from msp.choices import UserRole
from msp.models import Contact, Heartbeat, User


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
