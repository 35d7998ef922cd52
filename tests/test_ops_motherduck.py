"""MotherDuck publishing: the SQL it would run and the errors before any network call."""

import pytest

from resources.deployment import PlatformConfigError
from schedules.motherduck import motherduck_token, publish_statements, target_database
from tests.support.ops import build_warehouse, run_job, use_private_ops_dirs


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


def test_publish_sql_attaches_motherduck_and_uploads_the_file(tmp_path):
    path = tmp_path / "it's" / "warehouse.duckdb"
    assert publish_statements(path, "narr_prod") == [
        "ATTACH 'md:'",
        f"CREATE OR REPLACE DATABASE narr_prod FROM '{str(path).replace(chr(39), chr(39) * 2)}'",
    ]


def test_database_name_comes_from_config_or_environment(monkeypatch):
    assert target_database({}) == "narr_platform"
    assert target_database({"MOTHERDUCK_DATABASE": "analytics"}) == "analytics"
    assert target_database({"MOTHERDUCK_DATABASE": "analytics"}, name="other") == "other"
    with pytest.raises(PlatformConfigError, match="MOTHERDUCK_DATABASE"):
        target_database({"MOTHERDUCK_DATABASE": "x; DROP DATABASE y"})


def test_missing_token_names_the_variable():
    with pytest.raises(PlatformConfigError, match="MOTHERDUCK_TOKEN is not set"):
        motherduck_token({})
    assert motherduck_token({"MOTHERDUCK_TOKEN": " abc "}) == "abc"


def test_publish_job_fails_without_token_before_any_network_call(warehouse_path):
    build_warehouse(warehouse_path, rows=10)
    result = run_job("publish_to_motherduck")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "MOTHERDUCK_TOKEN is not set" in str(failure.event_specific_data.error)


def test_publish_job_refuses_a_warehouse_already_on_motherduck(monkeypatch):
    monkeypatch.setenv("DUCKDB_DATABASE_PATH", "md:narr")
    monkeypatch.setenv("MOTHERDUCK_TOKEN", "token")
    result = run_job("publish_to_motherduck")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "is on MotherDuck" in str(failure.event_specific_data.error)


def test_publish_job_offline_says_motherduck_is_unreachable(warehouse_path, monkeypatch):
    """Offline, DuckDB refuses the token option ("options were not recognized"): the step
    fails with one line saying MotherDuck is unreachable instead of DuckDB's raw error."""
    build_warehouse(warehouse_path, rows=10)
    monkeypatch.setenv("MOTHERDUCK_TOKEN", "token")
    result = run_job("publish_to_motherduck")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "MotherDuck is unreachable" in message, message
