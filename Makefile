# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/dagster_home
UI_PORT ?= 3000
API_PORT ?= 8080

.PHONY: install run ui serve test lint format clean

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

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

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf data dagster_home/storage dagster_home/history dagster_home/logs dagster_home/schedules
