"""The health and table-statistics snapshots, stored and read back by the real IO manager."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from resources import build_resources
from resources.warehouse import DuckDBWarehouse
from schedules.backup_jobs import OperationsResource
from schedules.health import check_health
from schedules.snapshots import table_statistics, warehouse_health_snapshot
from tests.support.ops import build_warehouse, use_private_ops_dirs

pytest_plugins = ["tests.support.spark_server"]


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


@dg.asset(key=["checks", "health_seen"], ins={"health": dg.AssetIn(warehouse_health_snapshot.key)})
def health_seen(health: pd.DataFrame) -> pd.DataFrame:
    """What a downstream asset receives from the IO manager."""
    return pd.DataFrame({"status": health["status"], "problems": health["problems"]})


@dg.asset(key=["checks", "rows_seen"], ins={"stats": dg.AssetIn(table_statistics.key)})
def rows_seen(stats: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"tables": [len(stats)], "rows": [int(stats["row_count"].sum())]})


def _resources() -> dict:
    return {**build_resources(), "operations": OperationsResource.from_env()}


def test_health_snapshot_is_stored_and_read_back(warehouse_path):
    build_warehouse(warehouse_path, rows=50)  # no backup yet: degraded
    result = dg.materialize([warehouse_health_snapshot, health_seen], resources=_resources())
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        stored = con.execute(
            "SELECT status, problems, database_path, tables, size_bytes, free_disk_bytes, "
            "test_query_ms, newest_backup_age_hours, checked_at "
            "FROM operations.warehouse_health_snapshot"
        ).fetchall()
        seen = con.execute("SELECT status, problems FROM checks.health_seen").fetchall()
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'warehouse_health_snapshot'"
            ).fetchall()
        )
    [(status, problems, path, tables, size, free, query_ms, backup_age, checked_at)] = stored
    assert status == "degraded" and "No backup" in problems
    assert path == str(warehouse_path) and tables == 3
    assert size > 0 and free > 0 and query_ms >= 0 and backup_age is None
    assert checked_at is not None
    assert seen == [(status, problems)]
    assert types["checked_at"].startswith("TIMESTAMP") and types["size_bytes"] == "BIGINT"
    warehouse = DuckDBWarehouse(database_path=str(warehouse_path))
    report = check_health(warehouse, OperationsResource.from_env().backup_root, 24)
    assert report.status == status and "\n".join(report.problems) == problems


def test_table_statistics_count_every_table_and_read_back(warehouse_path):
    build_warehouse(warehouse_path, rows=200)
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        expected = sorted(
            (
                f"{schema}.{table}",
                con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0],
                con.execute(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, table],
                ).fetchone()[0],
            )
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        )
    result = dg.materialize([table_statistics, rows_seen], resources=_resources())
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        stored = con.execute(
            "SELECT table_name, row_count, column_count FROM operations.table_statistics "
            "ORDER BY table_name"
        ).fetchall()
        seen = con.execute("SELECT tables, rows FROM checks.rows_seen").fetchall()
    assert stored == expected and len(stored) == 3
    assert ("directory.organizations", 200, 6) in stored
    assert seen == [(3, sum(rows for _, rows, _ in expected))]


@pytest.mark.spark
def test_table_statistics_go_through_the_spark_io_manager(spark_env):
    """On Databricks the same asset is stored by the Spark IO manager and read back."""
    resources = build_resources()
    with resources["warehouse"].session() as session:
        session.create_table_as(
            "demo.letters", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(n, s)"
        )
    result = dg.materialize([table_statistics, rows_seen], resources=resources)
    assert result.success
    with resources["warehouse"].session() as session:
        stored = session.fetch_rows(
            "SELECT table_name, row_count, column_count FROM operations.table_statistics"
        )
        seen = session.fetch_rows("SELECT tables, rows FROM checks.rows_seen")
        types = dict(session.columns("operations.table_statistics"))
    assert stored == [("demo.letters", 3, 2)]
    assert seen == [(1, 3)]
    assert types["captured_at"] == "timestamp_ntz" and types["row_count"] == "bigint"
