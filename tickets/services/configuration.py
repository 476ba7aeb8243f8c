"""Intake and priority configuration: the impact x urgency priority matrix and the inbound
mailboxes. The workspace pages and the API call these same functions."""

from django.core.exceptions import ValidationError
from django.db import transaction

from sla.choices import Priority
from tickets.choices import Impact, Urgency
from tickets.models import Mailbox, PriorityMatrixCell
from tickets.selectors import DEFAULT_MATRIX

MAILBOX_FIELDS = (
    "name",
    "host",
    "port",
    "use_ssl",
    "username",
    "password",
    "folder",
    "default_client",
    "is_active",
)


def priority_matrix() -> dict[tuple[str, str], str]:
    """All nine cells: the configured ones over ITIL's defaults (tickets.selectors)."""
    configured = {
        (impact, urgency): priority
        for impact, urgency, priority in PriorityMatrixCell.objects.values_list(
            "impact", "urgency", "priority"
        )
    }
    return {**DEFAULT_MATRIX, **configured}


@transaction.atomic
def priority_matrix_set(*, cells: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """Set the priority of the cells given (impact, urgency) -> P1..P4; the others keep
    theirs. New tickets take it; open tickets keep their priority (a change of a ticket's
    priority is a ticket change, with its reason)."""
    errors = []
    for (impact, urgency), priority in cells.items():
        if impact not in Impact.values or urgency not in Urgency.values:
            errors.append(f"No cell {impact} impact x {urgency} urgency.")
        elif priority not in Priority.values:
            errors.append(f"{priority} is not a priority (P1 to P4).")
    if errors:
        raise ValidationError({"cells": errors})
    current = priority_matrix()
    for (impact, urgency), priority in cells.items():
        if current[(impact, urgency)] == priority:
            continue
        # A row saved per changed cell, so that the audit trail records each change.
        PriorityMatrixCell.objects.update_or_create(
            impact=impact, urgency=urgency, defaults={"priority": priority}
        )
    return priority_matrix()


@transaction.atomic
def mailbox_create(**fields) -> Mailbox:
    return _mailbox_save(Mailbox(), fields)


@transaction.atomic
def mailbox_update(*, mailbox: Mailbox, **fields) -> Mailbox:
    """Change a mailbox (is_active false stops its polling). A blank or missing password
    keeps the stored one: it is never sent back to the browser or the API."""
    if not fields.get("password"):
        fields.pop("password", None)
    return _mailbox_save(Mailbox.objects.select_for_update().get(pk=mailbox.pk), fields)


def _mailbox_save(mailbox: Mailbox, fields: dict) -> Mailbox:
    unknown = set(fields) - set(MAILBOX_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of a mailbox: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.full_clean(exclude=["last_polled_at", "last_error"])
    mailbox.save()
    return mailbox
