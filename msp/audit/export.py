"""The audit trail as CSV, streamed, every text cell safe to open in a spreadsheet."""

import json
from collections.abc import Iterable, Iterator

from auditlog.models import LogEntry

from msp.text import spreadsheet_writer

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


def row_of(entry: LogEntry) -> list[str]:
    data = entry.additional_data or {}
    token = data.get("token") or {}
    return [
        "" if value is None else str(value)
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
    writer = spreadsheet_writer(_Echo())  # formula-safe cells, as every CSV export
    yield writer.writerow(HEADER)
    for entry in entries:
        yield writer.writerow(row_of(entry))
