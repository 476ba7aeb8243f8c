"""One measurement of a bench as a plain record, so that bench/all.py can gather every bench's
figures into one table and one JSON file, and compare two runs path by path.

A record is a dict: `path` (what was measured), `p50_ms` and `p95_ms` (latency, when timed),
`queries` (SQL queries per request, "6" or "6/7" when requests differ), `rows` (rows returned
or processed) and `throughput` with its `unit` ("tickets/s"). Fields that do not apply are None.
"""

import statistics


def record(
    path: str,
    *,
    p50_ms: float | None = None,
    p95_ms: float | None = None,
    queries: str | int | None = None,
    rows: int | None = None,
    throughput: float | None = None,
    unit: str | None = None,
) -> dict:
    return {
        "path": path,
        "p50_ms": None if p50_ms is None else round(p50_ms, 3),
        "p95_ms": None if p95_ms is None else round(p95_ms, 3),
        "queries": None if queries is None else str(queries),
        "rows": rows,
        "throughput": None if throughput is None else round(throughput, 1),
        "unit": unit,
    }


def latency(path: str, timings_ms: list[float], **fields) -> dict:
    """A record of the median and 95th percentile of request timings."""
    ordered = sorted(timings_ms)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return record(path, p50_ms=statistics.median(ordered), p95_ms=p95, **fields)
