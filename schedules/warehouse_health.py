"""The ``warehouse_health`` asset check, run hourly by a schedule.

It is attached to ``operations/warehouse_file``: an external asset standing for the DuckDB
file itself (no Dagster step materializes it; every domain's tables live inside it). The
check opens the file read-only, times a test query and looks at free disk and the age of
the newest backup, exactly like ``narr-platform health``. Degraded fails with WARN
severity, down with ERROR.
"""

import datetime as dt

import dagster as dg

from resources.warehouse import WAREHOUSE_POOL, DuckDBWarehouse, Warehouse
from schedules.backup import utc_now
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
    problems = list(report.problems)
    notes: list[str] = []
    first_due = first_backup_due(context.instance)
    no_backup = report.facts.get("newest_backup") is None
    if no_backup and first_due is not None and utc_now() < first_due:
        # A fresh platform (make run): no scheduled backup has had its turn yet.
        problems = [p for p in problems if not p.startswith(("No backup in", "No backups in"))]
        notes.append(
            f"No backup yet; the first daily backup is due {first_due:%Y-%m-%d %H:%M} UTC "
            "(daily_backup_schedule)."
        )
    status = report.status
    if report.status != DOWN and not problems:
        status = HEALTHY
    metadata: dict[str, dg.RawMetadataValue] = {
        "status": status,
        "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
        "facts": dg.MetadataValue.md(facts_table(report.facts)),
    }
    if notes:
        metadata["information"] = dg.MetadataValue.md("\n".join(f"- {n}" for n in notes))
    return dg.AssetCheckResult(
        passed=status == HEALTHY,
        severity=dg.AssetCheckSeverity.ERROR if status == DOWN else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(problems) or ("healthy. " + " ".join(notes)).strip(),
    )


#: When the daily backup runs (daily_backup_schedule), for "is the first backup due yet?".
DAILY_BACKUP_HOUR_MINUTE = (2, 30)


def first_backup_due(instance: dg.DagsterInstance) -> dt.datetime | None:
    """The first daily backup time after the platform's first run (``make run``).

    ``None`` when the instance has no run at all. Until then a missing backup is information,
    not a problem; afterwards it degrades health as usual.
    """
    oldest = instance.get_runs(limit=1, ascending=True)
    if not oldest:
        return None
    record = instance.get_run_record_by_id(oldest[0].run_id)
    started = record.create_timestamp if record else None
    if started is None:
        return None
    started = started.astimezone(dt.UTC)
    hour, minute = DAILY_BACKUP_HOUR_MINUTE
    due = started.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= started:
        due += dt.timedelta(days=1)
    return due


def _readable(key: str, value: object) -> tuple[str, str]:
    """A fact as (label, text): sizes in MB/GB instead of bytes, empty values as a dash."""
    if key.endswith("_bytes") and isinstance(value, int | float) and not isinstance(value, bool):
        return key.removesuffix("_bytes"), human_size(float(value))
    if value is None or value == "":
        return key, "-"
    if isinstance(value, list):
        return key, ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return key, "yes" if value else "no"
    return key, str(value)


def human_size(size: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disks are sold)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def facts_table(facts: dict[str, object]) -> str:
    """The health facts as one Markdown table (no plots of values that never change)."""
    rows = [_readable(k, v) for k, v in facts.items()]
    return "| fact | value |\n| --- | --- |\n" + "\n".join(
        f"| {k} | {v.replace('|', '/')} |" for k, v in rows
    )


warehouse_health_job = dg.define_asset_job(
    name="warehouse_health_job",
    selection=dg.AssetSelection.checks(warehouse_health),
    description="Runs the warehouse_health check on operations/warehouse_file (the DuckDB "
    "file: opens, answers, free disk, newest backup within the recovery-point objective).",
)

warehouse_health_schedule = dg.ScheduleDefinition(
    name="warehouse_health_schedule",
    job=warehouse_health_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Runs the warehouse_health check on operations/warehouse_file every hour at :15 UTC: "
        "the database file opens and answers, free disk, and the newest backup in "
        "PLATFORM_BACKUP_DIR (data/backups) within BACKUP_RPO_HOURS (24). Check results are "
        "kept with the run history."
    ),
)
