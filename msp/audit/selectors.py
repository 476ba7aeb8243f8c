"""Reads of the audit trail, with what every page and export of it shows joined."""

from datetime import date, datetime, time, timedelta

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone

from msp.audit.registry import object_key


def audit_entries() -> QuerySet[LogEntry]:
    return LogEntry.objects.select_related("content_type", "actor").order_by("-timestamp", "-pk")


def audit_entries_for_object(instance) -> QuerySet[LogEntry]:
    """The object's own rows and those of the rows it is made of (a calendar's holidays, a
    contract's service lines), deleted ones included."""
    content_type = ContentType.objects.get_for_model(type(instance))
    own = Q(content_type=content_type, object_pk=str(instance.pk))
    parts = Q(additional_data__parent=object_key(type(instance), instance.pk))
    return audit_entries().filter(own | parts)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries_filter(
    queryset: QuerySet[LogEntry],
    *,
    model: ContentType | None = None,
    object_pk: str = "",
    actor: str = "",
    source: str = "",
    since: date | None = None,
    until: date | None = None,
    text: str = "",
) -> QuerySet[LogEntry]:
    """The administrators' search. Dates are whole days in the MSP's time zone, both
    included; `actor` matches the actor's email (kept after the user is deleted); `source`
    is an area (api, admin...) or a kind (command, task)."""
    if model is not None and object_pk:
        # One object: its rows and its parts' rows, as on its history page.
        queryset = queryset.filter(
            Q(content_type=model, object_pk=object_pk)
            | Q(additional_data__parent=f"{model.app_label}.{model.model}:{object_pk}")
        )
    elif model is not None:
        queryset = queryset.filter(content_type=model)
    elif object_pk:
        queryset = queryset.filter(object_pk=object_pk)
    if actor:
        queryset = queryset.filter(actor_email__icontains=actor)
    if source:
        queryset = queryset.filter(
            Q(additional_data__source=source) | Q(additional_data__source__startswith=f"{source}:")
        )
    if since:
        queryset = queryset.filter(timestamp__gte=_day_start(since))
    if until:
        queryset = queryset.filter(timestamp__lt=_day_start(until + timedelta(days=1)))
    if text:
        queryset = queryset.filter(
            Q(object_repr__icontains=text)
            | Q(changes__icontains=text)
            | Q(actor_email__icontains=text)
            | Q(additional_data__icontains=text)
        )
    return queryset
