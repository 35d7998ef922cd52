"""`narr-platform stats`: table sizes, recent run durations and the directory's aggregates."""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Any

import dagster as dg
import duckdb

from resources.backup import base_tables, quote_table


def table_stats(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Row count and estimated on-disk size (blocks used x block size) of every table."""
    block_size = int(
        connection.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    )  # type: ignore[index]
    stats = []
    for table in base_tables(connection):
        rows = int(connection.execute(f"SELECT count(*) FROM {quote_table(table)}").fetchone()[0])  # type: ignore[index]
        blocks = connection.execute(
            "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE block_id >= 0",
            [table],
        ).fetchone()[0]  # type: ignore[index]
        columns = int(
            connection.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name || '.' || table_name = ?",
                [table],
            ).fetchone()[0]  # type: ignore[index]
        )
        stats.append(
            {
                "table": table,
                "rows": rows,
                "columns": columns,
                "estimated_bytes": int(blocks or 0) * block_size,
            }
        )
    return stats


def recent_runs(instance: dg.DagsterInstance, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs with status and duration in seconds (None while running)."""
    runs = []
    for record in instance.get_run_records(limit=limit):
        run = record.dagster_run
        duration = (
            round(record.end_time - record.start_time, 2)
            if record.start_time is not None and record.end_time is not None
            else None
        )
        runs.append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "status": run.status.value,
                "started": record.start_time,
                "seconds": duration,
            }
        )
    return runs


def directory_aggregates(
    warehouse: Any, state: str | None = None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The directory's ``directory_stats`` (by state and type) when it is loaded.

    Returns ``(rows, None)``, ``(None, None)`` when the directory module or its
    ``directory.organizations`` table does not exist, or ``(None, reason)`` when the call fails
    (e.g. a partially loaded directory): the rest of `stats` is still printed.
    """
    try:
        queries = importlib.import_module("narr_platform.directory.queries")
    except ImportError:
        return None, None
    directory_stats = getattr(queries, "directory_stats", None)
    if directory_stats is None or not warehouse.table_exists("directory.organizations"):
        return None, None
    try:
        return list(directory_stats(warehouse, state=state)), None
    except Exception as exc:  # a half-loaded directory must not hide the other statistics
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def collect_stats(
    database_path: str, state: str | None = None, run_limit: int = 20
) -> dict[str, Any]:
    """Everything `narr-platform stats` prints, as one dict (also its --json output)."""
    from resources import local_warehouse

    report: dict[str, Any] = {"database_path": database_path}
    connection = duckdb.connect(database_path, read_only=True)
    try:
        report["tables"] = table_stats(connection)
        size = connection.execute("SELECT * FROM pragma_database_size()").df()
        report["database_size"] = size.iloc[0].astype(str).to_dict() if len(size) else {}
    finally:
        connection.close()
    report["runs"] = []
    if os.environ.get("DAGSTER_HOME"):  # runs are recorded in the instance at DAGSTER_HOME
        with (
            contextlib.suppress(dg.DagsterInvariantViolationError),
            dg.DagsterInstance.get() as instance,
        ):
            report["runs"] = recent_runs(instance, run_limit)
    report["directory"], report["directory_error"] = directory_aggregates(
        local_warehouse(read_only=True), state
    )
    return report
