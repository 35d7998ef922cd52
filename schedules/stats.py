"""`narr-platform stats`: table sizes, recent run durations and the directory's aggregates."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from schedules.backup import base_tables, quote_table


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


#: The directory's organizations and its published summary view (asset keys
#: ``directory/organizations`` and ``directory/v_organization_summary``).
DIRECTORY_TABLE = "directory.organizations"
DIRECTORY_SUMMARY_VIEW = "directory.v_organization_summary"
DIRECTORY_SUMMARY_COLUMNS = (
    "state, org_type, organizations, with_coordinates, with_phone, with_website, "
    "mat_providers, accepts_medicaid"
)


def directory_aggregates(
    warehouse: Any, state: str | None = None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The directory by state and type, read from its published summary view.

    Returns ``(rows, None)``, ``(None, None)`` when the directory was never materialized, or
    ``(None, reason)`` when the read fails (e.g. a partially loaded directory): the rest of
    `stats` is still printed.
    """
    if not warehouse.table_exists(DIRECTORY_TABLE):
        return None, None
    usps = state.strip().upper() if state else None
    sql = f"""
        SELECT {DIRECTORY_SUMMARY_COLUMNS}
        FROM {DIRECTORY_SUMMARY_VIEW}
        WHERE $state IS NULL OR state = $state
        ORDER BY state, org_type
    """
    try:
        frame = warehouse.fetch_df(sql, {"state": usps})
    except Exception as exc:  # a half-loaded directory must not hide the other statistics
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return [
        {k: (v if k in ("state", "org_type") else int(v)) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ], None


def collect_stats(
    database_path: str, state: str | None = None, run_limit: int = 20
) -> dict[str, Any]:
    """Everything `narr-platform stats` prints, as one dict (also its --json output)."""
    from resources import local_warehouse
    from resources.run_recovery import NoInstanceError, open_instance

    report: dict[str, Any] = {"database_path": database_path}
    # One read-only session for every figure: like search, it waits for a writer within
    # DUCKDB_LOCK_TIMEOUT, then fails with one line (WarehouseBusyError).
    warehouse = local_warehouse(read_only=True, database_path=database_path)
    with warehouse.session() as session:
        connection = session.connection
        report["tables"] = table_stats(connection)
        size = connection.execute("SELECT * FROM pragma_database_size()").df()
        report["database_size"] = size.iloc[0].astype(str).to_dict() if len(size) else {}
        report["directory"], report["directory_error"] = directory_aggregates(session, state)
    report["runs"] = []
    try:  # runs are recorded in the instance at DAGSTER_HOME
        instance = open_instance()
    except NoInstanceError:
        return report
    with instance:
        report["runs"] = recent_runs(instance, run_limit)
    return report
