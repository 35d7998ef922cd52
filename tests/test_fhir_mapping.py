"""The one patient mapping: its contract, its portability to Spark SQL, and the same JSON
from DuckDB and from a real Spark Connect server."""

import json

import pytest
import sqlglot

from fhir_assets.patient_mapping import (
    FHIR_PATIENT_COLUMNS,
    map_patients,
    patient_mapping_sql,
)
from resources import local_warehouse

pytest_plugins = ["tests.spark_server"]

#: Three patients: everything present, nothing optional, and odd values.
INPUT_SQL = """
SELECT * FROM (VALUES
    ('p1', 'urn:test', 'Dr.', 'Ann', 'Lee', 'Jr.', 'F', DATE '1990-03-04', DATE '2020-01-02',
     '1 Main St', 'Boston', 'MA', '02155', 'US', '555-0101', 'ann@example.org', 'white', 'hispanic', 'a.csv'),
    ('p2', 'urn:test', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'b.csv'),
    ('p3', 'urn:test', NULL, 'Zoë "Z"', 'O''Brien', NULL, 'junk', DATE '1901-12-31', NULL,
     NULL, NULL, NULL, '00501', 'US', NULL, 'z@example.org', 'other', NULL, 'c.csv')
) AS t(patient_id, identifier_system, name_prefix, given_name, family_name, name_suffix, gender,
       birth_date, deceased_date, address_line, city, state, postal_code, country, phone, email,
       race, ethnicity, source_file)
"""


def mapped_json(session) -> dict[str, dict]:
    map_patients(session, INPUT_SQL, "fhir.mapping_test")
    return {
        str(i): json.loads(r)
        for i, r in session.fetch_rows(
            "SELECT id, resource_json FROM fhir.mapping_test ORDER BY id"
        )
    }


def test_mapping_transpiles_to_spark_without_duckdb_only_functions():
    sql = patient_mapping_sql()
    code = sqlglot.transpile(sql, read="duckdb", write="duckdb", comments=False)[0]
    assert "json_object" not in code.lower() and "->" not in code  # no lambdas either
    spark = sqlglot.transpile(
        sql, read="duckdb", write="spark", error_level=sqlglot.ErrorLevel.RAISE, comments=False
    )
    assert len(spark) == 1
    assert (
        "STRUCT(" in spark[0] and "TO_JSON(" in spark[0] and "STRUCT_PACK" not in spark[0].upper()
    )


def test_contract_columns_and_missing_column_error():
    with local_warehouse().session() as session:
        resources = mapped_json(session)
        assert [name for name, _ in session.columns("fhir.mapping_test")] == list(
            FHIR_PATIENT_COLUMNS
        )
        with pytest.raises(ValueError, match=r"lacks the columns \['email'\]"):
            map_patients(session, INPUT_SQL.replace("phone, email,", "phone, no_email,"), "fhir.x")
    assert resources["p2"] == {
        "resourceType": "Patient",
        "id": "p2",
        "identifier": [{"use": "usual", "system": "urn:test", "value": "p2"}],
        "gender": "unknown",
    }
    p1 = resources["p1"]
    assert p1["name"] == [
        {"use": "official", "family": "Lee", "given": ["Ann"], "prefix": ["Dr."], "suffix": ["Jr."]}
    ]
    assert p1["deceasedDateTime"] == "2020-01-02"
    p3 = resources["p3"]
    assert p3["name"][0] == {"use": "official", "family": "O'Brien", "given": ['Zoë "Z"']}
    assert p3["gender"] == "unknown"  # junk maps to unknown
    # 'other' race has no OMB category: only the text sub-extension.
    assert p3["extension"][0]["extension"] == [{"url": "text", "valueString": "other"}]
    from fhir.resources.R4B.patient import Patient

    for resource in resources.values():
        Patient.model_validate(resource)


def test_spark_produces_the_same_resources(spark_env):
    from resources.spark_warehouse import build_spark_warehouse

    with build_spark_warehouse().session() as spark:
        on_spark = mapped_json(spark)
    with local_warehouse().session() as duck:
        on_duckdb = mapped_json(duck)
    assert on_spark == on_duckdb
    assert list(on_spark["p1"]) == list(on_duckdb["p1"])  # same key order
