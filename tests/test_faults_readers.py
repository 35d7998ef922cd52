"""Fault suite, readers: every read path waits for a writer within DUCKDB_LOCK_TIMEOUT, then
fails with one line. Before, `stats` failed at once with a raw `Conflicting lock` traceback.
(`search` reads the directory's published snapshot, not the warehouse file.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from narr_platform.cli import main
from tests.support import PROJECT_ROOT
from tests.support.ops import build_warehouse, hold_database, use_private_ops_dirs

READERS = [
    ["stats"],
    ["stats", "--json"],
    ["nearby", "--lat", "40", "--lon", "-75"],
    ["fhir-export"],
    ["scenario", "list"],
    ["scenario", "export", "demo-30-day-readmissions"],
]


@pytest.fixture(autouse=True)
def warehouse(platform_env, monkeypatch, warehouse_path):
    use_private_ops_dirs(platform_env, monkeypatch)
    build_warehouse(warehouse_path, rows=300)
    return warehouse_path


def test_stats_during_a_write_waits_for_the_writer_and_succeeds(warehouse_path) -> None:
    holder = hold_database(warehouse_path)  # a writer holding DuckDB's file lock
    timer = threading.Timer(3.0, holder.kill)
    timer.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "narr_platform.cli", "stats"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DUCKDB_LOCK_TIMEOUT": "60"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        timer.cancel()
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert "directory.organizations" in proc.stdout


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_reader_blocked_past_the_bound_fails_with_one_line(warehouse_path, args) -> None:
    holder = hold_database(warehouse_path)
    try:
        result = CliRunner().invoke(main, args, env={"DUCKDB_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()
    output = result.output.strip()
    assert result.exit_code == 1, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert output.startswith("Error: ") and "\n" not in output, output
    assert "locked by another process" in output and "waited 1 s" in output, output


def test_health_during_a_write_reports_busy_instead_of_failing(warehouse_path) -> None:
    holder = hold_database(warehouse_path)
    try:
        result = CliRunner().invoke(main, ["health"], env={"DUCKDB_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "busy in another process" in result.output
