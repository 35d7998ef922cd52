"""Declarative automation: which assets follow their inputs, and the sensor that drives them."""

import dagster as dg
import pytest

from resources.automation import (
    AUTOMATION_SENSOR_NAME,
    DOWNSTREAM_CONDITION,
    automation_enabled,
    automation_sensor,
)
from tests.support import load_definitions


def _readers(defs: dg.Definitions) -> set[dg.AssetKey]:
    keys: set[dg.AssetKey] = set()
    graph = defs.resolve_asset_graph()
    for sensor in defs.sensors:
        if sensor.name.startswith("landing_"):
            keys |= defs.resolve_job_def(sensor.job_name).asset_layer.executable_asset_keys
    assert keys, "no landing reader found"
    return {k for k in keys if graph.has(k)}


def test_every_asset_fed_by_a_reader_is_eager_after_blocking_checks():
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    readers = _readers(defs)
    fed = dg.AssetSelection.assets(*readers).downstream().resolve(graph)
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        has_fed_parent = any(parent in fed for parent in node.parent_keys)
        if has_fed_parent:
            assert node.automation_condition == DOWNSTREAM_CONDITION, key
        else:
            assert node.automation_condition is None, key
    # The cascade reaches the star schema and FHIR outputs; readers themselves are sensor-run.
    assert graph.get(dg.AssetKey(["analytics", "fact_encounters"])).automation_condition
    assert graph.get(dg.AssetKey(["fhir", "fhir_patients"])).automation_condition
    assert graph.get(dg.AssetKey(["fhir", "patient_data"])).automation_condition is None
    labels = {child.get_label() for child in DOWNSTREAM_CONDITION.children}
    assert labels == {"eager", "all_deps_blocking_checks_passed"}


def test_automation_sensor_is_on_in_the_shipped_configuration(monkeypatch):
    monkeypatch.delenv("PLATFORM_AUTOMATION", raising=False)
    defs = load_definitions()
    sensor = defs.resolve_sensor_def(AUTOMATION_SENSOR_NAME)
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 15


def test_automation_can_be_shipped_off():
    assert automation_sensor({"PLATFORM_AUTOMATION": "off"}).default_status == (
        dg.DefaultSensorStatus.STOPPED
    )
    assert automation_enabled({}) and automation_enabled({"PLATFORM_AUTOMATION": "ON"})
    with pytest.raises(ValueError, match="PLATFORM_AUTOMATION"):
        automation_enabled({"PLATFORM_AUTOMATION": "sometimes"})


def test_one_rule_decides_which_checks_block():
    """docs/quality.md: structural checks and row_count_drop block; plausibility warns."""
    from resources.quality_checks import WARNING_ONLY_CHECKS

    graph = load_definitions().resolve_asset_graph()
    wrong = [
        (key.asset_key.to_user_string(), key.name, graph.get(key).blocking)
        for key in graph.asset_check_keys
        if graph.get(key).blocking == (key.name in WARNING_ONLY_CHECKS)
    ]
    assert wrong == []
    drops = [k for k in graph.asset_check_keys if k.name == "row_count_drop"]
    assert {k.asset_key.path[0] for k in drops} >= {"fhir", "healthsim", "reference", "directory"}


def test_schedule_and_sensor_descriptions_say_what_runs_retention_and_full_folder(
    landing_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("PLATFORM_BACKUP_DIR", str(tmp_path / "backups"))
    defs = load_definitions()
    daily = defs.resolve_schedule_def("daily_backup_schedule").description
    assert "daily_backup" in daily and f"{tmp_path / 'backups' / 'daily'}/" in daily
    assert "7 days" in daily
    assert "one year" in defs.resolve_schedule_def("monthly_export_schedule").description
    patients = defs.resolve_sensor_def("landing_patients_sensor").description
    assert f"{landing_dir / 'patients'}/" in patients and "every 15 s" in patients
    assert "skipped 7 days" in patients
    for sensor in defs.sensors:
        assert sensor.description and "``" not in sensor.description


def test_no_rst_markup_in_descriptions_the_ui_shows():
    """Resources, assets, checks, jobs, schedules and sensors: Markdown, never RST ``code``."""
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    repo = defs.get_repository_def()
    texts = {
        f"asset {k.to_user_string()}": graph.get(k).description for k in graph.get_all_asset_keys()
    }
    texts |= {f"check {k}": graph.get(k).description for k in graph.asset_check_keys}
    texts |= {f"resource {n}": r.description for n, r in repo.get_top_level_resources().items()}
    texts |= {f"job {j.name}": j.description for j in repo.get_all_jobs()}
    texts |= {f"schedule {s.name}": s.description for s in repo.schedule_defs}
    texts |= {f"sensor {s.name}": s.description for s in repo.sensor_defs}
    assert [name for name, text in texts.items() if text and "``" in text] == []
    assert all(texts[f"resource {n}"] for n in ("landing", "io_manager", "operations"))


def test_previews_show_no_none_nat_nan_or_python_list_text():
    import numpy as np
    import pandas as pd

    from resources.warehouse import TableSummary

    frame = pd.DataFrame(
        {
            "name": [None, "Harbor House"],
            "opened": [pd.NaT, pd.Timestamp("2024-01-02")],
            "aliases": [["Serenity Substance Use Services"], np.array(["a", "b"])],
            "beds": [np.nan, 12.0],
        }
    )
    preview = TableSummary("s.t", 2, (), frame).metadata()["preview"].value
    for text in ("None", "NaT", "nan", "['", "[]"):
        assert text not in preview, (text, preview)
    assert "Serenity Substance Use Services" in preview and "a, b" in preview
    assert "2024-01-02 |" in preview and "00:00:00" not in preview


def test_every_table_has_its_columns_described_before_any_materialization():
    """Column schema with descriptions is definition metadata (shown before any run)."""
    from narr_platform.column_catalog import NOT_TABLES, SCHEMA_PACKAGES

    graph = load_definitions().resolve_asset_graph()
    missing, undescribed = [], []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable or key.path[0] not in SCHEMA_PACKAGES:
            continue
        if key.to_user_string() in NOT_TABLES:
            continue
        schema = node.metadata.get("dagster/column_schema")
        if schema is None:
            missing.append(key.to_user_string())
            continue
        columns = schema.schema.columns if hasattr(schema, "schema") else schema.columns
        undescribed += [
            f"{key.to_user_string()}.{c.name}" for c in columns if not (c.description or "").strip()
        ]
    assert missing == [], f"no column schema (run narr_platform.column_catalog): {missing}"
    assert undescribed == []


def test_column_descriptions_follow_the_rules():
    from resources.columns import describe_column

    assert "FIPS" in describe_column("reference.ref_geography", "county_fips")
    assert "SVI" in describe_column("reference.ref_svi_county", "EP_POV150")
    assert "unknown member" in describe_column("analytics.dim_patient", "patient_key")
    assert "dim_geography" in describe_column("analytics.fact_encounters", "geography_key")
    assert "YYYYMMDD" in describe_column("analytics.fact_encounters", "start_date_key")


def test_owners_match_the_domain_of_each_group():
    expected = {
        "analytics": ["team:analytics"],
        "directory": ["team:directory"],
        "fhir": ["team:fhir"],
        "fhir_clinical": ["team:fhir"],
        "fhir_in": ["team:fhir"],
        "fhir_views": ["team:fhir"],
        "healthsim": ["team:healthsim"],
        "operations": ["team:platform"],
        "reference": ["team:reference"],
    }
    graph = load_definitions().resolve_asset_graph()
    wrong = {
        key.to_user_string(): (graph.get(key).group_name, graph.get(key).owners)
        for key in graph.get_all_asset_keys()
        if list(graph.get(key).owners) != expected.get(graph.get(key).group_name)
    }
    assert wrong == {}
