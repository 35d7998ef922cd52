"""The shared asset helper (resources/assets.py): pool, owners, kinds that follow the
deployment, a code version that follows the SQL, and what it passes through."""

import dagster as dg
import pytest

from resources import WAREHOUSE_POOL
from resources.assets import (
    COLUMN_SCHEMA_KEY,
    WarehouseAssets,
    sql_code_version,
    warehouse_asset,
    with_engine_kinds,
)
from resources.deployment import Deployment
from resources.sql_files import load_sql
from tests.support import load_definitions

ENGINE_KINDS = {"duckdb", "databricks", "spark"}


def _warehouse_specs(defs: dg.Definitions) -> list[dg.AssetSpec]:
    graph = defs.resolve_asset_graph()
    return [
        spec for spec in defs.resolve_all_asset_specs() if graph.get(spec.key).is_materializable
    ]


def test_local_deployment_labels_every_warehouse_asset_duckdb():
    specs = _warehouse_specs(load_definitions())
    assert len(specs) > 40
    wrong = [s.key.to_user_string() for s in specs if s.kinds & ENGINE_KINDS != {"duckdb"}]
    assert not wrong


def test_databricks_deployment_labels_every_warehouse_asset_databricks(monkeypatch):
    # Building the Spark warehouse resource reads its settings only; nothing connects.
    monkeypatch.setenv("PLATFORM_DEPLOYMENT", "databricks")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    specs = _warehouse_specs(load_definitions())
    assert len(specs) > 40
    wrong = [
        s.key.to_user_string() for s in specs if s.kinds & ENGINE_KINDS != {"databricks", "spark"}
    ]
    assert not wrong


def test_every_warehouse_asset_has_a_code_version_and_the_pool():
    defs = load_definitions()
    specs = _warehouse_specs(defs)
    assert [s.key.to_user_string() for s in specs if not s.code_version] == []
    graph = defs.resolve_asset_graph()
    for spec in specs:
        assets_def = graph.assets_def_for_key(spec.key)
        assert assets_def.node_def.pool == WAREHOUSE_POOL, spec.key


def test_code_version_is_the_digest_of_the_sql_file():
    """Editing a .sql file changes the asset's code version (Dagster then shows it unsynced)."""
    defs = load_definitions()
    spec = next(
        s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey(["analytics", "dim_date"])
    )
    text = load_sql("fhir_assets.healthsim.star.sql", "dim_date")
    assert spec.code_version == sql_code_version(text)
    assert sql_code_version(text + "\n-- edited\n") != spec.code_version
    assert sql_code_version(text + "\n\n") == spec.code_version  # trailing blank lines only


def test_helper_passes_description_schema_tags_deps_and_automation_through():
    domain = WarehouseAssets(group_name="toolkit_test", owners=["team:test"])
    schema = dg.TableSchema(columns=[dg.TableColumn("id", "BIGINT", description="The row's key.")])
    condition = dg.AutomationCondition.eager()

    @domain.asset(
        ["toolkit_test", "table"],
        description="A table built for the toolkit's own test.",
        sql="SELECT 1 AS id",
        column_schema=schema,
        tags={"tier": "gold"},
        deps=[dg.AssetKey(["toolkit_test", "upstream"])],
        automation_condition=condition,
    )
    def table() -> None: ...

    spec = next(iter(table.specs))
    assert spec.group_name == "toolkit_test"
    assert spec.owners == ["team:test"]
    assert spec.description == "A table built for the toolkit's own test."
    assert spec.metadata[COLUMN_SCHEMA_KEY] == schema
    assert spec.tags["tier"] == "gold"
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey(["toolkit_test", "upstream"])}
    assert spec.automation_condition == condition
    assert spec.code_version == sql_code_version("SELECT 1 AS id")
    assert spec.kinds == {"sql"}
    assert table.node_def.pool == WAREHOUSE_POOL


@pytest.mark.parametrize(
    ("deployment", "engine"),
    [(Deployment.LOCAL, {"duckdb"}), (Deployment.DATABRICKS, {"databricks", "spark"})],
)
def test_engine_kinds_are_added_to_warehouse_assets_only(deployment, engine):
    @warehouse_asset(
        "in_pool", group_name="g", owners=["team:test"], description="x" * 20, kinds=["pandas"]
    )
    def in_pool() -> None: ...

    @dg.asset(kinds={"python"})
    def elsewhere() -> None: ...

    defs = with_engine_kinds(dg.Definitions(assets=[in_pool, elsewhere]), deployment)
    kinds = {s.key.to_user_string(): s.kinds for s in defs.resolve_all_asset_specs()}
    assert kinds == {"in_pool": {"pandas", *engine}, "elsewhere": {"python"}}


DUCKDB_FILE_JOBS = {
    "daily_backup",
    "weekly_backup",
    "publish_to_motherduck",
    "warehouse_health_job",
}


def test_duckdb_file_jobs_exist_only_in_the_local_deployment(monkeypatch):
    local = {job.name for job in load_definitions().resolve_all_job_defs()}
    assert local >= DUCKDB_FILE_JOBS | {"monthly_export", "materialize_all"}
    monkeypatch.setenv("PLATFORM_DEPLOYMENT", "databricks")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    defs = load_definitions()
    databricks = {job.name for job in defs.resolve_all_job_defs()}
    assert not databricks & DUCKDB_FILE_JOBS
    assert {"monthly_export", "materialize_all"} <= databricks
    schedules = {s.name for s in defs.schedules or []}
    assert schedules == {"monthly_export_schedule"}
    specs = {s.key for s in defs.resolve_all_asset_specs()}
    assert dg.AssetKey(["operations", "warehouse_file"]) not in specs
    assert dg.AssetKey(["operations", "warehouse_health_snapshot"]) not in specs
    assert dg.AssetKey(["operations", "table_statistics"]) in specs


def test_sql_files_are_read_by_the_one_loader_only():
    """Every .sql file is read through resources.sql_files.load_sql (one loader, not four)."""
    import re

    from tests.support import PROJECT_ROOT

    pattern = re.compile(r"\.sql[\"'].*read_text|read_text.*\.sql[\"']|with_name\([^)]*\.sql")
    offenders = []
    for package in (
        "narr_platform",
        "directory_assets",
        "fhir_assets",
        "reference_assets",
        "resources",
        "schedules",
    ):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if path.name == "sql_files.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert not offenders
