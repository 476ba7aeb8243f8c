"""Base classes every API view and serializer builds on."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import Manager
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS

from msp.api.fields import (
    IdField,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
    StrictSlugField,
)
from msp.api.filters import FilterBackend
from msp.api.pagination import PagePagination
from msp.querysets import ClientScopedQuerySet


class ScopedRelationsMixin:
    """Related-object fields offer and accept only what the requesting user sees: a client
    (site, contact, ticket...) out of their scope is "Invalid pk", as if it did not exist."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for field in fields.values():
            relation = getattr(field, "child_relation", field)  # many=True wraps the field
            if isinstance(relation, IdField):  # scopes when it reads (no query built here)
                relation.scope_to(user)
                continue
            queryset = getattr(relation, "queryset", None)
            if isinstance(queryset, Manager):  # a ModelSerializer's field: the default manager
                queryset = queryset.all()
            if isinstance(queryset, ClientScopedQuerySet):
                relation.queryset = queryset.for_user(user)
        return fields


class CleanModelSerializer(ScopedRelationsMixin, serializers.ModelSerializer):
    """Runs the model's own full_clean(), so that the API refuses exactly what the forms and
    the admin refuse, with the same messages, as 400 with field details."""

    serializer_related_field = IdField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.SlugField: StrictSlugField,
    }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance or self.Meta.model()
        many_to_many = {field.name for field in instance._meta.many_to_many}
        for name, value in attrs.items():
            if name not in many_to_many:  # set by save(), after the row exists
                setattr(instance, name, value)
        try:
            instance.full_clean(exclude=self.clean_exclude())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def clean_exclude(self) -> list[str]:
        return []


def valid_data(serializer_class, request, **kwargs) -> dict:
    """The request's body validated by `serializer_class` (an action's input), or a 400 with
    the details of each field."""
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "This object changed since you read it (If-Match no longer matches its ETag): "
        "read it again, then retry."
    )
    default_code = "precondition_failed"


def etag_of(instance) -> str | None:
    """The version of a row that has a change time: its id and updated_at (every write moves
    updated_at, so any change makes a new ETag; reading it costs nothing more)."""
    stamp = getattr(instance, "updated_at", None)
    return None if stamp is None else _etag(instance.pk, stamp)


def _etag(pk, stamp) -> str:
    return f'"{pk}-{int(stamp.timestamp() * 1_000_000)}"'


def _stored_etag(model, pk, *, lock: bool = False) -> str | None:
    """The ETag of the row as stored now (locked until the end of the transaction)."""
    rows = model._base_manager.filter(pk=pk)
    if lock:
        rows = rows.select_for_update()
    stamp = rows.values_list("updated_at", flat=True).first()
    return None if stamp is None else _etag(pk, stamp)


def _matches(header: str, etag: str | None) -> bool:
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in wanted or etag in wanted


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset whose queryset is narrowed to what the user may see, for every action.

    Optimistic concurrency: one object's GET and its updates answer with an ETag; a change
    (PUT, PATCH, DELETE, or an action on the object) sent with If-Match is made only if the
    object is still that version, checked and written in one transaction with the row locked,
    else 412. Without If-Match, changes are made as before.
    """

    pagination_class = PagePagination
    filter_backends = [FilterBackend, OrderingFilter]
    write_roles: tuple[str, ...] | None = None
    client_users_allowed = False
    _etag: str | None = None

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)

    def filter_queryset(self, queryset):
        # One object by its id, asked without query parameters: the list's filters are all
        # unset and change nothing (tests/api/test_conventions.py holds every FilterSet to
        # that), and building them was most of the CPU of a ticket's read, reply or change.
        if self._names_one_object() and not self.request.query_params:
            return queryset
        return super().filter_queryset(queryset)

    def _names_one_object(self) -> bool:
        return (self.lookup_url_kwarg or self.lookup_field) in self.kwargs

    def _checks_version(self) -> bool:
        return self.request.method not in SAFE_METHODS and "If-Match" in self.request.headers

    def dispatch(self, request, *args, **kwargs):
        if request.method not in SAFE_METHODS and "HTTP_IF_MATCH" in request.META:
            with transaction.atomic():  # the version check and the write, together
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_object(self):
        instance = self.find_object()
        self._etag = etag_of(instance)
        if self._checks_version():
            if self._etag is None:
                raise PreconditionFailed("This object has no version to compare (no ETag).")
            self._etag = _stored_etag(type(instance), instance.pk, lock=True)
            if not _matches(self.request.headers["If-Match"], self._etag):
                raise PreconditionFailed()
        return instance

    def find_object(self):
        """The object the URL names, if the user sees it (else 404), with its permissions
        checked: DRF's get_object, unless a viewset finds it a quicker way."""
        return super().get_object()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        action = getattr(self, "action", None)
        if self._etag is None or response.status_code != status.HTTP_200_OK:
            return response
        if request.method not in SAFE_METHODS:  # the version the change made
            instance_pk = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
            self._etag = _stored_etag(self.get_queryset().model, instance_pk)
        elif action != "retrieve":
            # A GET of something else about the object (its comments): not its version, which
            # the conditional-GET middleware would take for the version of this list.
            return response
        if self._etag is not None:
            response["ETag"] = self._etag
        return response
