# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/dagster_home
UI_PORT ?= 3000
API_PORT ?= 8080

.PHONY: install lock run ui serve test test-fast lint format clean

# Re-install whenever the lockfile or pyproject.toml changes. Every dependency comes from
# requirements.lock (exact versions and hashes), so two installs a month apart are the same;
# the project itself is then installed editable without resolving anything.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

## Re-resolve requirements.lock from pyproject.toml (after changing a dependency range).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock

## Generate sample sources, materialize every asset into data/warehouse.duckdb, print a summary.
run: install
	$(BIN)/narr-platform sample-data
	$(BIN)/dagster job execute -m narr_platform.definitions -j materialize_all
	$(BIN)/narr-platform summary

## The Dagster UI on http://127.0.0.1:$(UI_PORT) with the shipped instance config.
ui: install
	$(BIN)/dagster dev -h 127.0.0.1 -p $(UI_PORT) -w workspace.yaml

## The directory API and search page on http://127.0.0.1:$(API_PORT) (after `make run`).
serve: install
	$(BIN)/narr-platform serve --host 127.0.0.1 --port $(API_PORT)

## Every test: Spark (a local Spark Connect server), the UI (headless Chromium), whole pipelines.
## Two workers (pytest-xdist), one per core; a module runs whole on one worker, so its
## module fixtures are built once. Modules run in collection order, the ones marked
## long_setup first (tests/conftest.py), so the two workers finish together.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## The tests that are neither slow, Spark nor UI: under 3 minutes on 2 cores.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not spark and not ui" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf data dagster_home/storage dagster_home/history dagster_home/logs dagster_home/schedules
