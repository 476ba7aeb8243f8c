"""Saved views of the queue: a person's own, and shared ones that dispatchers and
administrators curate for everyone."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from msp.choices import UserRole
from msp.models import User
from tickets.models import SavedView
from tickets.selectors import saved_view_query

CURATORS = (UserRole.DISPATCHER, UserRole.ADMIN)


def saved_view_may_share(user: User) -> bool:
    return user.role in CURATORS


def saved_view_may_change(view: SavedView, user: User) -> bool:
    """Owners change their views; dispatchers and administrators also change shared ones."""
    return view.owner_id == user.pk or (view.shared and user.role in CURATORS)


@transaction.atomic
def saved_view_create(*, owner: User, name: str, querystring: str, shared: bool = False):
    if not owner.is_msp_staff:
        raise PermissionDenied("Saved views are for MSP staff.")
    if shared and not saved_view_may_share(owner):
        raise PermissionDenied("Only dispatchers and administrators share views.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the view."})
    last = SavedView.objects.filter(owner=owner).aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                owner=owner,
                name=name,
                shared=shared,
                querystring=saved_view_query(querystring).urlencode(),
                position=(last or 0) + 1,
            )
    except IntegrityError:
        raise ValidationError({"name": f"You have a view named {name!r} already."}) from None


@transaction.atomic
def saved_view_rename(*, view: SavedView, actor: User, name: str) -> SavedView:
    if not saved_view_may_change(view, actor):
        raise PermissionDenied("This view is not yours to change.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the view."})
    if SavedView.objects.filter(owner_id=view.owner_id, name=name).exclude(pk=view.pk).exists():
        raise ValidationError({"name": f"There is a view named {name!r} already."})
    view.name = name
    view.save(update_fields=["name", "updated_at"])
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: User) -> None:
    if not saved_view_may_change(view, actor):
        raise PermissionDenied("This view is not yours to delete.")
    view.delete()
