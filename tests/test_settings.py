"""The deployment helper and the DuckDB settings: defaults, overrides, errors naming the variable."""

import subprocess
import sys

import duckdb
import pytest

from resources import build_resources, local_warehouse
from resources.deployment import Deployment, PlatformConfigError, current_deployment
from resources.duckdb_settings import DuckDBSettings, parse_size, total_memory_bytes
from tests.support import PROJECT_ROOT


def test_deployment_defaults_to_local():
    assert current_deployment({}) is Deployment.LOCAL
    assert current_deployment({"PLATFORM_DEPLOYMENT": " Databricks "}) is Deployment.DATABRICKS


def test_unknown_deployment_names_valid_values():
    with pytest.raises(PlatformConfigError, match="'local', 'databricks'"):
        current_deployment({"PLATFORM_DEPLOYMENT": "snowflake"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DUCKDB_MEMORY_LIMIT", "lots"),
        ("DUCKDB_WORKER_THREADS", "two"),
        ("DUCKDB_WORKER_THREADS", "0"),
        ("DUCKDB_MAX_MEMORY_PERCENTAGE", "150"),
        ("PARQUET_COMPRESSION", "zip"),
        ("PARQUET_ROW_GROUP_SIZE", "-5"),
    ],
)
def test_malformed_setting_names_the_variable(name, value):
    with pytest.raises(PlatformConfigError, match=name):
        DuckDBSettings.from_env({name: value})


def test_sizes_parse_in_both_unit_systems():
    assert parse_size("X", "4GB") == 4 * 1000**3
    assert parse_size("X", "512MiB") == 512 * 1024**2
    assert parse_size("X", "1.5 gb") == 1_500_000_000


def test_effective_memory_limit_is_the_smaller_of_limit_and_share():
    small = DuckDBSettings.from_env({"DUCKDB_MEMORY_LIMIT": "1GB"})
    assert small.effective_memory_limit_bytes == 1000**3
    huge = DuckDBSettings.from_env(
        {"DUCKDB_MEMORY_LIMIT": "100TB", "DUCKDB_MAX_MEMORY_PERCENTAGE": "50"}
    )
    assert huge.effective_memory_limit_bytes == total_memory_bytes() // 2


def test_settings_reach_the_duckdb_connection(tmp_path):
    env = {
        "DUCKDB_DATABASE_PATH": str(tmp_path / "nested" / "dir" / "w.duckdb"),
        "DUCKDB_MEMORY_LIMIT": "256MiB",
        "DUCKDB_WORKER_THREADS": "1",
        "DUCKDB_TEMP_DIRECTORY": str(tmp_path / "spill"),
    }
    warehouse = local_warehouse(env)
    with warehouse.connect() as con:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('memory_limit', 'threads', 'temp_directory')"
            ).fetchall()
        )
    assert (tmp_path / "nested" / "dir" / "w.duckdb").exists()  # parents created
    assert settings["threads"] == "1"
    assert settings["memory_limit"] in ("256.0 MiB", "268.4 MB")
    assert settings["temp_directory"] == str(tmp_path / "spill")


def test_unavailable_extension_is_reported_not_fatal(tmp_path):
    warehouse = local_warehouse(
        {
            "DUCKDB_DATABASE_PATH": str(tmp_path / "w.duckdb"),
            "DUCKDB_EXTENSIONS": "json,no_such_ext",
        }
    )
    with warehouse.connect() as con:
        status = warehouse.load_extensions(con)
    assert status["json"] == "loaded"
    assert status["no_such_ext"].startswith("unavailable")


def test_databricks_without_connection_names_missing_variables():
    with pytest.raises(PlatformConfigError, match=r"SPARK_REMOTE.*DATABRICKS_HOST"):
        build_resources({"PLATFORM_DEPLOYMENT": "databricks"})
    with pytest.raises(PlatformConfigError, match="DATABRICKS_TOKEN"):
        build_resources({"PLATFORM_DEPLOYMENT": "databricks", "DATABRICKS_HOST": "https://x"})


def test_code_location_fails_at_load_on_bad_setting(monkeypatch):
    """`dagster definitions validate` refuses a malformed variable and names it."""
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "lots")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "narr_platform.definitions",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert bad.returncode != 0
    assert "DUCKDB_MEMORY_LIMIT='lots'" in bad.stdout + bad.stderr


def test_connection_waits_for_a_lock_held_by_another_process(tmp_path):
    """A second process holding the file makes the warehouse wait, then fail clearly."""
    path = tmp_path / "locked.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        warehouse = local_warehouse({"DUCKDB_DATABASE_PATH": str(path)}, lock_timeout_seconds=1.0)
        with pytest.raises(duckdb.IOException, match="lock"), warehouse.connect():
            pass
    finally:
        holder.kill()
        holder.wait()
    with local_warehouse({"DUCKDB_DATABASE_PATH": str(path)}).connect() as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
