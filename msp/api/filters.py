"""Filtering for every list endpoint: django-filter, with related objects filtered by id."""

from django import forms
from django.db import models
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A related object by its integer id. An id that names nothing (or nothing the user sees)
    gives an empty list, as any filter matching nothing does; django-filter's default for a
    foreign key refused it with 400 "Select a valid choice" although the schema allows it.
    Something that is not an integer (1.5, "x") is refused with 400."""

    field_class = forms.IntegerField


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); django-filter read anything else ("null", "yes") as not given."""

    def to_python(self, value):
        if value in ("", None):
            return None
        if not isinstance(value, bool):
            raise forms.ValidationError("Give true or false.", code="invalid")
        return value

    def validate(self, value):
        pass


class StrictBooleanWidget(BooleanWidget):
    """true/false/1/0 (any case) as a bool; anything else as it came, for the field to refuse
    (django-filter's widget made it None: no filter)."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        known = super().value_from_datadict(data, files, name)
        return value if known is None else known


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class FilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
    }


class FilterBackend(filters.DjangoFilterBackend):
    """Builds the FilterSet of a view's `filterset_fields` on the FilterSet above."""

    filterset_base = FilterSet

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            # An empty value is no filter for text, but not a date, a number or a boolean.
            empty = {
                name: "Give a value, or leave the parameter out."
                for name, field in filterset.form.fields.items()
                if request.query_params.get(name) == "" and not isinstance(field, forms.CharField)
            }
            if empty:
                raise ValidationError(empty)
        return filterset
