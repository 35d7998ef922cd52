"""HealthSim canonical tables from the Synthea sample and the batch generator."""

from __future__ import annotations

import duckdb
import pytest

from tests.support.healthsim import install_geography, query

CANONICAL = "group:healthsim and not key:healthsim/patient_fhir_resources"


@pytest.mark.slow  # a whole Synthea sample through every canonical table
def test_synthea_sample_loads_with_its_quirks(
    shared_dir, sample_sources, materialize, warehouse_path
):
    written = sample_sources("synthea")
    assert written["synthea"], "the Synthea sample was not copied"
    install_geography(warehouse_path)
    result = materialize(CANONICAL)
    assert result.success
    counts = dict(
        query(
            warehouse_path,
            "SELECT 'patients', count(*) FROM healthsim.patients UNION ALL "
            "SELECT 'encounters', count(*) FROM healthsim.encounters UNION ALL "
            "SELECT 'conditions', count(*) FROM healthsim.conditions UNION ALL "
            "SELECT 'claims', count(*) FROM healthsim.claims",
        )
    )
    assert counts == {"patients": 27, "encounters": 604, "conditions": 438, "claims": 1267}
    # Quirks: full state names -> USPS, county names -> FIPS, empty ZIPs stay NULL, leading zeros kept.
    (states, unmatched, empty_zips, zero_zips) = query(
        warehouse_path,
        "SELECT list(DISTINCT state_usps), count(*) FILTER (county_fips IS NULL), "
        "count(*) FILTER (zip_code IS NULL), count(*) FILTER (zip_code LIKE '0%') FROM healthsim.patients",
    )[0]
    assert states == ["MA"] and unmatched == 0
    assert empty_zips == 12 and zero_zips == 15
    middlesex = query(
        warehouse_path,
        "SELECT DISTINCT county_fips FROM healthsim.patients WHERE county_name = 'Middlesex County'",
    )
    assert middlesex == [("25017",)]
    # Claim amounts: the encounter's cost split to the cent across its claims.
    (mismatch,) = query(
        warehouse_path,
        "SELECT count(*) FROM (SELECT e.encounter_id, e.total_claim_cost, sum(c.claim_amount) AS billed "
        "FROM healthsim.encounters e JOIN healthsim.claims c USING (encounter_id) "
        "GROUP BY ALL HAVING e.total_claim_cost <> billed)",
    )[0]
    assert mismatch == 0
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)


def test_generator_is_deterministic_and_lands_in_real_counties(
    sample_sources, materialize, warehouse_path, landing_dir
):
    first = sample_sources("healthsim", healthsim_patients=60)
    contents = {p.name: p.read_bytes() for p in first["healthsim"]}
    again = sample_sources("healthsim", healthsim_patients=60)
    assert {p.name: p.read_bytes() for p in again["healthsim"]} == contents
    install_geography(warehouse_path)
    assert materialize(CANONICAL).success
    patients, with_fips, classes, with_amounts = query(
        warehouse_path,
        "SELECT (SELECT count(*) FROM healthsim.patients), "
        "(SELECT count(*) FROM healthsim.patients p JOIN reference.ref_geography g USING (county_fips)), "
        "(SELECT list(DISTINCT encounter_class ORDER BY encounter_class) FROM healthsim.encounters), "
        "(SELECT count(*) FILTER (claim_amount > 0) FROM healthsim.claims)",
    )[0]
    assert patients == 60 and with_fips == 60
    assert set(classes) <= {
        "ambulatory",
        "emergency",
        "inpatient",
        "outpatient",
        "urgentcare",
        "wellness",
    }
    assert len(classes) >= 4 and with_amounts > 0


def test_bad_rows_are_quarantined_with_reason(
    sample_sources, materialize, warehouse_path, landing_dir
):
    sample_sources("healthsim", healthsim_patients=5)
    install_geography(warehouse_path)
    encounters = landing_dir / "healthsim" / "encounters.csv"
    line = encounters.read_text().splitlines()[1].split(",")
    line[0], line[1] = "not-a-uuid", "yesterday"
    with encounters.open("a") as handle:
        handle.write(",".join(line) + "\n")
    assert materialize("key:healthsim/patients or key:healthsim/encounters").success
    rejected = query(
        warehouse_path, "SELECT reject_reason, source_line FROM healthsim.encounters_rejected"
    )
    line = len(encounters.read_text().splitlines())  # the appended row is the last line
    assert rejected == [(f"Id is not a UUID (encounters.csv line {line})", line)]


def test_unreadable_file_fails_naming_it(sample_sources, materialize, landing_dir, warehouse_path):
    sample_sources("healthsim", healthsim_patients=3)
    install_geography(warehouse_path)
    (landing_dir / "healthsim" / "conditions.csv").write_bytes(
        b'START,STOP\n"unterminated,\x00\x01\n'
    )
    result = materialize("key:healthsim/conditions", raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert "conditions.csv" in failure.event_specific_data.error.message


def test_missing_geography_is_reported_not_dropped(sample_sources, materialize, warehouse_path):
    sample_sources("healthsim", healthsim_patients=8)
    install_geography(warehouse_path)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM reference.ref_geography WHERE state_usps = 'PA'")
    result = materialize("key:healthsim/patients")
    assert result.success
    total, unmatched = query(
        warehouse_path,
        "SELECT count(*), count(*) FILTER (county_fips IS NULL) FROM healthsim.patients",
    )[0]
    assert total == 8 and unmatched > 0
    meta = result.asset_materializations_for_node("healthsim__patients")[0].metadata
    assert meta["unmatched_counties"].value == unmatched


@pytest.mark.parametrize("patients", [0])
def test_generator_accepts_zero_patients(sample_sources, patients):
    written = sample_sources("healthsim", healthsim_patients=patients)
    assert all(p.exists() for p in written["healthsim"])


def test_canonical_patients_map_to_fhir_through_the_one_mapping(
    sample_sources, materialize, warehouse_path
):
    import json

    from fhir_assets.healthsim.fhir_link import HEALTHSIM_IDENTIFIER_SYSTEM

    sample_sources("healthsim", healthsim_patients=12)
    install_geography(warehouse_path)
    assert materialize("key:healthsim/patients or key:healthsim/patient_fhir_resources").success
    rows = query(
        warehouse_path,
        "SELECT f.id, f.resource_json, f.identifier_system, p.zip_code, p.state_usps "
        "FROM healthsim.patient_fhir_resources f JOIN healthsim.patients p ON p.patient_id = f.id",
    )
    assert len(rows) == 12
    for patient_id, resource_json, system, zip_code, state in rows:
        resource = json.loads(resource_json)
        assert resource["resourceType"] == "Patient" and resource["id"] == patient_id
        assert system == HEALTHSIM_IDENTIFIER_SYSTEM
        assert resource["gender"] in {"male", "female"}
        assert resource["address"][0]["state"] == state
        assert resource["address"][0].get("postalCode") == zip_code


def test_healthsim_sql_transpiles_to_spark():
    """Every HealthSim SQL file goes through sqlglot duckdb -> spark without unsupported parts."""
    from importlib import resources as package_files

    import sqlglot

    from resources.normalize import render

    for package in ("fhir_assets.healthsim.sql", "fhir_assets.healthsim.star.sql"):
        files = [f for f in package_files.files(package).iterdir() if f.name.endswith(".sql")]
        assert files
        for file in files:
            spark = sqlglot.transpile(
                render(file.read_text()),
                read="duckdb",
                write="spark",
                unsupported_level=sqlglot.ErrorLevel.RAISE,
            )
            assert spark and "EXCLUDE" not in spark[0], file.name


def test_key_check_fails_on_duplicate_and_missing_keys(sample_sources, materialize, warehouse_path):
    from fhir_assets.healthsim.canonical import ENTITIES, evaluate_key_unique
    from resources import local_warehouse

    sample_sources("healthsim", healthsim_patients=4)
    install_geography(warehouse_path)
    assert materialize("key:healthsim/patients or key:healthsim/encounters").success
    encounters = next(e for e in ENTITIES if e.name == "encounters")
    with local_warehouse().session() as session:
        assert evaluate_key_unique(session, encounters).passed
        session.execute(
            "INSERT INTO healthsim.encounters SELECT * FROM healthsim.encounters LIMIT 1"
        )
        duplicate = evaluate_key_unique(session, encounters)
        session.execute("UPDATE healthsim.encounters SET encounter_id = NULL WHERE rowid = 0")
        missing = evaluate_key_unique(session, encounters)
    assert not duplicate.passed and duplicate.metadata["duplicate_keys"].value == 1
    assert not missing.passed and missing.metadata["rows_with_null_key"].value == 1


def test_patients_fail_clearly_without_ref_geography(sample_sources, materialize):
    sample_sources("healthsim", healthsim_patients=2)
    result = materialize("key:healthsim/patients", raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "reference.ref_geography is not built" in message
