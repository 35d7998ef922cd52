"""ViewDefinitions as assets and `narr-platform view run` on a real warehouse.

The shipped views/ folder materializes over the FHIR pipeline's own Patient table; its rows
are checked against a hand-written query of the same resources, and the CLI prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from fhir_assets.views.assets import view_assets
from fhir_assets.views.compiler import compile_view
from fhir_assets.views.fhirpath import ViewError
from narr_platform.cli import main
from tests.support import PROJECT_ROOT, generate_sample, load_definitions

pytest_plugins = ["tests.support.spark_server"]

VIEWS_DIR = PROJECT_ROOT / "views"
RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
DEMOGRAPHICS = dg.AssetSelection.assets(["fhir_views", "patient_demographics"])

#: The demographics view written by hand (DuckDB JSON functions) as the reference.
HAND_WRITTEN = f"""
SELECT
    id,
    resource_json->>'$.gender',
    resource_json->>'$.birthDate',
    resource_json->>'$.name[0].family',
    resource_json->>'$.address[0].state',
    (SELECT e->>'$.extension[0].valueCoding.code'
     FROM (SELECT unnest(CAST(resource_json->'$.extension' AS JSON[])) AS e)
     WHERE e->>'$.url' = '{RACE}')
FROM fhir.fhir_patients
"""


@pytest.fixture
def patients_warehouse(landing_dir: Path, warehouse_path: Path, materialize) -> Path:
    generate_sample(landing_dir, "patients", patients=300)
    result = materialize(
        dg.AssetSelection.assets(["fhir", "patient_data"], ["fhir", "fhir_patients"]) | DEMOGRAPHICS
    )
    assert result.success
    return warehouse_path


@pytest.mark.slow  # the FHIR pipeline materialized, then views over it
def test_patient_demographics_view_materializes_the_patients(patients_warehouse: Path) -> None:
    with duckdb.connect(str(patients_warehouse), read_only=True) as con:
        view_rows = con.sql(
            "SELECT patient_id, gender, birth_date, family_name, state, race_code "
            "FROM fhir_views.patient_demographics"
        ).fetchall()
        expected = con.sql(HAND_WRITTEN).fetchall()
        total = con.sql("SELECT count(*) FROM fhir.fhir_patients").fetchall()[0][0]
    assert len(view_rows) == total > 250
    assert sorted(view_rows, key=str) == sorted(expected, key=str)
    # The sample has every column populated somewhere (a broken path would give all NULLs).
    for position in range(6):
        assert any(row[position] is not None for row in view_rows), position


def test_view_assets_carry_the_view_columns_and_depend_on_the_resource_table() -> None:
    graph = load_definitions().resolve_asset_graph()
    key = dg.AssetKey(["fhir_views", "patient_demographics"])
    node = graph.get(key)
    assert dg.AssetKey(["fhir", "fhir_patients"]) in node.parent_keys
    schema = node.metadata["dagster/column_schema"]
    columns = {c.name: c for c in schema.columns}
    assert columns["birth_date"].type == "date"
    assert columns["race_code"].description.startswith("US Core race")
    assert list(columns)[:3] == ["patient_id", "gender", "birth_date"]


@pytest.mark.slow  # the FHIR pipeline materialized, then views over it
def test_view_run_prints_rows_as_json(patients_warehouse: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["view", "run", str(VIEWS_DIR / "patient_demographics.json"), "--json", "--limit", "5"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 5
    assert {"patient_id", "gender", "birth_date", "race"} <= set(rows[0])
    table = runner.invoke(main, ["view", "run", str(VIEWS_DIR / "patient_demographics.json")])
    assert table.exit_code == 0, table.output
    assert "patient_id" in table.output.splitlines()[0]


def test_view_run_refuses_a_view_over_a_resource_without_table(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text(
        json.dumps({"resource": "Device", "select": [{"column": [{"name": "id", "path": "id"}]}]})
    )
    result = CliRunner().invoke(main, ["view", "run", str(path)])
    assert result.exit_code != 0
    assert "No warehouse table holds Device resources" in result.output


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        ({"select": [{"column": [{"name": "id", "path": "id"}]}]}, "resource must be"),
        ({"resource": "Patient", "select": [{"forEach": "@@"}]}, "FHIRPath '@@'"),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "x", "path": "name.foo()"}]}]},
            "function foo() is not supported",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "x", "path": "%nope"}]}]},
            "Constant %nope is not defined",
        ),
        (
            {
                "resource": "Patient",
                "select": [
                    {"column": [{"name": "a", "path": "id"}]},
                    {"column": [{"name": "a", "path": "gender"}]},
                ],
            },
            "Column name 'a' is used more than once",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "1x", "path": "id"}]}]},
            "Column name '1x' is not valid",
        ),
    ],
)
def test_invalid_views_are_refused_naming_the_problem(view: dict, problem: str) -> None:
    with pytest.raises(ViewError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        compile_view(view, "duckdb")


def test_a_broken_view_file_fails_the_load_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text((VIEWS_DIR / "patient_demographics.json").read_text())
    assert [a.key for a in view_assets(tmp_path)] == [
        dg.AssetKey(["fhir_views", "patient_demographics"])
    ]
    (tmp_path / "broken.json").write_text('{"resource": "Patient", "select": [{"forEach": 1}]}')
    with pytest.raises(ViewError, match=r"broken\.json.*forEach must be a FHIRPath string"):
        view_assets(tmp_path)


PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "a1",
        "extension": [
            {
                "url": RACE,
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {
                            "system": "urn:oid:2.16.840.1.113883.6.238",
                            "code": "2106-3",
                        },
                    },
                    {"url": "text", "valueString": "White"},
                ],
            }
        ],
        "name": [
            {"use": "usual", "family": "Nick"},
            {"use": "official", "family": "Lee", "given": ["Ann", "Marie"]},
        ],
        "telecom": [{"system": "email", "value": "ann@example.org"}],
        "gender": "female",
        "birthDate": "1990-03-04",
        "address": [{"use": "home", "city": "Boston", "state": "MA", "postalCode": "02155"}],
    },
    {"resourceType": "Patient", "id": "b2", "gender": "male", "deceasedDateTime": "2020-01-02"},
]
EXPECTED = [
    (
        "a1",
        "female",
        "1990-03-04",
        None,
        "Lee",
        "Ann Marie",
        "MA",
        "ann@example.org",
        "2106-3",
        "White",
    ),
    # join() of no names is '' (the specification's fhirpath.json "string join" case).
    ("b2", "male", None, "2020-01-02", None, "", None, None, None, None),
]
COLUMNS = (
    "patient_id, gender, birth_date, deceased_date, family_name, given_names, state, email, "
    "race_code, race"
)


def _load_patients(warehouse) -> None:
    values = ", ".join(
        "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in (p["id"], json.dumps(p))) + ")"
        for p in PATIENTS
    )
    with warehouse.session() as session:
        session.create_table_as(
            "fhir.fhir_patients", f"SELECT * FROM (VALUES {values}) AS t(id, resource_json)"
        )


def test_patient_demographics_rows_on_duckdb(materialize) -> None:
    from resources import build_resources

    warehouse = build_resources()["warehouse"]
    _load_patients(warehouse)
    assert materialize(DEMOGRAPHICS).success
    rows = warehouse.fetch_rows(f"SELECT {COLUMNS} FROM fhir_views.patient_demographics ORDER BY 1")
    assert rows == EXPECTED


@pytest.mark.spark
def test_patient_demographics_rows_on_spark(spark_env, materialize) -> None:
    from resources import build_resources

    warehouse = build_resources()["warehouse"]
    assert warehouse.engine == "spark"
    _load_patients(warehouse)
    assert materialize(DEMOGRAPHICS).success
    rows = warehouse.fetch_rows(f"SELECT {COLUMNS} FROM fhir_views.patient_demographics ORDER BY 1")
    assert rows == EXPECTED


CLINICAL_VIEWS = [
    dg.AssetKey(["fhir_views", name])
    for name in (
        "encounters",
        "encounter_diagnoses",
        "vital_signs",
        "latest_vitals",
        "medication_exposure",
    )
]


@pytest.mark.slow  # the FHIR pipeline materialized, then views over it
def test_clinical_views_match_the_resource_tables(sample_sources, materialize, warehouse_path):
    """The shipped clinical views over #17's resource tables, against their query columns."""
    from tests.support.healthsim import install_geography

    sample_sources("healthsim", healthsim_patients=40)
    install_geography(warehouse_path)  # the counties patients resolve to, not the whole domain
    selection = dg.AssetSelection.assets(*CLINICAL_VIEWS)
    assert materialize(selection.upstream() - dg.AssetSelection.groups("reference")).success

    def pairs(con, sql: str) -> list[tuple]:
        return sorted(con.sql(sql).fetchall(), key=str)

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert pairs(
            con, "SELECT encounter_id, patient_id, period_start FROM fhir_views.encounters"
        ) == pairs(
            con,
            "SELECT id, patient_id, strftime(start_at, '%Y-%m-%dT%H:%M:%SZ') FROM fhir.encounter_resources",
        )
        assert pairs(
            con,
            "SELECT condition_id, encounter_id, snomed_code FROM fhir_views.encounter_diagnoses",
        ) == pairs(con, "SELECT id, encounter_id, code FROM fhir.condition_resources")
        vitals = pairs(
            con, "SELECT observation_id, patient_id, loinc_code, value FROM fhir_views.vital_signs"
        )
        assert vitals, "the sample has vital signs"
        assert vitals == pairs(
            con,
            "SELECT id, patient_id, code, CAST(value_numeric AS DOUBLE) FROM fhir.observation_resources "
            "WHERE category = 'vital-signs'",
        )
        latest = pairs(con, "SELECT patient_id, loinc_code, value FROM fhir_views.latest_vitals")
        assert latest == pairs(
            con,
            "SELECT patient_id, code, CAST(arg_max(value_numeric, (observed_at, -rank)) AS DOUBLE) "
            "FROM (SELECT *, rank() OVER (ORDER BY id) AS rank FROM fhir.observation_resources) "
            "WHERE category = 'vital-signs' AND value_numeric IS NOT NULL GROUP BY ALL",
        )
        assert len(latest) < len(vitals)
        assert pairs(
            con,
            "SELECT medication_request_id, patient_id, rxnorm_code, exposure_end IS NULL "
            "FROM fhir_views.medication_exposure",
        ) == pairs(
            con,
            "SELECT id, patient_id, code, stop_at IS NULL FROM fhir.medication_request_resources",
        )


def _nested_items(levels: int) -> dict:
    item: dict = {"linkId": str(levels)}
    for level in range(levels - 1, 0, -1):
        item = {"linkId": str(level), "item": [item]}
    return {"resourceType": "QuestionnaireResponse", "id": "q", "item": [item]}


def test_repeat_follows_the_unrolled_depth_and_fails_beyond_it() -> None:
    from fhir_assets.views.compiler import REPEAT_DEPTH
    from fhir_assets.views.conformance import fetch_view, load_resources, table_for
    from resources.warehouse import DuckDBSession

    view = {
        "resource": "QuestionnaireResponse",
        "select": [
            {"repeat": ["item"], "column": [{"name": "link", "path": "linkId", "type": "string"}]}
        ],
    }
    session = DuckDBSession(duckdb.connect())
    compiled = compile_view(view, "duckdb", table_for)
    load_resources(session, [_nested_items(REPEAT_DEPTH)], {"QuestionnaireResponse"})
    rows = fetch_view(session, compiled)
    assert [r["link"] for r in rows] == [str(i) for i in range(1, REPEAT_DEPTH + 1)]
    load_resources(session, [_nested_items(REPEAT_DEPTH + 1)], {"QuestionnaireResponse"})
    with pytest.raises(duckdb.Error, match=f"repeat goes deeper than {REPEAT_DEPTH} levels"):
        fetch_view(session, compiled)
