"""Health of the local DuckDB warehouse: one report used by the CLI and the asset check.

Status is ``healthy`` (exit code 0), ``degraded`` (1: it works but something needs an
operator: slow test query, little free disk, a stale or missing backup, the file busy in
another process) or ``down`` (2: the file is missing or does not open).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from resources.warehouse import DuckDBWarehouse
from schedules.backup import inspect_backups, newest_backup_problems, utc_now

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, DOWN: 2}

#: A test query slower than this degrades health.
DEFAULT_MAX_QUERY_MS = 2_000.0
#: Free disk beside the database below this degrades health (and below the file size).
DEFAULT_MIN_FREE_BYTES = 1_000_000_000
TEST_QUERY = "SELECT count(*) FROM duckdb_tables()"


@dataclasses.dataclass
class HealthReport:
    status: str
    database_path: str
    problems: list[str] = dataclasses.field(default_factory=list)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "database_path": self.database_path,
            "problems": self.problems,
            **self.facts,
        }

    def degrade(self, problem: str) -> None:
        self.problems.append(problem)
        if self.status == HEALTHY:
            self.status = DEGRADED


def _open_read_only(
    path: str, config: dict[str, Any], timeout_seconds: float
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            return duckdb.connect(path, read_only=True, config=config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _explain(exc: BaseException) -> str:
    from resources.errors import explain

    return explain(exc) or str(exc).splitlines()[0]


def check_health(
    warehouse: DuckDBWarehouse,
    backup_root: Path,
    rpo_hours: float,
    now: dt.datetime | None = None,
    max_query_ms: float = DEFAULT_MAX_QUERY_MS,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    lock_timeout_seconds: float = 5.0,
    instance: dg.DagsterInstance | None = None,
) -> HealthReport:
    """Open the warehouse read-only, time a test query and look at disk and backups.

    With ``instance``, also report in-progress runs, runs whose process is gone and held
    pool slots (``resources/run_recovery.py``): a dead run or a slot held by a finished run
    degrades health.
    """
    now = now or utc_now()
    path = warehouse.database_path
    report = HealthReport(status=HEALTHY, database_path=path)
    config: dict[str, Any] = {}
    if warehouse.threads:
        config["threads"] = warehouse.threads
    if warehouse.memory_limit:
        config["memory_limit"] = warehouse.memory_limit
    is_file = not path.startswith("md:")
    if is_file:
        file = Path(path)
        report.facts["exists"] = file.is_file()
        if not file.is_file():
            report.status = DOWN
            report.problems.append(f"No database file at {file}.")
            return report
        size = file.stat().st_size
        wal = file.with_name(file.name + ".wal")
        report.facts["size_bytes"] = size
        report.facts["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
        free = shutil.disk_usage(file.parent).free
        report.facts["free_disk_bytes"] = free
        if free < max(min_free_bytes, size):
            report.degrade(
                f"Only {free / 1e9:.2f} GB free beside the database ({size / 1e9:.2f} GB); "
                "backups and checkpoints need room."
            )
    try:
        started = time.perf_counter()
        connection = _open_read_only(path, config, lock_timeout_seconds)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            report.facts["opens"] = None
            report.degrade(f"The database is busy in another process: {str(exc).splitlines()[0]}")
        else:
            report.status = DOWN
            report.facts["opens"] = False
            report.problems.append(f"The database does not open: {_explain(exc)}")
    except duckdb.Error as exc:
        report.status = DOWN
        report.facts["opens"] = False
        report.problems.append(f"The database does not open: {_explain(exc)}")
    else:
        try:
            opened_ms = (time.perf_counter() - started) * 1000
            query_started = time.perf_counter()
            tables = connection.execute(TEST_QUERY).fetchone()[0]  # type: ignore[index]
            query_ms = (time.perf_counter() - query_started) * 1000
            memory_limit, threads = connection.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')"
            ).fetchone()  # type: ignore[misc]
        finally:
            connection.close()
        report.facts.update(
            opens=True,
            open_ms=round(opened_ms, 2),
            test_query=TEST_QUERY,
            test_query_ms=round(query_ms, 2),
            tables=int(tables),
            memory_limit=str(memory_limit),
            threads=int(threads),
        )
        if query_ms > max_query_ms:
            report.degrade(f"The test query took {query_ms:.0f} ms (limit {max_query_ms:.0f} ms).")
    # The same verification as `backup status` (schedules/backup.py: inspect_backups).
    entries = inspect_backups(backup_root)
    complete = [e for e in entries if e.state != "partial"]
    report.facts["backup_root"] = str(backup_root)
    report.facts["rpo_hours"] = rpo_hours
    report.facts["newest_backup"] = str(complete[0].path) if complete else None
    report.facts["newest_backup_state"] = complete[0].state if complete else None
    report.facts["newest_backup_age_hours"] = (
        round((now - complete[0].created_at).total_seconds() / 3600, 2)
        if complete and complete[0].created_at is not None
        else None
    )
    report.facts["partial_backup_files"] = [str(e.path) for e in entries if e.state == "partial"]
    for problem in newest_backup_problems(entries, rpo_hours, backup_root, now):
        report.degrade(problem)
    if instance is not None:
        from resources.run_recovery import run_health

        facts, problems = run_health(instance)
        report.facts.update(facts)
        for problem in problems:
            report.degrade(problem)
    return report


def render_health(report: HealthReport) -> str:
    lines = [f"warehouse: {report.status.upper()}  ({report.database_path})"]
    for key, value in report.facts.items():
        if key.endswith("_bytes") and isinstance(value, int):
            value = f"{value / 1e6:,.1f} MB"
        lines.append(f"  {key:<24} {value}")
    lines.extend(f"  problem: {p}" for p in report.problems)
    return "\n".join(lines)
