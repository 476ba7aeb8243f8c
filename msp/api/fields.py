"""Field types shared by the API's serializers."""

from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by its integer id. DRF's field hands the value to the database as it
    comes, so 1.5 (or "1.5", or true) was read as id 1; here the id must be a JSON integer
    (or a number with nothing after the point, which JSON Schema counts as one)."""

    def to_internal_value(self, data):
        integral = isinstance(data, int) or (isinstance(data, float) and data.is_integer())
        if isinstance(data, bool) or not integral:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(int(data))

    @classmethod
    def many_init(cls, *args, **kwargs):
        child_kwargs = {k: v for k, v in kwargs.items() if k not in ("allow_empty",)}
        many_kwargs = {k: v for k, v in kwargs.items() if k in MANY_RELATION_KWARGS}
        return IdListField(child_relation=cls(*args, **child_kwargs), **many_kwargs)


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
