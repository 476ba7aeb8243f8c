"""Which models are audited, and the rows written for changes that bypass model signals.

Each app registers its own models from its AppConfig.ready() with `audit_register` (the msp
layer cannot import the apps above it). Fields holding a secret are never tracked, whatever
the registration says: any field whose name contains "password" or "secret", and API tokens'
hash. A child row (a calendar's holiday, a contract's service line) names its parent, so
that the parent's history shows it."""

import contextlib
from collections.abc import Callable
from contextvars import ContextVar

from auditlog.context import auditlog_disabled
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

SECRET_FIELD_PARTS = ("password", "secret", "key_hash")
# Never a change of its own: the entry's timestamp says when.
ALWAYS_EXCLUDED = ("updated_at",)

# Audited model -> the path from one of its rows to the row whose history it belongs to
# ("calendar", "evaluation.contract"), or None.
_parents: dict[type[models.Model], str | None] = {}
# Audited model -> how its rows are named in the trail, where str() would say too much.
_labels: dict[type[models.Model], Callable[[models.Model], str]] = {}

# The row being logged, from auditlog's pre_log signal (or the explicit helpers below) to the
# LogEntry's pre_save, which only knows the row's type and key.
_logging: ContextVar[models.Model | None] = ContextVar("msp_audit_logging", default=None)


def secret_field(name: str) -> bool:
    return any(part in name for part in SECRET_FIELD_PARTS)


def audit_register(
    model: type[models.Model],
    *,
    parent: str | None = None,
    exclude: tuple[str, ...] = (),
    m2m: tuple[str, ...] = (),
    label: Callable[[models.Model], str] | None = None,
) -> None:
    """Track creates, updates and deletes of `model` (and changes of its `m2m` fields), with
    the values before and after, less `exclude` and any secret field. `label` names a row in
    the trail instead of str(row)."""
    secrets = [f.name for f in model._meta.get_fields() if secret_field(f.name)]
    # Reverse relations (a contract's service lines, a user's tokens) are not the row's own
    # values: logged, they read "contracts.ServiceLine.None". Their rows log themselves.
    reverse = [f.name for f in model._meta.get_fields() if f.auto_created and not f.concrete]
    auditlog.register(
        model,
        exclude_fields=[*ALWAYS_EXCLUDED, *exclude, *secrets, *reverse],
        m2m_fields=set(m2m),
    )
    _parents[model] = parent
    if label is not None:
        _labels[model] = label


def audited_models() -> list[type[models.Model]]:
    return sorted(_parents, key=lambda model: model._meta.label)


def object_key(model: type[models.Model], pk) -> str:
    """How an audited row is named in the trail: "sla.slapolicy:3"."""
    return f"{model._meta.label_lower}:{pk}"


def parent_key(instance: models.Model) -> str | None:
    path = _parents.get(type(instance))
    if not path:
        return None
    *hops, last = path.split(".")
    target = instance
    try:
        for hop in hops:
            target = getattr(target, hop)
    except ObjectDoesNotExist:
        return None
    field = target._meta.get_field(last)
    # The foreign key's value, not the row: a parent deleted in the same cascade is gone.
    pk = getattr(target, field.attname)
    return object_key(field.related_model, pk) if pk is not None else None


def row_label(instance: models.Model) -> str | None:
    label = _labels.get(type(instance))
    return label(instance) if label else None


def _remember_logged_row(sender, instance, **kwargs):
    _logging.set(instance)
    try:
        str(instance)  # auditlog names the row with str(), and a failure would fail the save
    except (TypeError, ValueError):
        # A value given as text (a datetime as an ISO string) that __str__ formats: type the
        # values as the database gives them back, as auditlog does for its own serialiser.
        for field in instance._meta.concrete_fields:
            if not field.is_relation:
                value = getattr(instance, field.attname)
                with contextlib.suppress(ValidationError):
                    setattr(instance, field.attname, field.to_python(value))


def logged_row() -> models.Model | None:
    return _logging.get()


def connect() -> None:
    pre_log.connect(_remember_logged_row, dispatch_uid="msp_audit_logged_row")


def _log(instance: models.Model, action: int, changes: dict | None) -> LogEntry | None:
    if type(instance) not in _parents or auditlog_disabled.get():
        return None
    token = _logging.set(instance)
    try:
        return LogEntry.objects.log_create(instance, action=action, changes=changes)
    finally:
        _logging.reset(token)


def audit_created(instances) -> list[LogEntry]:
    """Rows for objects made with bulk_create (which sends no signal); give the list that
    bulk_create returned, whose rows carry their primary keys."""
    entries = []
    for instance in instances:
        changes = model_instance_diff(
            None, instance, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
        )
        entry = _log(instance, LogEntry.Action.CREATE, changes)
        if entry is not None:
            entries.append(entry)
    return entries
