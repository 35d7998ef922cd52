"""The ``warehouse_health`` asset check, run hourly by a schedule.

It is attached to ``operations/warehouse_file``: an external asset standing for the DuckDB
file itself (no Dagster step materializes it; every domain's tables live inside it). The
check opens the file read-only, times a test query and looks at free disk and the age of
the newest backup, exactly like ``narr-platform health``. Degraded fails with WARN
severity, down with ERROR.
"""

import dagster as dg

from resources.warehouse import WAREHOUSE_POOL, DuckDBWarehouse, Warehouse
from schedules.backup_jobs import OperationsResource
from schedules.health import DOWN, HEALTHY, check_health

warehouse_file = dg.AssetSpec(
    key=dg.AssetKey(["operations", "warehouse_file"]),
    group_name="operations",
    owners=["team:platform"],
    kinds={"duckdb"},
    description=(
        "The warehouse database file (DUCKDB_DATABASE_PATH) that holds every domain's tables. "
        "Not materialized by a step: it stands for the database so its health can be checked "
        "and shown in the UI."
    ),
)


@dg.asset_check(
    asset=warehouse_file.key,
    name="warehouse_health",
    pool=WAREHOUSE_POOL,
    description=(
        "The database exists and opens, a test query answers quickly, there is free disk beside "
        "it and the newest backup is within the recovery-point objective."
    ),
)
def warehouse_health(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, operations: OperationsResource
) -> dg.AssetCheckResult:
    # Registered in the local deployment only; the guard names the mistake if wired elsewhere.
    if not isinstance(warehouse, DuckDBWarehouse):
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="warehouse_health checks the local DuckDB file; this deployment is "
            f"{warehouse.engine} ({warehouse.describe_target()}).",
        )
    report = check_health(
        warehouse, operations.backup_root, operations.rpo_hours, instance=context.instance
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "status": report.status,
        "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in report.problems) or "none"),
    }
    for key, value in report.facts.items():
        if isinstance(value, bool | int | float | str):
            metadata[key] = value
        elif isinstance(value, list):
            metadata[key] = dg.MetadataValue.md("\n".join(f"- {v}" for v in value) or "none")
    return dg.AssetCheckResult(
        passed=report.status == HEALTHY,
        severity=dg.AssetCheckSeverity.ERROR
        if report.status == DOWN
        else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(report.problems) or "healthy",
    )


warehouse_health_job = dg.define_asset_job(
    name="warehouse_health_job",
    selection=dg.AssetSelection.checks(warehouse_health),
    description="Run the warehouse_health check.",
)

warehouse_health_schedule = dg.ScheduleDefinition(
    name="warehouse_health_schedule",
    job=warehouse_health_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :15.",
)
