"""Helpers for the operations tests (tests/test_ops_*.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

# A process that opens the database read-write (taking DuckDB's file lock) until killed.
HOLDER_SCRIPT = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "time.sleep(120)\n"
)


def operations_definitions() -> dg.Definitions:
    """The operations jobs, the reference domain (states) and its sensors, with resources.

    Built from these two domains only, so the operations tests do not depend on every
    other domain of the code location loading.
    """
    import reference_assets.definitions
    import schedules.definitions
    from resources import build_resources, current_deployment
    from schedules.landing_sensors import landing_sensor_definitions

    return dg.Definitions.merge(
        reference_assets.definitions.defs,
        schedules.definitions.definitions(current_deployment()),
        landing_sensor_definitions([reference_assets.definitions.LANDING_SOURCES]),
        dg.Definitions(resources=build_resources()),
    )


def run_job(name: str, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    job = operations_definitions().resolve_job_def(name)
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def build_warehouse(path: Path, rows: int = 5_000) -> None:
    """A small warehouse with several schemas, types and a schema_version table."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS directory")
        con.execute("CREATE SCHEMA IF NOT EXISTS healthsim")
        con.execute(
            "CREATE OR REPLACE TABLE directory.organizations AS SELECT range AS id, "
            "'org ' || range AS name, ['CA', 'TX', 'NY'][range % 3 + 1] AS state, "
            "DATE '2024-01-01' + (range % 365)::INTEGER AS opened, range / 7.0 AS score, "
            "{'beds': range % 40, 'tags': ['a', 'b']} AS details "
            f"FROM range({rows})"
        )
        con.execute(
            "CREATE OR REPLACE TABLE healthsim.patients AS SELECT range AS patient_id, "
            f"md5(range::VARCHAR) AS mrn FROM range({rows // 2})"
        )
        con.execute(
            "CREATE OR REPLACE TABLE healthsim.schema_version AS "
            "SELECT * FROM (VALUES (1, TIMESTAMP '2026-01-01'), (3, TIMESTAMP '2026-06-01')) "
            "AS t(version, applied_at)"
        )
        con.execute(
            "CREATE OR REPLACE VIEW directory.ca AS SELECT * FROM directory.organizations WHERE state = 'CA'"
        )


def table_contents(path: Path) -> dict[str, list[tuple]]:
    """Every base table's rows, sorted, for comparing whole databases."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1"
            ).fetchall()
        ]
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def hold_database(path: Path) -> subprocess.Popen:
    """Start a process holding ``path`` open; returns once it has the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "locked", f"holder process did not take the lock: {line!r}"
    return proc


def use_private_ops_dirs(platform_env: Path, monkeypatch) -> tuple[Path, Path]:
    """Point backups and exports at tmp_path (never the project's data/); the rest of the
    environment is already cleared by ``platform_env``."""
    backups, exports = platform_env / "backups", platform_env / "exports"
    monkeypatch.setenv("PLATFORM_BACKUP_DIR", str(backups))
    monkeypatch.setenv("PLATFORM_EXPORT_DIR", str(exports))
    return backups, exports
