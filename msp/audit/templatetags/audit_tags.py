from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def audit_history_url(instance) -> str:
    """The workspace history page of an audited object."""
    return reverse("workspace:audit-object", args=[instance._meta.label_lower, instance.pk])


@register.filter
def audit_changes(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) of an audit row; many-to-many changes as added or removed."""
    rows = []
    for field, change in (entry.changes or {}).items():
        if isinstance(change, dict) and change.get("type") == "m2m":
            objects = ", ".join(str(item) for item in change.get("objects", []))
            if change.get("operation") == "add":
                rows.append((field, "", f"+ {objects}"))
            else:
                rows.append((field, f"- {objects}", ""))
        elif isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
            rows.append((field, _shown(before), _shown(after)))
    return rows


def _shown(value) -> str:
    return "" if value is None or value == "None" else str(value)


@register.simple_tag
def audit_recent_entries(instance, limit: int = 100):
    """The newest audit rows of an object and its parts, or None if it is not audited (the
    admin's history page, under the admin's own record of its edits)."""
    from msp.audit.registry import audited_models
    from msp.audit.selectors import audit_entries_for_object

    if type(instance) not in audited_models():
        return None
    return list(audit_entries_for_object(instance)[:limit])
