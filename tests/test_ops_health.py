"""`narr-platform health`, the warehouse_health check and `narr-platform stats`."""

import datetime as dt
import json

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from narr_platform.cli import main
from resources.duckdb_settings import DuckDBSettings
from resources.warehouse import DuckDBWarehouse
from schedules.backup import OperationsSettings, create_backup
from schedules.health import check_health
from tests.support.ops import build_warehouse, hold_database, run_job, use_private_ops_dirs


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


def _backup(warehouse_path, root, hours_ago: float = 0.0):
    warehouse = DuckDBWarehouse(database_path=str(warehouse_path))
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    return create_backup(warehouse.connect, warehouse_path, root, "daily", now=when)


def _health(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["health", "--json", *args])
    return result.exit_code, json.loads(result.output)


def test_healthy_warehouse_reports_every_fact(warehouse_path, ops_dirs, monkeypatch):
    monkeypatch.setenv("DUCKDB_WORKER_THREADS", "2")
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "512MiB")
    build_warehouse(warehouse_path, rows=200)
    _backup(warehouse_path, ops_dirs[0], hours_ago=1)
    code, report = _health()
    assert code == 0, report
    assert report["status"] == "healthy" and report["problems"] == []
    assert report["exists"] is True and report["opens"] is True
    assert report["size_bytes"] == warehouse_path.stat().st_size
    assert report["test_query_ms"] >= 0 and report["tables"] == 3
    assert report["free_disk_bytes"] > 0
    assert 0.9 <= report["newest_backup_age_hours"] <= 1.1
    assert report["threads"] == 2
    assert report["memory_limit"] in ("512.0 MiB", "512.0MiB", "536.8 MB", "512 MiB")
    text = CliRunner().invoke(main, ["health"])
    assert text.exit_code == 0 and "HEALTHY" in text.output


def test_missing_or_stale_backup_degrades(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=50)
    code, report = _health()
    assert code == 1 and report["status"] == "degraded"
    assert any("No backup" in p for p in report["problems"])
    _backup(warehouse_path, ops_dirs[0], hours_ago=30)
    code, report = _health()
    assert code == 1 and any("recovery-point objective" in p for p in report["problems"])


def test_missing_or_corrupt_database_is_down(warehouse_path, ops_dirs):
    code, report = _health()
    assert code == 2 and report["status"] == "down" and report["exists"] is False
    warehouse_path.write_bytes(b"this is not a duckdb file" * 1000)
    code, report = _health()
    assert code == 2 and report["opens"] is False
    assert any("does not open" in p for p in report["problems"])


def test_low_disk_and_slow_query_thresholds_degrade(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=50)
    _backup(warehouse_path, ops_dirs[0])
    settings, ops = DuckDBSettings.from_env(), OperationsSettings.from_env()
    assert (
        check_health(DuckDBWarehouse.from_settings(settings), ops.backup_root, 24).status
        == "healthy"
    )
    low_disk = check_health(
        DuckDBWarehouse.from_settings(settings), ops.backup_root, 24, min_free_bytes=10**18
    )
    assert low_disk.status == "degraded" and "free beside the database" in low_disk.problems[0]
    slow = check_health(
        DuckDBWarehouse.from_settings(settings), ops.backup_root, 24, max_query_ms=-1
    )
    assert slow.status == "degraded" and "test query took" in slow.problems[0]


def test_database_busy_in_another_process_degrades(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=50)
    _backup(warehouse_path, ops_dirs[0])
    holder = hold_database(warehouse_path)
    try:
        report = check_health(
            DuckDBWarehouse.from_settings(DuckDBSettings.from_env()),
            ops_dirs[0],
            24,
            lock_timeout_seconds=0.5,
        )
    finally:
        holder.kill()
        holder.wait()
    assert report.status == "degraded" and report.exit_code == 1
    assert "busy in another process" in report.problems[0]


def test_warehouse_health_check_passes_warns_and_errors(warehouse_path, ops_dirs, monkeypatch):
    import datetime as dt

    import schedules.warehouse_health as module

    build_warehouse(warehouse_path, rows=50)
    instance = dg.DagsterInstance.ephemeral()
    # A fresh platform: no backup yet, and the first daily backup is not due: information.
    [fresh] = run_job("warehouse_health_job", instance).get_asset_check_evaluations()
    assert fresh.passed, fresh.metadata
    assert "first daily backup is due" in fresh.metadata["information"].value
    # Two days later with still no backup: degraded.
    later = module.utc_now() + dt.timedelta(days=2)
    with monkeypatch.context() as patch:
        patch.setattr(module, "utc_now", lambda: later)
        [degraded] = run_job("warehouse_health_job", instance).get_asset_check_evaluations()
    assert not degraded.passed and degraded.severity == dg.AssetCheckSeverity.WARN
    assert "No backups in" in degraded.metadata["problems"].value
    assert degraded.asset_key == dg.AssetKey(["operations", "warehouse_file"])
    _backup(warehouse_path, ops_dirs[0])
    [healthy] = run_job("warehouse_health_job").get_asset_check_evaluations()
    assert healthy.passed and healthy.metadata["status"].value == "healthy"
    warehouse_path.unlink()
    [down] = run_job("warehouse_health_job").get_asset_check_evaluations()
    assert not down.passed and down.severity == dg.AssetCheckSeverity.ERROR


def test_health_schedule_and_backup_schedules_run_by_default():
    from tests.support.ops import operations_definitions

    defs = operations_definitions()
    expected = {
        "daily_backup_schedule": "daily_backup",
        "weekly_backup_schedule": "weekly_backup",
        "monthly_export_schedule": "monthly_export",
        "warehouse_health_schedule": "warehouse_health_job",
    }
    for name, job in expected.items():
        schedule = defs.resolve_schedule_def(name)
        assert schedule.job_name == job
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        assert schedule.execution_timezone == "UTC"


def test_stats_lists_tables_sizes_and_recent_runs(warehouse_path, ops_dirs, dagster_home):
    build_warehouse(warehouse_path, rows=3000)
    assert run_job("daily_backup", dg.DagsterInstance.get()).success
    result = CliRunner().invoke(main, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["directory.organizations"]["rows"] == 3000
    assert tables["directory.organizations"]["columns"] == 6
    assert tables["directory.organizations"]["estimated_bytes"] > 0
    assert tables["healthsim.patients"]["rows"] == 1500
    [run] = report["runs"]
    assert run["job"] == "daily_backup" and run["status"] == "SUCCESS" and run["seconds"] > 0
    text = CliRunner().invoke(main, ["stats"])
    assert (
        text.exit_code == 0
        and "directory.organizations" in text.output
        and "daily_backup" in text.output
    )


def test_stats_include_the_directory_aggregates_when_loaded(warehouse_path, ops_dirs):
    build_warehouse(warehouse_path, rows=30)
    result = CliRunner().invoke(main, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # organizations exists but the directory's summary view does not: the reason is shown.
    assert report["directory"] is None and "v_organization_summary" in report["directory_error"]
    with duckdb.connect(str(warehouse_path)) as con:  # the view the directory domain builds
        con.execute(
            "CREATE VIEW directory.v_organization_summary AS SELECT state, 'treatment' AS org_type, "
            "count(*) AS organizations, count(*) AS with_coordinates, 0 AS with_phone, "
            "0 AS with_website, 0 AS mat_providers, 0 AS accepts_medicaid "
            "FROM directory.organizations GROUP BY state"
        )
    report = json.loads(CliRunner().invoke(main, ["stats", "--json", "--state", "CA"]).output)
    assert report["directory"] == [
        {
            "state": "CA",
            "org_type": "treatment",
            "organizations": 10,
            "with_coordinates": 10,
            "with_phone": 0,
            "with_website": 0,
            "mat_providers": 0,
            "accepts_medicaid": 0,
        }
    ]
    text = CliRunner().invoke(main, ["stats"])
    assert "Directory by state and type" in text.output


def test_stats_without_a_warehouse_says_so(warehouse_path):
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code != 0 and "No warehouse" in result.output


def test_warehouse_health_reads_its_resources_not_the_environment(tmp_path, ops_dirs):
    """The environment names a missing file and an empty backup folder; the resources name a
    real warehouse with a fresh backup, and the check follows the resources."""
    from schedules.backup_jobs import OperationsResource
    from schedules.warehouse_health import (
        warehouse_file,
        warehouse_health,
        warehouse_health_job,
    )

    real = tmp_path / "elsewhere" / "warehouse.duckdb"
    real.parent.mkdir()
    build_warehouse(real, rows=10)
    backups = tmp_path / "elsewhere" / "backups"
    _backup(real, backups)
    defs = dg.Definitions(
        assets=[warehouse_file],
        asset_checks=[warehouse_health],
        jobs=[warehouse_health_job],
        resources={
            "warehouse": DuckDBWarehouse(database_path=str(real)),
            "operations": OperationsResource(
                backup_dir=str(backups), export_dir=str(tmp_path / "exports"), rpo_hours=24
            ),
        },
    )
    result = defs.resolve_job_def("warehouse_health_job").execute_in_process()
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.metadata
    facts = evaluation.metadata["facts"].value
    assert f"| backup_root | {backups} |" in facts
    # Sizes read as MB/GB, never raw byte counts.
    assert "_bytes" not in facts and (" GB |" in facts or " MB |" in facts)
