import zoneinfo

from django.core.exceptions import ValidationError


def validate_timezone_name(value: str) -> None:
    """Accept only IANA zone names that this machine's zoneinfo database knows."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (for example Europe/Berlin).",
            code="invalid_timezone",
            params={"value": value},
        )


# The code of a ValidationError raised because an object's state does not allow the action,
# not because the request is wrong (the API answers 409 Conflict): a second resolve, say.
CONFLICT = "conflict"
