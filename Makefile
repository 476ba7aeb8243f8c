.PHONY: help run test lint format bench

help:  ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run:  ## Set up and run web + worker + beat on SQLite with demo data
	bin/run

test:  ## Set up and run ruff, the migrations check and the test suite
	bin/test

lint:  ## ruff check and format check only
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:  ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench:  ## Run the SLA calendar benchmark
	.venv/bin/python bench/sla_calendar.py
