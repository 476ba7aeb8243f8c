"""The audit trail as CSV, streamed, every text cell safe to open in a spreadsheet."""

import csv
import json
from collections.abc import Iterable, Iterator

from auditlog.models import LogEntry

HEADER = [
    "timestamp_utc",
    "action",
    "record",
    "object_id",
    "object",
    "part_of",
    "actor_email",
    "api_token",
    "source",
    "remote_address",
    "correlation_id",
    "changes",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    value = "" if value is None else str(value)
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def row_of(entry: LogEntry) -> list[str]:
    data = entry.additional_data or {}
    token = data.get("token") or {}
    return [
        cell(value)
        for value in (
            entry.timestamp.isoformat(),
            entry.get_action_display(),
            f"{entry.content_type.app_label}.{entry.content_type.model}",
            entry.object_pk,
            entry.object_repr,
            data.get("parent", ""),
            entry.actor_email or "",
            f"{token['name']} (#{token['id']})" if token else "",
            data.get("source", ""),
            entry.remote_addr or "",
            entry.cid or "",
            json.dumps(entry.changes or {}, ensure_ascii=False, sort_keys=True),
        )
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[LogEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for entry in entries:
        yield writer.writerow(row_of(entry))
