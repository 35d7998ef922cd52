"""Helpers shared by the tests (no tests here): paths, the platform environment, the code
location's Definitions and sample data. Domain helpers live beside this module
(``healthsim``, ``reference``, ``ops``), as do the Spark Connect server plugin
(``spark_server``) and the test-only code location (``concurrency_location``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
SHIPPED_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"

#: Every environment variable that changes what the platform does: cleared for each test so
#: a developer's shell (or another test) never leaks into it.
PLATFORM_ENV_VARS = (
    "PLATFORM_DEPLOYMENT",
    "PLATFORM_LANDING_DIR",
    "PLATFORM_BACKUP_DIR",
    "PLATFORM_EXPORT_DIR",
    "PLATFORM_VIEWS_DIR",
    "PLATFORM_AUTOMATION",
    "BACKUP_RPO_HOURS",
    "FHIR_EXPORT_DIR",
    "NARR_ACCEPT_ROW_COUNT_DROP",
    "DUCKDB_DATABASE_PATH",
    "DUCKDB_MEMORY_LIMIT",
    "DUCKDB_WORKER_THREADS",
    "DUCKDB_TEMP_DIRECTORY",
    "DUCKDB_MAX_MEMORY_PERCENTAGE",
    "DUCKDB_EXTENSIONS",
    "PARQUET_COMPRESSION",
    "PARQUET_ROW_GROUP_SIZE",
    "SPARK_REMOTE",
    "SPARK_SCHEMA_PREFIX",
    "SPARK_SCHEMA_MAP",
    "SPARK_CATALOG",
    "SPARK_TABLE_FORMAT",
    "SPARK_WAREHOUSE_DIR",
    "SPARK_MASTER",
    "SPARK_DRIVER_MEMORY",
    "DATABRICKS_HOST",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_CLUSTER_ID",
    "DATABRICKS_SERVERLESS",
    "DATABRICKS_LANDING_VOLUME",
    "MOTHERDUCK_TOKEN",
    "motherduck_token",
    "MOTHERDUCK_DATABASE",
    "DIRECTORY_SNAPSHOT_DIR",
    "NARR_API_TOKEN",
    "DAGSTER_HOME",
)


def isolate_platform_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Clear every platform setting; the local deployment on a warehouse file and landing
    folder under ``root``. The one place a test's environment is set up (the autouse
    ``platform_env`` fixture, and module fixtures through ``pytest.MonkeyPatch.context()``)."""
    for name in PLATFORM_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUCKDB_DATABASE_PATH", str(root / "warehouse.duckdb"))
    monkeypatch.setenv("PLATFORM_LANDING_DIR", str(root / "landing"))
    return root


def load_definitions() -> dg.Definitions:
    """The code location's Definitions, built now from the current environment."""
    from narr_platform.definitions import defs

    return defs()


def generate_sample(landing: Path, *sources: str, **options: object) -> dict[str, list[Path]]:
    """Write sample sources (all by default) into ``landing``."""
    from narr_platform import sample_data

    request = sample_data.SampleDataRequest(out=landing, **options)  # type: ignore[arg-type]
    return sample_data.generate(request, tuple(sources))
