"""Every bench in one command, at 100,000 tickets: one table, one JSON file per run.

    .venv/bin/python bench/all.py                      # make bench-all
    .venv/bin/python bench/all.py --only api,sweep     # some of them
    .venv/bin/python bench/all.py --compare [OLD [NEW]]  # make bench-compare
    .venv/bin/python bench/all.py --show [RUN] --markdown

Runs the SLA calendar, workspace, API, reports and SLA sweep benches in turn, each in a fresh
process (each points Django at its own database, as when run alone), with persistent database
connections for the workspace and the API. Their own output is printed as they go; then one
table of every measurement (path, p50 and p95 ms, SQL queries, rows or throughput), written to
var/bench/<UTC timestamp>.json and var/bench/latest.json. --compare prints the differences per
path between two runs (by default the two latest).
"""

import argparse
import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "var" / "bench"
TICKETS = 100_000
# Seconds a connection is kept, as a deployment sets DATABASE_CONN_MAX_AGE: without it every
# request pays a new PostgreSQL connection (a few ms), which is not what production measures.
CONN_MAX_AGE = 600

# (name, module in bench/, keyword arguments of its run()); at 100,000 tickets the five take
# about five minutes on the 2-core machine once their databases are seeded.
BENCHES = [
    # 20,000 cases: businesstimedelta does about 1,000 a second, 100,000 would take 4 minutes.
    ("calendar", "sla_calendar", {"count": 20_000}),
    ("workspace", "tickets_workspace", {"tickets": TICKETS, "conn_max_age": CONN_MAX_AGE}),
    ("api", "api", {"tickets": TICKETS, "conn_max_age": CONN_MAX_AGE}),
    ("reports", "reports", {"tickets": TICKETS, "repeats": 5}),
    # 3,334 overdue resolution clocks: 10,002 milestones, by one process, then 1, 2 and 4.
    ("sweep", "sla_sweep", {"tickets": TICKETS, "due": 3_334, "workers": (1, 2, 4)}),
    # Last month's invoice run over 500 clients (bench/billing.py).
    ("billing", "billing", {"tickets": TICKETS, "repeat": 1}),
]


def _run_bench(module: str, options: dict) -> list[dict]:
    """In the child process: one bench's run()."""
    try:
        return importlib.import_module(module).run(**options)
    finally:
        sys.stdout.flush()


def run_all(names: list[str]) -> dict:
    started_at = datetime.now(UTC)
    began = time.perf_counter()
    load_before = os.getloadavg()
    benches, records = {}, []
    spawn = multiprocessing.get_context("spawn")
    for name, module, options in BENCHES:
        if name not in names:
            continue
        print(f"\n== {name}: bench/{module}.py {options}", flush=True)
        bench_began = time.perf_counter()
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                measured = pool.submit(_run_bench, module, options).result()
            error = None
        except (Exception, SystemExit) as failure:  # one broken bench must not lose the others
            traceback.print_exception(failure)
            measured, error = [], f"{type(failure).__name__}: {failure}"
        seconds = round(time.perf_counter() - bench_began, 1)
        benches[name] = {"module": module, "options": options, "seconds": seconds, "error": error}
        records += [{"bench": name, **item} for item in measured]
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - began, 1),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpus": os.cpu_count(),
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "benches": benches,
        "records": records,
    }


def _git(*arguments: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["git", *arguments],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}" if value >= 1 else f"{value:.3g}"


def _amount(item: dict) -> str:
    if item.get("throughput") is not None:
        return f"{item['throughput']:,.0f} {item['unit']}"
    if item.get("rows") is not None:
        return f"{item['rows']:,} rows"
    return ""


def _print_table(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def show(run: dict, markdown: bool = False) -> None:
    load = run["load_average_before"]
    print(
        f"\n{run['started_at']}, {run['seconds']:.0f} s, commit {run['commit']}"
        f"{' with uncommitted changes' if run['uncommitted_changes'] else ''}, "
        f"{run['cpus']} cores, load average before {load[0]:.2f} (1 min) {load[2]:.2f} (15 min)"
    )
    rows = [
        [
            f"{item['bench']}: {item['path']}",
            _ms(item["p50_ms"]),
            _ms(item["p95_ms"]),
            item["queries"] or "",
            _amount(item),
        ]
        for item in run["records"]
    ]
    _print_table(["path", "p50 ms", "p95 ms", "queries", "rows or throughput"], rows, markdown)
    for name, bench in run["benches"].items():
        if bench["error"]:
            print(f"FAILED {name}: {bench['error']}")


def _change(old: float | None, new: float | None, format_value) -> str:
    if old is None and new is None:
        return ""
    if old is None or new is None:
        return f"{format_value(old) or '-'} -> {format_value(new) or '-'}"
    percent = f" ({(new - old) / old:+.0%})" if old else ""
    return f"{format_value(old)} -> {format_value(new)}{percent}"


def compare(old: dict, new: dict, markdown: bool = False) -> None:
    print(f"old: {old['started_at']} (commit {old['commit']})")
    print(f"new: {new['started_at']} (commit {new['commit']})")
    before = {(item["bench"], item["path"]): item for item in old["records"]}
    after = {(item["bench"], item["path"]): item for item in new["records"]}
    rows = []
    for key in [*after, *(key for key in before if key not in after)]:
        was, now = before.get(key, {}), after.get(key, {})
        queries = (was.get("queries"), now.get("queries"))
        unit = now.get("unit") or was.get("unit")
        throughput = _change(
            was.get("throughput"),
            now.get("throughput"),
            lambda value: "" if value is None else f"{value:,.0f}",
        )
        rows.append(
            [
                f"{key[0]}: {key[1]}" + (" (new)" if not was else " (gone)" if not now else ""),
                _change(was.get("p50_ms"), now.get("p50_ms"), _ms),
                _change(was.get("p95_ms"), now.get("p95_ms"), _ms),
                queries[1] or "" if queries[0] == queries[1] else f"{queries[0]} -> {queries[1]}",
                f"{throughput} {unit}" if unit else throughput,
            ]
        )
    _print_table(["path", "p50 ms", "p95 ms", "queries", "throughput"], rows, markdown)


def _stored_runs() -> list[Path]:
    return sorted(path for path in RUNS.glob("*.json") if path.name != "latest.json")


def _load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", help="comma-separated benches: " + ",".join(name for name, *_ in BENCHES)
    )
    parser.add_argument(
        "--compare",
        nargs="*",
        metavar="RUN",
        help="compare two stored runs: OLD [NEW] (default: the two latest)",
    )
    parser.add_argument(
        "--show", nargs="?", const="latest", metavar="RUN", help="print a stored run's table"
    )
    parser.add_argument("--markdown", action="store_true", help="tables in Markdown")
    options = parser.parse_args()

    if options.compare is not None:
        runs = list(options.compare)
        if len(runs) > 2:
            parser.error("--compare takes at most two runs")
        stored = _stored_runs()
        if not runs:
            runs = [str(path) for path in stored[-2:]]
        elif len(runs) == 1:
            runs.append(str(RUNS / "latest.json"))
        if len(runs) < 2:
            parser.error(f"two runs are needed in {RUNS} to compare; run make bench-all")
        compare(_load(runs[0]), _load(runs[1]), options.markdown)
        return
    if options.show:
        path = RUNS / "latest.json" if options.show == "latest" else Path(options.show)
        show(_load(path), options.markdown)
        return

    names = [name for name, *_ in BENCHES]
    if options.only:
        names = options.only.split(",")
        if unknown := set(names) - {name for name, *_ in BENCHES}:
            parser.error(f"unknown benches: {', '.join(sorted(unknown))}")
    run = run_all(names)
    RUNS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(run["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(run, indent=2) + "\n"
    (RUNS / f"{stamp}.json").write_text(text)
    (RUNS / "latest.json").write_text(text)
    show(run, options.markdown)
    print(f"\nwritten to {RUNS / f'{stamp}.json'} and {RUNS / 'latest.json'}")
    if any(bench["error"] for bench in run["benches"].values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
