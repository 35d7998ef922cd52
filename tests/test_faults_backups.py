"""Fault suite, backups: empty and damaged files, broken manifests, simultaneous backups,
a partial file left by a killed backup. `backup status` and `health` share one check."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from narr_platform.cli import main
from resources.warehouse import DuckDBWarehouse
from schedules.backup import create_backup, inspect_backups, list_backups
from tests.support import PROJECT_ROOT
from tests.support.ops import build_warehouse, use_private_ops_dirs


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


@pytest.fixture
def backups(ops_dirs, warehouse_path) -> Path:
    build_warehouse(warehouse_path, rows=500)
    return ops_dirs[0]


def take_backup(warehouse_path: Path, root: Path, kind: str = "daily", now=None):
    warehouse = DuckDBWarehouse(database_path=str(warehouse_path))
    return create_backup(warehouse.connect, warehouse_path, root, kind, now=now)


def test_health_refuses_an_empty_newest_backup_like_backup_status(backups, warehouse_path):
    take_backup(warehouse_path, backups, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    newest = take_backup(warehouse_path, backups)
    runner = CliRunner()
    assert runner.invoke(main, ["health"]).exit_code == 0
    newest.path.write_bytes(b"")  # a 0-byte backup file
    health = runner.invoke(main, ["health", "--json"])
    status = runner.invoke(main, ["backup", "status", "--json"])
    assert health.exit_code == 1 and status.exit_code == 1
    report = json.loads(health.output)
    assert report["newest_backup_state"] == "damaged"
    problem = f"The newest backup {newest.path.name} is damaged"
    assert any(p.startswith(problem) for p in report["problems"])
    assert any(p.startswith(problem) for p in json.loads(status.output)["problems"])


@pytest.mark.parametrize(
    "damage",
    ["missing_keys", "not_json", "empty", "list", "no_manifest", "bad_timestamp"],
)
def test_a_damaged_manifest_is_listed_as_damaged_and_refused_by_restore(
    backups, warehouse_path, damage
):
    good = take_backup(warehouse_path, backups, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    bad = take_backup(warehouse_path, backups)
    manifest = json.loads(bad.manifest_path.read_text())
    if damage == "missing_keys":
        del manifest["backup_sha256"], manifest["tables"]
        bad.manifest_path.write_text(json.dumps(manifest))
    elif damage == "not_json":
        bad.manifest_path.write_text("{ this is not json")
    elif damage == "empty":
        bad.manifest_path.write_text("")
    elif damage == "list":
        bad.manifest_path.write_text("[1, 2]")
    elif damage == "no_manifest":
        bad.manifest_path.unlink()
    elif damage == "bad_timestamp":
        manifest["created_at"] = "yesterday"
        bad.manifest_path.write_text(json.dumps(manifest))

    runner = CliRunner()
    status = runner.invoke(main, ["backup", "status", "--json"])
    assert status.exit_code == 1, status.output
    rows = {Path(r["path"]).name: r for r in json.loads(status.output)["backups"]}
    assert rows[bad.path.name]["state"] == "damaged", rows
    assert rows[good.path.name]["state"] == "ok"
    text = runner.invoke(main, ["backup", "status"])
    assert isinstance(text.exception, SystemExit) and "damaged" in text.output, text.output

    restore = runner.invoke(main, ["restore", str(bad.path), "--to", str(warehouse_path) + "2"])
    assert restore.exit_code == 1, restore.output
    assert isinstance(restore.exception, SystemExit), restore.exception
    assert restore.output.startswith("Error: ") and restore.output.count("\n") == 1
    # `restore latest` takes the newest backup whose manifest is complete.
    assert list_backups(backups)[0].path == good.path


def test_two_backups_started_in_the_same_second_both_survive(backups, warehouse_path):
    second = "2026-01-02T03:04:05+00:00"
    script = (
        "import datetime as dt, sys\n"
        "from pathlib import Path\n"
        "from resources.warehouse import DuckDBWarehouse\n"
        "from schedules.backup import create_backup\n"
        "w = DuckDBWarehouse(database_path=sys.argv[1])\n"
        "b = create_backup(w.connect, sys.argv[1], Path(sys.argv[2]), 'manual',"
        f" now=dt.datetime.fromisoformat({second!r}))\n"
        "print(b.path)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(warehouse_path), str(backups)],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 2, paths
    entries = inspect_backups(backups)
    assert [e.state for e in entries] == ["ok", "ok"]
    assert {str(e.path) for e in entries} == paths


def test_a_partial_file_is_reported_and_removed_by_the_next_backup(backups, warehouse_path):
    folder = backups / "daily"
    folder.mkdir(parents=True)
    partial = folder / ".warehouse-20260101T000000Z.duckdb.zst.partial"
    partial.write_bytes(os.urandom(4096))  # what `kill -9` during the copy leaves behind
    runner = CliRunner()
    status = json.loads(runner.invoke(main, ["backup", "status", "--json"]).output)
    assert [(Path(r["path"]).name, r["state"]) for r in status["backups"]] == [
        (partial.name, "partial")
    ]
    result = runner.invoke(main, ["backup", "create", "--kind", "daily"])
    assert result.exit_code == 0, result.output
    assert f"Removed {partial.name}" in result.output
    assert not partial.exists()
    status = json.loads(runner.invoke(main, ["backup", "status", "--json"]).output)
    assert [r["state"] for r in status["backups"]] == ["ok"]
