.PHONY: help run test lint format bench bench-workspace bench-sweep bench-api bench-reports bench-all bench-compare

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run:  ## Set up and run web + worker + beat on SQLite with demo data
	bin/run

test:  ## Set up and run ruff, the migrations check and the test suite
	bin/test

lint:  ## ruff check and format check only
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:  ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench:  ## SLA calendar benchmark (no database needed)
	.venv/bin/python bench/sla_calendar.py

bench-workspace:  ## Workspace pages at 100k and 1M tickets (local PostgreSQL; seeds once)
	.venv/bin/python bench/tickets_workspace.py --tickets 100000
	.venv/bin/python bench/tickets_workspace.py --tickets 1000000

bench-sweep:  ## SLA sweep with 1M open tickets and 1,000 clocks due (local PostgreSQL)
	.venv/bin/python bench/sla_sweep.py

bench-api:  ## API list, creates, alerts and email parsing at 100k and 1M tickets (gunicorn)
	.venv/bin/python bench/api.py --tickets 100000
	.venv/bin/python bench/api.py --tickets 1000000

bench-reports:  ## Report figures and PDF at 1M tickets over 500 clients (local PostgreSQL)
	.venv/bin/python bench/reports.py --tickets 1000000

bench-all:  ## Every bench at 100k tickets: one table, saved to var/bench/<time>.json and latest.json
	.venv/bin/python bench/all.py

bench-compare:  ## Differences per path between two bench-all runs (OLD=, NEW=; default the two latest)
	.venv/bin/python bench/all.py --compare $(OLD) $(NEW)
