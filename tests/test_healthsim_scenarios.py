"""Scenarios: save/tag/list/delete, export-import identity, conflicts, legacy migration, upgrades."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from click.testing import CliRunner

from fhir_assets.healthsim.scenarios import schema
from fhir_assets.healthsim.scenarios.store import ScenarioStore, canonical_json
from narr_platform.cli import main
from resources import local_warehouse
from tests.support.healthsim import install_geography, query

T0 = dt.datetime(2024, 1, 2, 3, 4, 5, 678901)
#: The scenario assets and every canonical table a saved scenario captures
#: (fhir_assets/healthsim/scenarios/capture.py); the others are not read by scenarios.
SCENARIO_TABLES = (
    "+key:healthsim/scenarios and group:healthsim"
    " or key:healthsim/medications or key:healthsim/procedures"
)


def _entities(n: int, prefix: str = "p") -> list[tuple[str, str, dict]]:
    return [
        (
            "patient",
            str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{prefix}{i}")),
            {"n": i, "name": f"Ann{i}", "w": 61.25},
        )
        for i in range(n)
    ]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_save_export_import_round_trip(
    sample_sources, materialize, warehouse_path, tmp_path, monkeypatch
):
    sample_sources("healthsim", healthsim_patients=40)
    install_geography(warehouse_path)
    assert materialize(SCENARIO_TABLES).success
    # The asset created the tables at the latest version (and the demo scenario when found).
    assert query(warehouse_path, "SELECT max(version) FROM healthsim.schema_version") == [
        (schema.LATEST_VERSION,)
    ]
    _cli(
        "scenario",
        "save",
        "cohort",
        "--sample",
        "3",
        "--description",
        "three",
        "--tag",
        "b",
        "--tag",
        "a",
    )
    listed = _cli("scenario", "list", "--tag", "a")
    assert "cohort" in listed
    loaded = _cli("scenario", "load", "cohort")
    assert "patient" in loaded and "encounter" in loaded
    first = tmp_path / "cohort.json"
    _cli("scenario", "export", "cohort", "--out", str(first))
    document = json.loads(first.read_text())
    assert document["tags"] == ["a", "b"]
    assert sum(e["entity_type"] == "patient" for e in document["entities"]) == 3

    # Import into a fresh warehouse, export again: identical bytes.
    monkeypatch.setenv("DUCKDB_DATABASE_PATH", str(tmp_path / "other.duckdb"))
    report = json.loads(_cli("scenario", "import", str(first)))
    assert report["created"] and report["added"] == len(document["entities"])
    second = tmp_path / "again.json"
    _cli("scenario", "export", "cohort", "--out", str(second))
    assert second.read_bytes() == first.read_bytes()
    # Re-importing the same file changes nothing.
    report = json.loads(_cli("scenario", "import", str(first)))
    assert not report["created"] and report["added"] == 0 and report["updated"] == 0
    assert report["unchanged"] == len(document["entities"])
    _cli("scenario", "export", "cohort", "--out", str(second))
    assert second.read_bytes() == first.read_bytes()

    _cli("scenario", "tag", "cohort", "a", "--remove")
    assert "cohort" not in _cli("scenario", "list", "--tag", "a")
    _cli("scenario", "delete", "cohort")
    assert "(no scenarios)" in _cli("scenario", "list")
    failed = CliRunner().invoke(main, ["scenario", "export", "cohort"])
    assert failed.exit_code != 0 and "No scenario named" in failed.output


def test_import_conflicts_latest_wins_by_entity_uuid(warehouse_path):
    with local_warehouse().session() as session:
        store = ScenarioStore(session)
        store.save("conflicts", _entities(4), "before", tags=["x"], now=T0)
        document = json.loads(store.export_json("conflicts"))
    newer, older, same = document["entities"][0], document["entities"][1], document["entities"][2]
    older_name = older["data"]["name"]
    newer["data"]["name"] = "changed and newer"
    newer["updated_at"] = "2024-02-01T00:00:00.000000Z"
    older["data"]["name"] = "changed but older"
    older["updated_at"] = "2023-12-31T00:00:00.000000Z"
    added_id = str(uuid.uuid4())
    document["entities"].append(
        {"entity_type": "patient", "entity_id": added_id, "created_at": "2024-02-01T00:00:00.000000Z",
         "updated_at": "2024-02-01T00:00:00.000000Z", "data": {"name": "new"}}
    )  # fmt: skip
    document["tags"] = ["x", "y"]
    with local_warehouse().session() as session:
        store = ScenarioStore(session)
        report = store.import_json(canonical_json(document))
        after = {
            e.entity_id: e
            for e in store.entities(store.document("conflicts")["scenario"]["scenario_id"])
        }
        merged = store.document("conflicts")
    assert not report.created
    assert report.updated == [f"patient/{newer['entity_id']}"]
    assert report.kept == [f"patient/{older['entity_id']}"]
    assert report.added == [f"patient/{added_id}"]
    assert f"patient/{same['entity_id']}" in report.unchanged
    assert report.tags_added == ["y"]
    assert after[newer["entity_id"]].data["name"] == "changed and newer"
    assert after[older["entity_id"]].data["name"] == older_name  # the stored copy was later
    assert merged["scenario"]["updated_at"] == "2024-02-01T00:00:00.000000Z"
    assert len(merged["entities"]) == 5


def _legacy(name: str, ids: list[str], **extra: object) -> str:
    body = {
        "scenario_name": name,
        "description": f"legacy {name}",
        "created": "2022-03-04T05:06:07",
        "tags": ["legacy"],
        "entities": {"patients": [{"id": i, "first": "Pat"} for i in ids],
                     "encounters": [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, i)), "class": "inpatient"} for i in ids]},
    }  # fmt: skip
    body.update(extra)
    return json.dumps(body)


def test_legacy_migration_job_skips_malformed_and_is_idempotent(warehouse_path, tmp_path):
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "a.json").write_text(_legacy("alpha", [str(uuid.uuid4()) for _ in range(3)]))
    (folder / "b.json").write_text(
        _legacy("beta", [str(uuid.uuid4())], modified="2023-01-01T00:00:00Z")
    )
    (folder / "broken.json").write_text('{"scenario_name": "broken", "entities": [')
    (folder / "no_ids.json").write_text(
        json.dumps(
            {
                "scenario_name": "x",
                "created": "2022-01-01",
                "entities": {"patients": [{"first": "A"}]},
            }
        )
    )

    from tests.support import load_definitions

    job = load_definitions().get_job_def("healthsim_legacy_scenario_migration")
    config = {"ops": {"migrate_legacy_scenarios": {"config": {"folder": str(folder)}}}}
    first = job.execute_in_process(run_config=config)
    assert first.success
    scenarios = query(
        warehouse_path, "SELECT name, description FROM healthsim.scenarios ORDER BY name"
    )
    assert scenarios == [("alpha", "legacy alpha"), ("beta", "legacy beta")]
    assert query(warehouse_path, "SELECT count(*) FROM healthsim.scenario_entities") == [(8,)]
    events = [e for e in first.all_events if e.event_type_value == "STEP_OUTPUT"]
    output_meta = events[0].event_specific_data.metadata
    skipped = {s["file"]: s["reason"] for s in output_meta["files_skipped"].value}
    assert set(skipped) == {"broken.json", "no_ids.json"}
    assert "no 'id'" in skipped["no_ids.json"]
    assert skipped["broken.json"].startswith("not valid JSON")
    with local_warehouse().session() as session:
        before = {n: ScenarioStore(session).export_json(n) for n in ("alpha", "beta")}

    again = job.execute_in_process(run_config=config)
    assert again.success
    output_meta = next(
        e for e in again.all_events if e.event_type_value == "STEP_OUTPUT"
    ).event_specific_data.metadata
    assert output_meta["files_changed"].value == []
    with local_warehouse().session() as session:
        assert {n: ScenarioStore(session).export_json(n) for n in ("alpha", "beta")} == before


def test_database_at_older_version_upgrades_with_nothing_lost(warehouse_path: Path):
    with local_warehouse().session() as session:
        assert schema.upgrade(session, target=1) == [1]
        session.execute(
            "INSERT INTO healthsim.scenarios VALUES ('s1', 'old', 'made at v1', ?, ?, '{\"k\": 1}')",
            [T0, T0],
        )
        session.execute(
            "INSERT INTO healthsim.scenario_entities VALUES ('r1', 's1', 'patient', 'e1', '{\"a\": [1, 2]}', ?)",
            [T0],
        )
        session.execute("INSERT INTO healthsim.scenario_tags VALUES ('t1', 's1', 'kept')")
        assert schema.current_version(session) == 1
    with local_warehouse().session() as session:
        store = ScenarioStore(session)  # opening upgrades
        versions = session.fetch_rows(
            "SELECT version FROM healthsim.schema_version ORDER BY version"
        )
        document = store.document("old")
    assert [v for (v,) in versions] == [m.version for m in schema.MIGRATIONS]
    assert document["scenario"]["description"] == "made at v1"
    assert document["scenario"]["metadata"] == {"k": 1}
    assert document["tags"] == ["kept"]
    assert document["entities"] == [
        {"entity_type": "patient", "entity_id": "e1", "created_at": "2024-01-02T03:04:05.678901Z",
         "updated_at": "2024-01-02T03:04:05.678901Z", "data": {"a": [1, 2]}}
    ]  # fmt: skip
    with local_warehouse().session() as session:
        assert schema.upgrade(session) == []  # each migration runs once


def test_failed_migration_rolls_back(warehouse_path, monkeypatch):
    broken = (
        *schema.MIGRATIONS,
        schema.Migration(
            99, "broken", ("CREATE TABLE healthsim.half (a INT)", "SELECT nonsense FROM nowhere")
        ),
    )
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    with local_warehouse().session() as session:
        try:
            schema.upgrade(session, target=99)
        except Exception as exc:  # the engine's error propagates
            assert "nowhere" in str(exc)
        else:
            raise AssertionError("the broken migration did not fail")
        assert schema.current_version(session) == schema.LATEST_VERSION
        assert not session.table_exists("healthsim.half")


def test_sample_legacy_folder_migrates_by_default(sample_sources, warehouse_path):
    """The sample legacy folder (2 scenarios + 1 truncated file) runs with the job's defaults."""
    from tests.support import load_definitions

    written = sample_sources("scenarios_legacy")
    assert len(written["scenarios_legacy"]) == 3
    result = (
        load_definitions().get_job_def("healthsim_legacy_scenario_migration").execute_in_process()
    )
    assert result.success
    meta = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
    skipped = meta.event_specific_data.metadata["files_skipped"].value
    assert [s["file"] for s in skipped] == ["legacy_truncated.json"]
    names = query(warehouse_path, "SELECT name FROM healthsim.scenarios ORDER BY name")
    assert names == [("legacy-diabetes-cohort",), ("legacy-frequent-er-visitors",)]
