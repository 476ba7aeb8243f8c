"""OpenAPI post-processing: every operation documents the errors it can answer with, in the
one error shape the API uses."""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {
                "oneOf": [
                    {"type": "array", "items": {}},
                    {"type": "object"},
                    {"type": "string"},
                ]
            },
        },
    },
    "required": ["message", "errors"],
}
ERRORS = {
    "400": "Invalid input: `errors` names each field and what is wrong with it.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "The token's scope or the user's role does not allow this.",
    "404": "No such object, or not one the user may see.",
    "405": "The method is not allowed here.",
    "409": "The change conflicts with existing data.",
    "413": "The payload is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests for this token; see Retry-After.",
}
WRITE_ONLY = {"409", "413", "415"}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code in WRITE_ONLY and method == "get":
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
