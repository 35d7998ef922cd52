"""Operations commands: `backup status|create`, `restore`, `health` and `stats`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from resources.cli_types import FiniteFloatRange
from resources.deployment import PlatformConfigError


def _settings() -> tuple[Any, Any]:
    from resources.duckdb_settings import DuckDBSettings
    from schedules.backup import OperationsSettings

    try:
        return DuckDBSettings.from_env(), OperationsSettings.from_env()
    except PlatformConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _mb(num_bytes: float) -> str:
    return f"{num_bytes / 1e6:,.1f} MB"


@click.group("backup")
def backup_group() -> None:
    """Backups of the local DuckDB warehouse."""


@backup_group.command("status")
@click.option(
    "--rpo-hours",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    help="Recovery-point objective (default BACKUP_RPO_HOURS or 24).",
)
@click.option("--no-verify", is_flag=True, help="Skip recomputing each backup's SHA-256.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def backup_status(rpo_hours: float | None, no_verify: bool, as_json: bool) -> None:
    """List backups with age, size, kind and checksum; exit 1 when the newest is too old,
    any backup is damaged (checksum, missing or unreadable manifest) or there is none.
    Partial files left by a killed backup are listed too (the next backup removes them)."""
    from schedules.backup import inspect_backups, newest_backup_problems, utc_now

    _, ops = _settings()
    rpo = rpo_hours if rpo_hours is not None else ops.rpo_hours
    now = utc_now()
    entries = inspect_backups(ops.backup_root, verify=not no_verify)
    rows = [entry.as_dict(now) for entry in entries]
    problems = newest_backup_problems(entries, rpo, ops.backup_root, now)
    if as_json:
        click.echo(json.dumps({"backups": rows, "rpo_hours": rpo, "problems": problems}, indent=2))
    else:
        click.echo(f"Backups in {ops.backup_root} (RPO {rpo:g} h):")
        for r in rows:
            created = (r["created_at"] or "unknown time")[:19]
            age = "?" if r["age_hours"] is None else f"{r['age_hours']:.1f}"
            note = f"  ({r['problem']})" if r["problem"] else ""
            click.echo(
                f"  {r['kind']:<8} {created:<19}  age {age:>8} h  {_mb(r['size_bytes']):>12}  "
                f"{r['state']:<11} {Path(r['path']).name}{note}"
            )
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        sys.exit(1)


@backup_group.command("create")
@click.option(
    "--kind",
    default="manual",
    show_default=True,
    help="Sub-folder (daily and weekly get retention).",
)
def backup_create(kind: str) -> None:
    """Take a backup now (waits for the database lock like any writer)."""
    from resources import local_warehouse
    from schedules.backup import RETENTION_DAYS, BackupError, apply_retention, create_backup

    db, ops = _settings()
    if db.is_motherduck:
        raise click.ClickException(
            "The warehouse is on MotherDuck (md:); nothing local to back up."
        )
    warehouse = local_warehouse()
    try:
        backup = create_backup(
            warehouse.connect, warehouse.database_path, ops.backup_root, kind, log=click.echo
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if kind in RETENTION_DAYS:
        for path in apply_retention(ops.backup_root, kind, RETENTION_DAYS[kind]):
            click.echo(f"Retention: removed {path.name}")
    click.echo(str(backup.path))


@click.command("restore")
@click.argument("backup")
@click.option(
    "--to",
    "target",
    type=click.Path(path_type=Path),
    default=None,
    help="Database file to replace (default: the live warehouse, DUCKDB_DATABASE_PATH).",
)
@click.option(
    "--lock-timeout",
    type=FiniteFloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for other processes to close the database.",
)
def restore_command(backup: str, target: Path | None, lock_timeout: float) -> None:
    """Verify BACKUP (a .duckdb.zst file, its manifest, or 'latest') and restore it.

    The backup is decompressed beside the target and verified (checksums, opens, every
    table's row count and content equal the manifest) before it atomically replaces the
    target; the previous file is kept as <name>.pre-restore-<timestamp>.
    """
    from schedules.backup import RestoreError, list_backups, restore_backup

    db, ops = _settings()
    if backup == "latest":
        found = list_backups(ops.backup_root)
        if not found:
            raise click.ClickException(f"No backups in {ops.backup_root}.")
        backup_path = found[0].path
    else:
        backup_path = Path(backup)
    if target is None:
        if db.is_motherduck:
            raise click.ClickException("The warehouse is on MotherDuck (md:); give --to PATH.")
        target = Path(db.resolved_database_path())
    try:
        result = restore_backup(
            backup_path, target, lock_timeout_seconds=lock_timeout, log=click.echo
        )
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Restored {len(result.tables)} tables ({sum(result.tables.values()):,} rows) to "
        f"{result.target} in {result.seconds:.1f} s"
    )
    if result.previous:
        click.echo(f"Previous database kept as {result.previous}")


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def health_command(as_json: bool) -> None:
    """Warehouse health; exit code 0 healthy, 1 degraded, 2 down."""
    import contextlib

    from resources.run_recovery import NoInstanceError, open_instance
    from resources.warehouse import DuckDBWarehouse
    from schedules.health import check_health, render_health

    db, ops = _settings()
    with contextlib.ExitStack() as stack:
        try:
            instance = stack.enter_context(open_instance())
        except NoInstanceError:
            instance = None
        report = check_health(
            DuckDBWarehouse.from_settings(db), ops.backup_root, ops.rpo_hours, instance=instance
        )
    if instance is None:
        report.facts["runs"] = "not checked (DAGSTER_HOME is not set)"
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        click.echo(render_health(report))
    sys.exit(report.exit_code)


@click.command("stats")
@click.option("--state", default=None, help="Directory aggregates for one state (USPS code).")
@click.option(
    "--runs",
    "run_limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Recent runs to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats_command(state: str | None, run_limit: int, as_json: bool) -> None:
    """Per-table rows and size, recent run durations, and the directory by state and type."""
    from schedules.stats import collect_stats

    db, _ = _settings()
    if db.is_motherduck:
        raise click.ClickException(
            "stats reads the local warehouse file; the warehouse is on MotherDuck."
        )
    path = db.resolved_database_path()
    if not Path(path).is_file():
        raise click.ClickException(f"No warehouse at {path}; run `make run` first.")
    report = collect_stats(path, state=state, run_limit=run_limit)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    from tabulate import tabulate

    click.echo(f"Warehouse {path}")
    tables = [
        [t["table"], f"{t['rows']:,}", t["columns"], _mb(t["estimated_bytes"])]
        for t in report["tables"]
    ]
    click.echo(
        tabulate(
            tables,
            headers=["table", "rows", "columns", "estimated size"],
            colalign=("left", "right", "right", "right"),
        )
    )
    click.echo("\nRecent runs")
    runs = [
        [
            r["job"],
            r["status"],
            "-" if r["seconds"] is None else f"{r['seconds']:.1f} s",
            r["run_id"][:8],
        ]
        for r in report["runs"]
    ]
    click.echo(
        tabulate(runs, headers=["job", "status", "duration", "run"])
        if runs
        else "  (none recorded)"
    )
    if report["directory_error"]:
        click.echo(f"\nDirectory statistics unavailable: {report['directory_error']}")
    if report["directory"] is not None:
        click.echo("\nDirectory by state and type")
        click.echo(
            tabulate(report["directory"], headers="keys") if report["directory"] else "  (empty)"
        )


@click.group("runs")
def runs_group() -> None:
    """Dagster runs of this instance (DAGSTER_HOME): find and recover dead runs."""


def _instance() -> Any:
    from resources.run_recovery import NoInstanceError, open_instance

    try:
        return open_instance()
    except NoInstanceError as exc:
        raise click.ClickException(str(exc)) from exc


@runs_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_status(as_json: bool) -> None:
    """In-progress runs (alive, dead or unknown) and held pool slots; exit 1 on a dead run."""
    from resources.run_recovery import run_health

    with _instance() as instance:
        facts, problems = run_health(instance)
    if as_json:
        click.echo(json.dumps({**facts, "problems": problems}, indent=2))
    else:
        click.echo(f"runs in progress: {facts['runs_in_progress']}")
        for slot in facts["held_slots"]:  # type: ignore[attr-defined]
            click.echo(f"  slot  {slot}")
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        sys.exit(1)


@runs_group.command("recover")
def runs_recover() -> None:
    """Fail runs whose process is gone and free the pool slots of dead or finished runs.

    A run counts as dead only on evidence: the process recorded in its tags (host, PID, PID
    start time) no longer exists on this host. Runs on other hosts are left alone.
    """
    from resources.run_recovery import recover_dead_runs

    with _instance() as instance:
        report = recover_dead_runs(instance, log=click.echo)
    for unknown in report.unknown:
        click.echo(f"left alone: run {unknown.run_id} ({unknown.job_name}): {unknown.reason}")
    if not report.failed and not report.freed_runs:
        click.echo("No dead runs and no slots held by finished runs.")


#: Attached to `narr-platform` by narr_platform/cli.py.
OPERATIONS_COMMANDS: list[click.Command] = [
    runs_group,
    backup_group,
    restore_command,
    health_command,
    stats_command,
]
