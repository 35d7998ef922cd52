"""Snapshots of the platform's own state: made in Python, stored by the IO manager.

The warehouse's health (what ``narr-platform health`` reports) and its table statistics
(the table part of ``narr-platform stats``) are figures computed in Python, not tables
built by SQL. Each asset returns a small pandas DataFrame and the deployment's IO manager
stores it as ``operations.<asset name>`` (``DuckDBPandasIOManager`` locally, the Spark one
on Databricks), so the latest figures can be queried beside the data they describe, and
every materialization keeps them in the asset's history.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from resources.assets import WarehouseAssets
from resources.warehouse import DuckDBWarehouse, Warehouse
from schedules.backup import utc_now
from schedules.backup_jobs import OperationsResource
from schedules.health import HealthReport, check_health

OPERATIONS = WarehouseAssets(group_name="operations", owners=["team:platform"])

HEALTH_COLUMNS = {
    "checked_at": ("datetime64[us]", "When the health was checked (UTC)."),
    "status": ("string", "healthy, degraded (works, needs an operator) or down."),
    "problems": ("string", "What degrades or downs the warehouse, one per line; empty if none."),
    "database_path": ("string", "The DuckDB file checked."),
    "size_bytes": ("Int64", "Size of the database file in bytes."),
    "free_disk_bytes": ("Int64", "Free disk beside the database file in bytes."),
    "test_query_ms": ("Float64", "Time of the test query in milliseconds."),
    "tables": ("Int64", "Tables in the database."),
    "newest_backup_age_hours": ("Float64", "Age of the newest complete backup in hours."),
}
STATISTICS_COLUMNS = {
    "captured_at": ("datetime64[us]", "When the statistics were read (UTC)."),
    "table_name": ("string", "The table, as schema.table."),
    "row_count": ("Int64", "Rows in the table."),
    "column_count": ("Int64", "Columns of the table."),
}


def _frame(rows: list[dict], columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype({name: dtype for name, (dtype, _) in columns.items()})


def _schema(columns: dict[str, tuple[str, str]]) -> list[dg.TableColumn]:
    kinds = {"datetime64[us]": "timestamp", "string": "string", "Int64": "bigint"}
    return [
        dg.TableColumn(name, kinds.get(dtype, "double"), description=text)
        for name, (dtype, text) in columns.items()
    ]


def health_frame(report: HealthReport, checked_at: dt.datetime) -> pd.DataFrame:
    """The health report as one row (the facts the CLI prints, by name)."""
    row = {name: report.facts.get(name) for name in HEALTH_COLUMNS}
    row |= {
        "checked_at": checked_at.astimezone(dt.UTC).replace(tzinfo=None),
        "status": report.status,
        "problems": "\n".join(report.problems),
        "database_path": report.database_path,
    }
    return _frame([row], HEALTH_COLUMNS)


@OPERATIONS.asset(
    ["operations", "warehouse_health_snapshot"],
    kinds=["pandas"],
    code_version="1",  # no SQL file: raised by hand when the figures change
    column_schema=_schema(HEALTH_COLUMNS),
    description=(
        "The warehouse file's health when last materialized: whether it opens, how fast a "
        "test query answers, free disk, the newest backup's age and what needs an operator. "
        "The same report as `narr-platform health`, kept as a table."
    ),
)
def warehouse_health_snapshot(
    context: dg.AssetExecutionContext, warehouse: Warehouse, operations: OperationsResource
) -> pd.DataFrame:
    if not isinstance(warehouse, DuckDBWarehouse):  # registered in the local deployment only
        raise dg.Failure(f"The health snapshot checks a DuckDB file, not {warehouse.engine}.")
    report = check_health(
        warehouse, operations.backup_root, operations.rpo_hours, instance=context.instance
    )
    context.log.info(f"warehouse {report.status}: {'; '.join(report.problems) or 'no problem'}")
    return health_frame(report, utc_now())


@OPERATIONS.asset(
    ["operations", "table_statistics"],
    kinds=["pandas"],
    code_version="1",
    column_schema=_schema(STATISTICS_COLUMNS),
    description=(
        "Every warehouse table with its row and column counts when last materialized: how "
        "large each published table is, on either deployment (`narr-platform stats` shows "
        "the DuckDB file's sizes on disk too)."
    ),
)
def table_statistics(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    captured_at = utc_now().astimezone(dt.UTC).replace(tzinfo=None)
    with warehouse.session() as session:
        rows = [
            {
                "captured_at": captured_at,
                "table_name": table,
                "row_count": session.row_count(table),
                "column_count": len(session.columns(table)),
            }
            for table, kind in session.list_tables()
            if kind == "table"
        ]
    context.log.info(f"{len(rows)} tables, {sum(r['row_count'] for r in rows):,} rows")
    return _frame(rows, STATISTICS_COLUMNS)
