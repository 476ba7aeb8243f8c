"""One error shape for every API error:
{"message": "...", "errors": {"field": ["..."]}} with 400, 401, 403, 404, 405, 409, 413, 415
or 429. Domain ValidationErrors from services become 400, or 409 when their code is "conflict"
(the object's state does not allow the action: see Conflict); database conflicts 409; a body
over DATA_UPLOAD_MAX_MEMORY_SIZE 413."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from msp.api.parsers import body_too_large
from msp.validators import CONFLICT

log = logging.getLogger("msp.api")


class Conflict(exceptions.APIException):
    """409: the request is valid but the object's current state does not allow it (a second
    resolve of a resolved ticket, acknowledging a ticket already responded to)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the object."
    default_code = CONFLICT


def is_conflict(exc: DjangoValidationError) -> bool:
    groups = exc.error_dict.values() if hasattr(exc, "error_dict") else [exc.error_list]
    return any(error.code == CONFLICT for group in groups for error in group)


def _messages(detail) -> list[str]:
    if isinstance(detail, list):
        return [str(item) for item in detail]
    if isinstance(detail, dict):
        return [f"{key}: {value}" for key, value in detail.items()]
    return [str(detail)]


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError) and is_conflict(exc):
        exc = Conflict("; ".join(exc.messages))
    elif isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    elif isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        log.warning("API conflict: %s", exc)
        return Response(
            {"message": "This conflicts with existing data.", "errors": {}},
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        first = next(iter(errors.values()), ["Invalid input."])
        message = "Invalid input: " + "; ".join(_messages(first))[:300]
        log.info("API 400 %s: %s", context["request"].path, errors)
        response.data = {"message": message, "errors": errors}
    else:
        text = detail.get("detail", detail) if isinstance(detail, dict) else detail
        response.data = {"message": str(text), "errors": {}}
    return response
