"""Every audit row gets its actor, address, source, API token and parent here, whatever wrote
it: auditlog's model signals or the explicit helpers in msp.audit.registry."""

from django.contrib.auth import get_user_model

from msp.audit.context import audit_context
from msp.audit.registry import logged_row, object_key, parent_key, row_label


def log_entry_fill(sender, instance, **kwargs) -> None:
    if instance.pk is not None:  # audit rows are never rewritten; nothing to add
        return
    data = dict(instance.additional_data or {})
    context = audit_context()
    if context is not None:
        actor = context.current_actor()
        if isinstance(actor, get_user_model()) and instance.actor_id is None:
            instance.actor = actor
            instance.actor_email = actor.email
        if context.remote_addr and not instance.remote_addr:
            instance.remote_addr = context.remote_addr
        data["source"] = context.source
        if context.token is not None:
            # Which token, by id and name: never its secret, its prefix or its hash.
            data["token"] = {"id": context.token.pk, "name": context.token.name}
    row = logged_row()
    if row is not None and object_key(type(row), row.pk) == object_key(
        instance.content_type.model_class(), instance.object_pk
    ):
        parent = parent_key(row)
        if parent:
            data["parent"] = parent
        label = row_label(row)
        if label is not None:
            instance.object_repr = label
    instance.additional_data = data or None
