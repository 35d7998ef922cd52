"""Jobs and schedules that back up and export the warehouse, and publish it to MotherDuck.

Every op touching the warehouse runs in the ``duckdb`` pool, so a backup waits for the
writing step in progress and queued runs wait for the backup: the copy is consistent.
Retention is applied by each job right after it succeeded.
"""

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import duckdb

from resources.errors import explain
from resources.warehouse import WAREHOUSE_POOL, DuckDBWarehouse, Warehouse
from schedules.backup import (
    RETENTION_DAYS,
    BackupError,
    OperationsSettings,
    apply_export_retention,
    apply_retention,
    create_backup,
    utc_now,
)
from schedules.motherduck import motherduck_token, publish_statements, target_database

EXPORT_KEEP_DAYS = 365
MONTHLY_EXPORT_FOLDER = "monthly"


class OperationsResource(dg.ConfigurableResource):
    """Where backups and exports go (PLATFORM_BACKUP_DIR, PLATFORM_EXPORT_DIR) and the
    recovery-point objective in hours (BACKUP_RPO_HOURS).

    Built from the environment once, when the code location loads; jobs and checks read
    this resource, never the environment.
    """

    backup_dir: str
    export_dir: str
    rpo_hours: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "OperationsResource":
        settings = OperationsSettings.from_env(environ)
        return cls(
            backup_dir=str(settings.backup_root),
            export_dir=str(settings.export_root),
            rpo_hours=settings.rpo_hours,
        )

    @property
    def backup_root(self) -> Path:
        return Path(self.backup_dir)

    @property
    def export_root(self) -> Path:
        return Path(self.export_dir)


def require_local_duckdb(warehouse: Warehouse, what: str) -> DuckDBWarehouse:
    """The DuckDB warehouse of the local deployment, or a clear failure naming why not."""
    if not isinstance(warehouse, DuckDBWarehouse):
        raise dg.Failure(
            f"{what} copies the local DuckDB file and only runs in the local deployment "
            f"(this one uses the {warehouse.engine} engine). On Databricks use Delta time "
            "travel and DEEP CLONE for point-in-time copies."
        )
    if warehouse.database_path.startswith("md:"):
        raise dg.Failure(
            f"{what} needs a local warehouse file; {warehouse.database_path} is on MotherDuck."
        )
    return warehouse


def _backup_op(kind: str, keep_days: int) -> dg.OpDefinition:
    @dg.op(
        name=f"backup_warehouse_{kind}",
        pool=WAREHOUSE_POOL,
        description=(
            f"Compressed, checksummed copy of the warehouse file into <backups>/{kind}/ with a "
            f"manifest; then deletes {kind} backups older than {keep_days} days."
        ),
        tags={"kind": "backup"},
        out=dg.Out(dg.Nothing),
    )
    def backup_op(
        context: dg.OpExecutionContext, warehouse: Warehouse, operations: OperationsResource
    ) -> dg.Output:
        duck = require_local_duckdb(warehouse, f"The {kind} backup")
        try:
            backup = create_backup(
                duck.connect,
                duck.database_path,
                operations.backup_root,
                kind,
                log=context.log.info,
            )
        except BackupError as exc:
            raise dg.Failure(str(exc)) from exc
        removed = apply_retention(operations.backup_root, kind, keep_days)
        for path in removed:
            context.log.info(f"Retention ({keep_days} days): removed {path.name}")
        manifest = backup.manifest
        return dg.Output(
            None,
            metadata={
                "backup_file": dg.MetadataValue.path(str(backup.path)),
                "manifest": dg.MetadataValue.path(str(backup.manifest_path)),
                "database_mb": round(manifest["database_size_bytes"] / 1e6, 2),
                "backup_mb": round(manifest["backup_size_bytes"] / 1e6, 2),
                "sha256": manifest["backup_sha256"],
                "tables": len(manifest["tables"]),
                "rows": sum(t["rows"] for t in manifest["tables"].values()),
                "schema_version": str(manifest["schema_version"]),
                "seconds": manifest["seconds"],
                "removed_by_retention": len(removed),
            },
        )

    return backup_op


backup_daily_op = _backup_op("daily", RETENTION_DAYS["daily"])
backup_weekly_op = _backup_op("weekly", RETENTION_DAYS["weekly"])


@dg.job(
    name="daily_backup",
    description="Back up the warehouse into data/backups/daily/ and keep 7 days.",
    tags={"narr/operation": "backup"},
)
def daily_backup() -> None:
    backup_daily_op()


@dg.job(
    name="weekly_backup",
    description="Back up the warehouse into data/backups/weekly/ and keep 30 days.",
    tags={"narr/operation": "backup"},
)
def weekly_backup() -> None:
    backup_weekly_op()


@dg.op(
    pool=WAREHOUSE_POOL,
    description=(
        "Every warehouse table to Parquet (the configured codec, ZSTD by default, and row-group "
        "size) in <exports>/monthly/<date>/<schema>/<table>.parquet; keeps one year."
    ),
    out=dg.Out(dg.Nothing),
)
def export_tables_to_parquet(
    context: dg.OpExecutionContext, warehouse: Warehouse, operations: OperationsResource
) -> dg.Output:
    root = operations.export_root / MONTHLY_EXPORT_FOLDER
    today = utc_now().date()
    final = root / today.isoformat()
    staging = root / f".{today.isoformat()}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    rows: dict[str, int] = {}
    started = time.monotonic()
    try:
        with warehouse.session() as session:
            tables = [name for name, kind in session.list_tables() if kind == "table"]
            context.log.info(f"Exporting {len(tables)} tables to {final}")
            for table in tables:
                schema, _, name = table.rpartition(".")
                path = staging / (schema or "main") / f"{name}.parquet"
                rows[table] = session.copy_to_file(f"SELECT * FROM {table}", path, "parquet")
                context.log.info(f"{table}: {rows[table]} rows")
        manifest = {
            "created_at": utc_now().isoformat(),
            "source": warehouse.describe_target(),
            "compression": getattr(warehouse, "parquet_compression", None),
            "row_group_size": getattr(warehouse, "parquet_row_group_size", None),
            "tables": rows,
        }
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if final.exists():  # a rerun the same day replaces that day's export
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    removed = apply_export_retention(root, EXPORT_KEEP_DAYS, today)
    for path in removed:
        context.log.info(f"Retention ({EXPORT_KEEP_DAYS} days): removed export {path.name}")
    size = sum(p.stat().st_size for p in final.rglob("*.parquet"))
    return dg.Output(
        None,
        metadata={
            "folder": dg.MetadataValue.path(str(final)),
            "tables": len(rows),
            "rows": sum(rows.values()),
            "parquet_mb": round(size / 1e6, 2),
            "seconds": round(time.monotonic() - started, 2),
            "removed_by_retention": len(removed),
        },
    )


@dg.job(
    name="monthly_export",
    description="Every table to Parquet in data/exports/monthly/<date>/; keeps one year.",
    tags={"narr/operation": "export"},
)
def monthly_export() -> None:
    export_tables_to_parquet()


class PublishConfig(dg.Config):
    database: str | None = None  # default: MOTHERDUCK_DATABASE or narr_platform


@dg.op(
    pool=WAREHOUSE_POOL,
    description="Upload the local warehouse file to MotherDuck (CREATE OR REPLACE DATABASE ... FROM).",
    out=dg.Out(dg.Nothing),
)
def publish_warehouse_to_motherduck(
    context: dg.OpExecutionContext, config: PublishConfig, warehouse: Warehouse
) -> dg.Output:
    duck = require_local_duckdb(warehouse, "Publishing to MotherDuck")
    try:
        token = motherduck_token()
        database = target_database(name=config.database)
    except ValueError as exc:
        raise dg.Failure(str(exc)) from exc
    with duck.connect() as local:  # fold the WAL into the file MotherDuck uploads
        local.execute("CHECKPOINT")
    started = time.monotonic()
    connection = None
    try:
        # Offline, DuckDB cannot load the motherduck extension and refuses the token
        # setting ("options were not recognized"): say MotherDuck is unreachable instead.
        connection = duckdb.connect(":memory:", config={"motherduck_token": token})
        for statement in publish_statements(duck.database_path, database):
            context.log.info(statement)
            connection.execute(statement)
    except duckdb.Error as exc:
        raise dg.Failure(
            f"Publishing to MotherDuck database {database} failed: {explain(exc)}"
        ) from exc
    finally:
        if connection is not None:
            connection.close()
    return dg.Output(
        None,
        metadata={"database": f"md:{database}", "seconds": round(time.monotonic() - started, 2)},
    )


@dg.job(
    name="publish_to_motherduck",
    description="Copy the local warehouse to MotherDuck (needs MOTHERDUCK_TOKEN and network).",
    tags={"narr/operation": "publish"},
)
def publish_to_motherduck() -> None:
    publish_warehouse_to_motherduck()


def _schedule(job: dg.JobDefinition, cron: str, description: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )


#: Copies of the DuckDB file (backups, MotherDuck): only the local deployment has one.
DUCKDB_FILE_JOBS = [daily_backup, weekly_backup, publish_to_motherduck]
#: The Parquet export reads tables through the warehouse: it runs on either engine.
EXPORT_JOBS = [monthly_export]


def duckdb_file_schedules(operations: OperationsResource) -> list[dg.ScheduleDefinition]:
    """The backup schedules, described with the folders this code location resolved."""
    root = operations.backup_root
    return [
        _schedule(
            daily_backup,
            "30 2 * * *",
            f"Every day at 02:30 UTC: runs daily_backup, a compressed, checksummed copy of the "
            f"warehouse file into {root / 'daily'}/, then deletes daily backups older than "
            f"{RETENTION_DAYS['daily']} days (the newest is always kept).",
        ),
        _schedule(
            weekly_backup,
            "30 3 * * 0",
            f"Sundays at 03:30 UTC: runs weekly_backup into {root / 'weekly'}/, then deletes "
            f"weekly backups older than {RETENTION_DAYS['weekly']} days (the newest is always "
            "kept).",
        ),
    ]


def export_schedules(operations: OperationsResource) -> list[dg.ScheduleDefinition]:
    """The export schedule, described with the folder this code location resolved."""
    folder = operations.export_root / MONTHLY_EXPORT_FOLDER
    return [
        _schedule(
            monthly_export,
            "30 4 1 * *",
            f"The 1st of each month at 04:30 UTC: runs monthly_export, every warehouse table "
            f"to Parquet in {folder}/<date>/<schema>/<table>.parquet, then deletes exports "
            "older than one year.",
        )
    ]
