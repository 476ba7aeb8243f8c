"""Base classes every API view and serializer builds on."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Manager
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter

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


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset whose queryset is narrowed to what the user may see, for every action."""

    pagination_class = PagePagination
    filter_backends = [FilterBackend, OrderingFilter]
    write_roles: tuple[str, ...] | None = None
    client_users_allowed = False

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)
