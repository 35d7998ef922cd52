"""Backups, retention, Parquet exports and the restore drill, on real DuckDB files."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from narr_platform.cli import main
from resources.warehouse import DuckDBWarehouse
from schedules.backup import (
    BackupError,
    RestoreError,
    apply_retention,
    create_backup,
    list_backups,
    restore_backup,
    sha256_file,
)
from tests.support.ops import (
    build_warehouse,
    hold_database,
    operations_definitions,
    run_job,
    table_contents,
    use_private_ops_dirs,
)


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


def _backup(warehouse_path: Path, root: Path, kind: str = "daily", now: dt.datetime | None = None):
    warehouse = DuckDBWarehouse(database_path=str(warehouse_path))
    return create_backup(warehouse.connect, warehouse_path, root, kind, now=now)


def test_daily_backup_job_writes_verified_backup_and_manifest(
    warehouse_path, ops_dirs, dagster_home
):
    build_warehouse(warehouse_path)
    backups, _ = ops_dirs
    instance = dg.DagsterInstance.get()
    result = run_job("daily_backup", instance)
    assert result.success
    [backup] = list_backups(backups)
    assert backup.path.parent == backups / "daily"
    assert backup.path.name.endswith(".duckdb.zst")
    manifest = json.loads(backup.manifest_path.read_text())
    assert manifest["backup_sha256"] == hashlib.sha256(backup.path.read_bytes()).hexdigest()
    assert manifest["backup_size_bytes"] == backup.path.stat().st_size
    assert manifest["source_path"] == str(warehouse_path)
    assert manifest["tables"]["directory.organizations"]["rows"] == 5_000
    assert manifest["tables"]["healthsim.patients"]["rows"] == 2_500
    assert "directory.ca" not in manifest["tables"]  # views are not tables
    assert manifest["schema_version"] == "3"
    assert manifest["platform_version"]
    assert dt.datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    # Compressed: well under the database file's size.
    assert manifest["backup_size_bytes"] < manifest["database_size_bytes"] / 2
    events = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    assert events and events[0].event_specific_data.metadata["tables"].value == 3


def test_backup_ops_run_in_the_duckdb_pool():
    defs = operations_definitions()
    for name in ("daily_backup", "weekly_backup", "monthly_export", "publish_to_motherduck"):
        job = defs.resolve_job_def(name)
        pools = {node.definition.pool for node in job.graph.node_dict.values()}
        assert pools == {"duckdb"}, name


def test_retention_keeps_recent_backups_and_the_newest(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=100)
    backups, _ = ops_dirs
    now = dt.datetime(2026, 6, 30, 2, 30, tzinfo=dt.UTC)
    for days in (1, 6, 8, 20):
        _backup(warehouse_path, backups, "daily", now - dt.timedelta(days=days))
    _backup(warehouse_path, backups, "weekly", now - dt.timedelta(days=20))
    removed = apply_retention(backups, "daily", 7, now)
    assert len(removed) == 2
    remaining = [(b.kind, (now - b.created_at).days) for b in list_backups(backups)]
    assert remaining == [("daily", 1), ("daily", 6), ("weekly", 20)]
    # Old-only: the newest backup of a kind is never deleted.
    assert apply_retention(backups, "weekly", 7, now) == []


def test_weekly_job_applies_its_30_day_retention(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=100)
    backups, _ = ops_dirs
    old = _backup(
        warehouse_path, backups, "weekly", dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    )
    kept = _backup(
        warehouse_path, backups, "weekly", dt.datetime.now(dt.UTC) - dt.timedelta(days=29)
    )
    assert run_job("weekly_backup").success
    paths = {b.path for b in list_backups(backups)}
    assert old.path not in paths and not old.path.exists()
    assert kept.path in paths and len(paths) == 2


def test_restore_drill(warehouse_path, ops_dirs):
    """Build, back up, change data, restore, compare every table with the backed-up state."""
    build_warehouse(warehouse_path)
    backups, _ = ops_dirs
    before = table_contents(warehouse_path)
    backup = _backup(warehouse_path, backups)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM directory.organizations WHERE id % 2 = 0")
        con.execute("UPDATE healthsim.patients SET mrn = 'changed'")
        con.execute("DROP TABLE healthsim.schema_version")
        con.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")
    changed = table_contents(warehouse_path)
    assert changed != before

    result = CliRunner().invoke(main, ["restore", str(backup.path)])
    assert result.exit_code == 0, result.output
    assert "Restored 3 tables" in result.output
    assert table_contents(warehouse_path) == before
    with duckdb.connect(str(warehouse_path), read_only=True) as con:  # the view came back too
        assert con.execute("SELECT count(*) FROM directory.ca").fetchone()[0] > 0
    [previous] = warehouse_path.parent.glob("warehouse.duckdb.pre-restore-*")
    assert table_contents(previous) == changed
    assert not list(warehouse_path.parent.glob(".warehouse.duckdb.restore-*"))


def test_restore_to_another_path_and_latest(warehouse_path, ops_dirs, tmp_path):
    build_warehouse(warehouse_path, rows=300)
    backups, _ = ops_dirs
    _backup(warehouse_path, backups)
    target = tmp_path / "copy" / "restored.duckdb"
    result = CliRunner().invoke(main, ["restore", "latest", "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert table_contents(target) == table_contents(warehouse_path)
    assert "Previous database" not in result.output  # nothing was there before


def _assert_refused(backup_path: Path, warehouse_path: Path, expected: str) -> None:
    live_sha = sha256_file(warehouse_path)
    result = CliRunner().invoke(main, ["restore", str(backup_path)])
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert "untouched" in result.output or "corrupt" in result.output
    assert sha256_file(warehouse_path) == live_sha
    assert not list(warehouse_path.parent.glob(".warehouse.duckdb.restore-*"))
    assert not list(warehouse_path.parent.glob("warehouse.duckdb.pre-restore-*"))


def test_truncated_backup_is_refused(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path)
    backup = _backup(warehouse_path, ops_dirs[0])
    data = backup.path.read_bytes()
    backup.path.write_bytes(data[: len(data) // 2])
    _assert_refused(backup.path, warehouse_path, "truncated")


def test_backup_with_wrong_checksum_is_refused(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path)
    backup = _backup(warehouse_path, ops_dirs[0])
    data = bytearray(backup.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    backup.path.write_bytes(bytes(data))
    _assert_refused(backup.path, warehouse_path, "fails its SHA-256 checksum")


def test_truncated_stream_with_matching_manifest_is_refused(warehouse_path, ops_dirs):
    """Even when someone 'fixes' the manifest, a truncated stream never reaches the live DB."""
    build_warehouse(warehouse_path)
    backup = _backup(warehouse_path, ops_dirs[0])
    data = backup.path.read_bytes()[:-200]
    backup.path.write_bytes(data)
    manifest = json.loads(backup.manifest_path.read_text())
    manifest["backup_size_bytes"] = len(data)
    manifest["backup_sha256"] = hashlib.sha256(data).hexdigest()
    backup.manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RestoreError, match=r"corrupt|truncated"):
        restore_backup(backup.path, warehouse_path)


def test_row_counts_must_equal_the_manifest(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path)
    backup = _backup(warehouse_path, ops_dirs[0])
    manifest = json.loads(backup.manifest_path.read_text())
    manifest["tables"]["healthsim.patients"]["rows"] += 1
    backup.manifest_path.write_text(json.dumps(manifest))
    _assert_refused(
        backup.path, warehouse_path, "Table healthsim.patients differs from the manifest"
    )


def test_restore_while_another_process_holds_the_database(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path)
    backup = _backup(warehouse_path, ops_dirs[0])
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM healthsim.patients")
    live_sha = sha256_file(warehouse_path)
    holder = hold_database(warehouse_path)
    try:
        with pytest.raises(RestoreError, match=r"open in another process.*PID"):
            restore_backup(backup.path, warehouse_path, lock_timeout_seconds=1.0)
        assert sha256_file(warehouse_path) == live_sha
        assert not list(warehouse_path.parent.glob(".warehouse.duckdb.restore-*"))
    finally:
        holder.kill()
        holder.wait()
    # Once the other process is gone, the same restore succeeds.
    result = restore_backup(backup.path, warehouse_path, lock_timeout_seconds=5.0)
    assert result.tables["healthsim.patients"] == 2_500


def test_backup_status_reports_age_checksum_and_rpo(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=100)
    backups, _ = ops_dirs
    runner = CliRunner()
    empty = runner.invoke(main, ["backup", "status"])
    assert empty.exit_code == 1 and "No backups" in empty.output

    stale = _backup(
        warehouse_path, backups, "daily", dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    )
    result = runner.invoke(main, ["backup", "status"])
    assert result.exit_code == 1 and "recovery-point objective" in result.output
    assert runner.invoke(main, ["backup", "status", "--rpo-hours", "48"]).exit_code == 0

    _backup(warehouse_path, backups, "daily")
    result = runner.invoke(main, ["backup", "status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [b["kind"] for b in report["backups"]] == ["daily", "daily"]
    assert [b["checksum"] for b in report["backups"]] == ["ok", "ok"]
    assert report["backups"][1]["age_hours"] >= 30

    stale.path.write_bytes(b"garbage")
    result = runner.invoke(main, ["backup", "status"])
    assert result.exit_code == 1 and "damaged" in result.output


def test_monthly_export_writes_zstd_parquet_with_row_groups(warehouse_path, ops_dirs, monkeypatch):
    monkeypatch.setenv("PARQUET_ROW_GROUP_SIZE", "1000")
    build_warehouse(warehouse_path)
    _, exports = ops_dirs
    root = exports / "monthly"
    today = dt.datetime.now(dt.UTC).date()
    stale = root / (today - dt.timedelta(days=400)).isoformat()
    recent = root / (today - dt.timedelta(days=300)).isoformat()
    for folder in (stale, recent):
        folder.mkdir(parents=True)
    result = run_job("monthly_export")
    assert result.success
    folder = root / today.isoformat()
    organizations = pq.ParquetFile(folder / "directory" / "organizations.parquet")
    assert organizations.metadata.num_rows == 5_000
    # DuckDB cuts row groups at its 2,048-row vector size: 1,000 gives groups of <= 2,048 rows
    # where the default (122,880) would write one group of 5,000.
    groups = [
        organizations.metadata.row_group(i).num_rows for i in range(organizations.num_row_groups)
    ]
    assert len(groups) >= 2 and max(groups) <= 2048
    assert organizations.metadata.row_group(0).column(0).compression == "ZSTD"
    assert (folder / "healthsim" / "patients.parquet").exists()
    assert not (folder / "directory" / "ca.parquet").exists()  # views are not exported
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["tables"]["healthsim.schema_version"] == 2
    assert not stale.exists() and recent.exists()


def test_backup_jobs_fail_clearly_outside_the_local_deployment():
    from resources.spark_warehouse import SparkWarehouse
    from schedules.backup_jobs import require_local_duckdb

    with pytest.raises(dg.Failure, match="only runs in the local deployment"):
        require_local_duckdb(
            SparkWarehouse(spark_remote="sc://127.0.0.1:15002"), "The daily backup"
        )


def test_backup_of_a_missing_warehouse_fails_with_its_path(warehouse_path, ops_dirs):
    result = run_job("daily_backup")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert f"No warehouse file at {warehouse_path}" in str(failure.event_specific_data.error)


def test_backup_waits_for_another_writer_to_release_the_database(warehouse_path, ops_dirs):
    """A writer outside Dagster's pool holds the file: the backup waits, then copies it whole."""
    import threading

    build_warehouse(warehouse_path, rows=1_000)
    holder = hold_database(warehouse_path)
    release = threading.Timer(1.5, holder.kill)
    release.start()
    try:
        warehouse = DuckDBWarehouse(database_path=str(warehouse_path), lock_timeout_seconds=30)
        backup = create_backup(warehouse.connect, warehouse_path, ops_dirs[0], "daily")
    finally:
        release.cancel()
        holder.kill()
        holder.wait()
    assert backup.manifest["tables"]["directory.organizations"]["rows"] == 1_000
    assert backup.checksum_ok()

    short = DuckDBWarehouse(database_path=str(warehouse_path), lock_timeout_seconds=0.5)
    holder = hold_database(warehouse_path)
    try:
        with pytest.raises(BackupError, match=r"kept .* locked.*PID"):
            create_backup(short.connect, warehouse_path, ops_dirs[0], "weekly")
    finally:
        holder.kill()
        holder.wait()
    assert not list((ops_dirs[0] / "weekly").glob("*"))  # no partial file left behind
