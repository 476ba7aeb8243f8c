"""Field types shared by the API's serializers."""

from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from msp.prepared import instance_by_pk
from msp.querysets import ClientScopedQuerySet


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by its integer id. DRF's field hands the value to the database as it
    comes, so 1.5 (or "1.5", or true) was read as id 1; here the id must be a JSON integer
    (or a number with nothing after the point, which JSON Schema counts as one).

    Scoped to a user (`scope_to`, called by ScopedRelationsMixin), it offers and accepts only
    what that user sees; anything else is "does not exist"."""

    scoped = False
    scope_user = None

    def scope_to(self, user) -> None:
        self.scoped, self.scope_user = True, user

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.scoped and isinstance(queryset, ClientScopedQuerySet):
            queryset = queryset.for_user(self.scope_user)
        return queryset

    def to_internal_value(self, data):
        integral = isinstance(data, int) or (isinstance(data, float) and data.is_integer())
        if isinstance(data, bool) or not integral:
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = int(data)
        declared = super().get_queryset()
        if self.pk_field is not None or not _unfiltered(declared):
            return super().to_internal_value(pk)
        # The row by its id (a query compiled once per process), its scope told from its own
        # columns: the same answer as the scoped queryset's get(), for less of the CPU.
        found = instance_by_pk(declared.model, pk)
        scoped = self.scoped and isinstance(declared, ClientScopedQuerySet)
        if found is None or (scoped and not declared.sees(found, self.scope_user)):
            self.fail("does_not_exist", pk_value=pk)
        return found

    @classmethod
    def many_init(cls, *args, **kwargs):
        child_kwargs = {k: v for k, v in kwargs.items() if k not in ("allow_empty",)}
        many_kwargs = {k: v for k, v in kwargs.items() if k in MANY_RELATION_KWARGS}
        return IdListField(child_relation=cls(*args, **child_kwargs), **many_kwargs)


def _unfiltered(queryset) -> bool:
    """Whether `queryset` is its model's every row (no filter, annotation or slice)."""
    query = queryset.query
    return not (
        query.where
        or query.annotations
        or query.extra
        or query.combinator
        or query.is_sliced
        or query.distinct
    )


class IdListField(serializers.ManyRelatedField):
    """A list of ids: a JSON array only (DRF took any iterable, so {} was an empty list)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false (DRF also took 0, 1, "yes", "on"...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictTextMixin:
    """Text must be a JSON string (DRF also took 0 or 1.5 and stored "0" or "1.5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictTextMixin, serializers.CharField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictSlugField(StrictTextMixin, serializers.SlugField):
    pass
