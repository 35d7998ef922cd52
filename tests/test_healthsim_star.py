"""The analytics star schema: built from both sources, checks pass, and each check can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from fhir_assets.healthsim.star import checks
from resources import local_warehouse
from tests.support.healthsim import install_geography, query

# The HealthSim domain and the whole star schema built once per module.
pytestmark = pytest.mark.slow

BUILD = "(group:healthsim or group:analytics) and not key:healthsim/patient_fhir_resources and not key:healthsim/scenarios and not key:healthsim/readmission_capture"


@pytest.fixture(scope="module")
def built_star(tmp_path_factory) -> Path:
    """Build the star once per module (own env, like platform_env); tests get a copy."""
    from tests.support import generate_sample, isolate_platform_env, load_definitions

    root = tmp_path_factory.mktemp("healthsim_star")
    with pytest.MonkeyPatch.context() as mp:
        isolate_platform_env(mp, root)
        generate_sample(root / "landing", "healthsim", healthsim_patients=120)
        install_geography(root / "warehouse.duckdb")
        defs = load_definitions()
        keys = dg.AssetSelection.from_string(BUILD).resolve(defs.resolve_asset_graph())
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=list(keys)
        )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    star_checks = [e for e in evaluations if e.asset_key.path[0] == "analytics"]
    dimension_rules = sum(len(checks.dimension_audits(d.name)) for d in checks.DIMENSIONS)
    expected = len(checks.RULES) * len(checks.FACT_SOURCES) + dimension_rules
    assert len(star_checks) == expected and all(e.passed for e in star_checks)
    keyed = {e.asset_key.path[1] for e in star_checks if e.check_name == "key_unique"}
    assert keyed == {d.name for d in checks.DIMENSIONS} and len(keyed) >= 7
    return root / "warehouse.duckdb"


@pytest.fixture
def star(built_star: Path, warehouse_path: Path) -> Path:
    shutil.copyfile(built_star, warehouse_path)
    return warehouse_path


def _evaluate(rule: str, fact: str):
    with local_warehouse().session() as session:
        return checks.RULES[rule][0](session, fact)


def _execute(path: Path, sql: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(sql)


def test_star_schema_shape(star):
    unknowns = query(
        star,
        "SELECT (SELECT count(*) FROM analytics.dim_date WHERE date_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_patient WHERE patient_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_geography WHERE geography_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_facility WHERE facility_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_diagnosis WHERE diagnosis_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_procedure WHERE procedure_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_medication WHERE medication_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_provider WHERE provider_key = -1) "
        "+ (SELECT count(*) FROM analytics.dim_payer WHERE payer_key = -1)",
    )
    assert unknowns == [(9,)]
    linked = query(
        star,
        "SELECT count(*) FILTER (provider_key > 0), count(*) FILTER (payer_key > 0), count(*) "
        "FROM analytics.fact_encounters",
    )[0]
    assert linked[0] == linked[2] and linked[1] == linked[2]  # every encounter's provider, payer
    observations = query(
        star,
        "SELECT count(*), count(value_numeric), count(DISTINCT units) FROM analytics.fact_observations",
    )[0]
    assert observations[0] > 0 and observations[1] > 0 and observations[2] >= 3
    bands = {b for (b,) in query(star, "SELECT DISTINCT age_band FROM analytics.dim_patient")}
    assert bands <= {"0-17", "18-34", "35-49", "50-64", "65+", "Unknown"} and len(bands) >= 4
    (readmissions, deaths, inpatient_los) = query(
        star,
        "SELECT count(*) FILTER (readmission_30d), count(*) FILTER (mortality_flag), "
        "min(length_of_stay_days) FILTER (encounter_class = 'inpatient') FROM analytics.fact_encounters",
    )[0]
    assert readmissions > 0 and deaths > 0 and inpatient_los >= 1
    # Readmission is only flagged on inpatient stays followed by another within 30 days.
    wrong = query(
        star,
        "SELECT count(*) FROM analytics.fact_encounters f JOIN healthsim.encounters e USING (encounter_id) "
        "WHERE f.readmission_30d AND NOT EXISTS (SELECT 1 FROM healthsim.encounters n "
        "WHERE n.patient_id = e.patient_id AND n.encounter_class = 'inpatient' "
        "AND n.start_at >= e.stop_at AND n.start_at <= e.stop_at + INTERVAL 30 DAY)",
    )
    assert wrong == [(0,)]
    dates = query(
        star, "SELECT date_key, full_date FROM analytics.dim_date WHERE date_key = 20240229"
    )
    assert [(k, str(d)) for k, d in dates] == [(20240229, "2024-02-29")]


def test_documented_analysis_runs(star):
    page = (Path(__file__).resolve().parents[1] / "docs" / "healthsim.md").read_text()
    sql = page.split("<!-- healthsim-analysis -->")[1].split("```sql")[1].split("```")[0]
    rows = query(star, sql)
    assert rows and all(0 <= rate <= 1 for *_, rate in rows if rate is not None)


def test_foreign_key_check_fails_on_dangling_key(star):
    _execute(star, "DELETE FROM analytics.dim_facility WHERE facility_key = 1")
    result = _evaluate("foreign_keys_resolve", "fact_encounters")
    assert not result.passed
    assert result.metadata["unresolved_by_column"].value["facility_key"] > 0


def test_reconciliation_check_fails_on_one_cent(star):
    assert _evaluate("totals_reconcile", "fact_claims").passed
    _execute(
        star,
        "UPDATE analytics.fact_claims SET claim_amount = claim_amount + 0.01 WHERE claim_id = (SELECT min(claim_id) FROM analytics.fact_claims)",
    )
    result = _evaluate("totals_reconcile", "fact_claims")
    assert not result.passed
    delta = float(result.metadata["fact_claim_amount"].value) - float(
        result.metadata["source_claim_amount"].value
    )
    assert round(delta, 2) == 0.01


def test_reconciliation_check_fails_on_missing_encounter(star):
    _execute(
        star,
        "DELETE FROM analytics.fact_encounters WHERE encounter_id = (SELECT min(encounter_id) FROM analytics.fact_encounters)",
    )
    result = _evaluate("totals_reconcile", "fact_encounters")
    assert not result.passed
    assert result.metadata["fact_rows"].value == result.metadata["source_rows"].value - 1


def test_date_key_check_fails_on_unknown_date(star):
    _execute(
        star,
        "UPDATE analytics.fact_diagnoses SET onset_date_key = -1 WHERE condition_id = (SELECT min(condition_id) FROM analytics.fact_diagnoses)",
    )
    result = _evaluate("date_key_present", "fact_diagnoses")
    assert not result.passed and result.metadata["rows_without_date"].value == 1


def test_unknown_patient_and_facility_checks(star):
    """Damage 3 of issue 14: 45% of fact_diagnoses on patient -1 passed every check."""
    assert _evaluate("patient_known", "fact_diagnoses").passed
    assert _evaluate("unknown_facility_share", "fact_diagnoses").passed
    _execute(star, "UPDATE analytics.fact_diagnoses SET patient_key = -1 WHERE rowid % 2 = 0")
    result = _evaluate("patient_known", "fact_diagnoses")
    assert not result.passed and result.metadata["unknown_patient_rows"].value > 0
    _execute(star, "UPDATE analytics.fact_diagnoses SET facility_key = -1 WHERE rowid % 2 = 0")
    result = _evaluate("unknown_facility_share", "fact_diagnoses")
    assert not result.passed and result.metadata["unknown_facility_share"].value > 0.4


def test_every_check_has_a_failing_case(star):
    """Break each fact in every way; every check of every fact must then fail."""
    for fact, date_key in checks.FACT_DATE_KEYS.items():
        amount_column = (checks.RECONCILED_AMOUNTS[fact] or (None,))[0]
        first_fk = next(iter(checks.FACT_FOREIGN_KEYS[fact]))
        _execute(
            star,
            f"UPDATE analytics.{fact} SET {first_fk} = 987654321 WHERE {date_key} = (SELECT max({date_key}) FROM analytics.{fact})",
        )
        _execute(star, f"UPDATE analytics.{fact} SET {date_key} = NULL WHERE rowid = 0")
        if amount_column:
            _execute(
                star,
                f"UPDATE analytics.{fact} SET {amount_column} = {amount_column} + 1 WHERE rowid = 1",
            )
        else:
            _execute(star, f"DELETE FROM analytics.{fact} WHERE rowid = 1")
        _execute(star, f"UPDATE analytics.{fact} SET patient_key = -1 WHERE rowid = 2")
        _execute(star, f"UPDATE analytics.{fact} SET facility_key = -1 WHERE rowid % 5 = 0")
        for rule in checks.RULES:
            assert not _evaluate(rule, fact).passed, (fact, rule)


def _dimension_rule(name: str, dim: str):
    [audit] = [a for a in checks.dimension_audits(dim) if a.name == name]
    from resources.publish import AuditContext

    with local_warehouse().session() as session:
        table = f"analytics.{dim}"
        return audit.rule(AuditContext(session=session, table=table, published=table))


def test_dimension_checks_fail_on_duplicate_null_or_missing_unknown_member(star):
    for dim in checks.DIMENSION_KEYS:
        assert _dimension_rule("key_unique", dim).passed, dim
        assert _dimension_rule("unknown_member_present", dim).passed, dim
    _execute(
        star,
        "INSERT INTO analytics.dim_procedure SELECT * FROM analytics.dim_procedure "
        "WHERE procedure_key = (SELECT max(procedure_key) FROM analytics.dim_procedure)",
    )
    result = _dimension_rule("key_unique", "dim_procedure")
    assert not result.passed and result.metadata["duplicate_keys"].value == 1
    _execute(star, "DELETE FROM analytics.dim_medication WHERE medication_key = -1")
    assert not _dimension_rule("unknown_member_present", "dim_medication").passed
    _execute(star, "UPDATE analytics.dim_date SET date_key = NULL WHERE date_key = -1")
    result = _dimension_rule("key_unique", "dim_date")
    assert not result.passed and result.metadata["rows_with_null_key"].value == 1


def test_dimension_pointing_at_a_dimension_has_no_orphans(star):
    assert checks.DIMENSION_FOREIGN_KEYS["dim_patient"] == {
        "geography_key": "dim_geography.geography_key"
    }
    assert _dimension_rule("foreign_keys_resolve", "dim_patient").passed
    _execute(
        star,
        "DELETE FROM analytics.dim_geography WHERE geography_key = "
        "(SELECT max(geography_key) FROM analytics.dim_patient)",
    )
    result = _dimension_rule("foreign_keys_resolve", "dim_patient")
    assert not result.passed and result.metadata["unresolved_by_column"].value["geography_key"] > 0
