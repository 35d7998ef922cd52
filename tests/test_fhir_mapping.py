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
from tests.support.fhir import struct_mapping_json

pytest_plugins = ["tests.support.spark_server"]

#: Three patients: everything present (optional inputs too), nothing optional, odd values.
INPUT_SQL = """
SELECT * FROM (VALUES
    ('p1', 'urn:test', 'Dr.', 'Ann', 'Lee', 'Jr.', 'F', DATE '1990-03-04', DATE '2020-01-02',
     '1 Main St', 'Boston', 'MA', '02155', 'US', '555-0101', 'ann@example.org', 'white', 'hispanic', 'a.csv',
     'M', 'Middlesex County', CAST(42.4184296 AS DOUBLE), CAST(-71.1061639 AS DOUBLE),
     CAST(1234.50 AS DECIMAL(18, 2)), CAST(0.10 AS DECIMAL(18, 2))),
    ('p2', 'urn:test', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'b.csv',
     NULL, NULL, NULL, NULL, NULL, NULL),
    ('p3', 'urn:test', NULL, 'Zoë "Z"', 'O''Brien', NULL, 'junk', DATE '1901-12-31', NULL,
     NULL, NULL, NULL, '00501', 'US', NULL, 'z@example.org', 'other', NULL, 'c.csv',
     'never married', NULL, CAST(18.5 AS DOUBLE), NULL, NULL, CAST(99.99 AS DECIMAL(18, 2)))
) AS t(patient_id, identifier_system, name_prefix, given_name, family_name, name_suffix, gender,
       birth_date, deceased_date, address_line, city, state, postal_code, country, phone, email,
       race, ethnicity, source_file, marital_status, county, latitude, longitude,
       healthcare_expenses, healthcare_coverage)
"""


def strict_json(text: str) -> dict:
    """RFC 8259 JSON: NaN and Infinity (which Python's json accepts) are refused."""

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def mapped_json(session) -> dict[str, dict]:
    map_patients(session, INPUT_SQL, "fhir.mapping_test")
    return {
        str(i): strict_json(r)
        for i, r in session.fetch_rows(
            "SELECT id, resource_json FROM fhir.mapping_test ORDER BY id"
        )
    }


#: Every combination of present and absent optional fields (13 bits), with text that needs
#: escaping: quotes, backslashes, a tab, a newline, a control character and non-ASCII.
COMBINATIONS_SQL = r"""
SELECT
    'p' || i AS patient_id,
    CASE WHEN i % 7 = 0 THEN NULL ELSE 'urn:test' END AS identifier_system,
    CASE WHEN i & 1 > 0 THEN 'Dr.' END AS name_prefix,
    CASE WHEN i & 2 > 0 THEN 'Zoë "Z" \ ' || chr(9) || i END AS given_name,
    CASE WHEN i & 4 > 0 THEN 'O''Brien' || chr(10) || chr(1) END AS family_name,
    CASE WHEN i & 8 > 0 THEN 'Jr.' END AS name_suffix,
    ['F', 'm', 'other', 'u', NULL, 'junk'][i % 6 + 1] AS gender,
    CASE WHEN i & 16 > 0 THEN DATE '1990-03-04' + CAST(i AS INTEGER) END AS birth_date,
    CASE WHEN i & 32 > 0 THEN DATE '2020-01-02' END AS deceased_date,
    CASE WHEN i & 64 > 0 THEN i || ' Main St' END AS address_line,
    CASE WHEN i & 128 > 0 THEN 'Boston' END AS city,
    CASE WHEN i & 256 > 0 THEN 'MA' END AS state,
    CASE WHEN i & 512 > 0 THEN '02155' END AS postal_code,
    CASE WHEN i & 512 > 0 THEN 'US' END AS country,
    CASE WHEN i & 1024 > 0 THEN '555-0101' END AS phone,
    CASE WHEN i & 2048 > 0 THEN 'a@example.org' END AS email,
    ['white', 'black', 'other', 'Asian', NULL][i % 5 + 1] AS race,
    CASE WHEN i & 4096 > 0 THEN ['hispanic', 'nonhispanic', 'unknown'][i % 3 + 1] END
        AS ethnicity,
    'gen.csv' AS source_file,
    ['M', NULL, 'S', 'D', 'W', 'never married', 'M', NULL][i % 8 + 1] AS marital_status,
    CASE WHEN i % 3 = 1 THEN 'Middlesex County' END AS county,
    CASE WHEN i % 4 IN (2, 3) THEN 42.0 + i / 8192.0 END AS latitude,
    CASE WHEN i % 4 IN (0, 2) THEN -71.123456789012 - i / 1000.0 END AS longitude,
    CASE WHEN i % 5 IN (1, 2) THEN CAST(i * 12.34 AS DECIMAL(18, 2)) END AS healthcare_expenses,
    CASE WHEN i % 5 IN (1, 3) THEN CAST(i * 0.5 AS DECIMAL(18, 2)) END AS healthcare_coverage
FROM range(8192) AS r(i)
"""


def test_mapping_transpiles_to_spark_without_duckdb_only_functions():
    sql = patient_mapping_sql()
    code = sqlglot.transpile(sql, read="duckdb", write="duckdb", comments=False)[0]
    assert "json_object" not in code.lower() and "->" not in code  # no lambdas either
    assert "regexp_replace" not in code.lower()  # no pass over the whole document
    from resources.spark_sql import translate

    [spark] = translate(sql)
    assert "TO_JSON(ARRAY(" in spark.upper() and "JSON_QUOTE(" not in spark.upper()


def test_json_built_member_by_member_equals_the_struct_mapping():
    with local_warehouse().session() as session:
        reference = struct_mapping_json(session, COMBINATIONS_SQL)
        map_patients(session, COMBINATIONS_SQL, "fhir.combinations")
        built = {
            str(i): strict_json(r)
            for i, r in session.fetch_rows("SELECT id, resource_json FROM fhir.combinations")
        }
    assert len(built) == 8192
    assert built == reference
    assert all(list(built[i]) == list(reference[i]) for i in built)  # same member order
    assert {"name", "telecom", "address", "extension", "deceasedDateTime", "maritalStatus"} <= {
        key for resource in built.values() for key in resource
    }
    addresses = [a for r in built.values() for a in r.get("address", [])]
    assert {"extension", "district"} <= {key for a in addresses for key in a}
    assert {e["url"] for r in built.values() for e in r.get("extension", [])} >= {
        "urn:narr-platform:fhir:extension:healthcare-expenses",
        "urn:narr-platform:fhir:extension:healthcare-coverage",
    }
    assert any(len(r) == 4 for r in built.values())  # only resourceType, id, identifier, gender


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
    assert p1["maritalStatus"]["coding"][0]["code"] == "M"
    assert p1["address"][0]["district"] == "Middlesex County"
    assert p1["address"][0]["extension"][0]["extension"] == [
        {"url": "latitude", "valueDecimal": 42.4184296},
        {"url": "longitude", "valueDecimal": -71.1061639},
    ]
    assert [e.get("valueMoney") for e in p1["extension"][2:]] == [
        {"value": 1234.5, "currency": "USD"},
        {"value": 0.1, "currency": "USD"},
    ]
    assert resources["p3"]["maritalStatus"] == {"text": "never married"}  # not a v3 code
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


def test_resource_json_is_stored_as_a_zstd_document_column():
    with local_warehouse().session() as session:
        map_patients(session, COMBINATIONS_SQL, "fhir.stored")
        session.execute("CHECKPOINT")
        compression = dict(
            session.fetch_rows(
                "SELECT column_name, string_agg(DISTINCT compression, ',') "
                "FROM pragma_storage_info('fhir.stored') WHERE segment_type = 'VARCHAR' "
                "GROUP BY column_name"
            )
        )
        assert compression["resource_json"] == "ZSTD"
        assert "ZSTD" not in compression["family_name"]  # query columns keep DuckDB's choice
        assert session.row_count("fhir.stored") == 8192
        with pytest.raises(ValueError, match=r"Document columns \['resource'\]"):
            session.publish("fhir.x", "SELECT 1 AS id", document_columns=("resource",))


@pytest.mark.parametrize("value", ["'NaN'", "'Infinity'", "'-91'"])
def test_a_coordinate_json_cannot_carry_blocks_the_publish(value):
    """The mapping would write ``"valueDecimal":NaN`` (DuckDB's json_valid accepts it): the
    coordinate rule refuses the staged table, names the row and file, and the published
    table keeps its rows."""
    from fhir_assets.audits import FHIR_PATIENT_AUDITS
    from resources.publish import AuditFailed

    with local_warehouse().session() as session:
        map_patients(session, INPUT_SQL, "fhir.guarded", FHIR_PATIENT_AUDITS)
        before = session.fetch_rows("SELECT id, resource_json FROM fhir.guarded ORDER BY id")
        hostile = INPUT_SQL.replace("CAST(18.5 AS DOUBLE)", f"CAST({value} AS DOUBLE)")
        with pytest.raises(AuditFailed) as failure:
            map_patients(session, hostile, "fhir.guarded", FHIR_PATIENT_AUDITS)
        message = failure.value.description
        assert "check fhir_coordinates_in_range failed; 1 failing row(s)" in message
        assert "examples: ['p3 / " in message and "source file(s): c.csv" in message
        assert (
            session.fetch_rows("SELECT id, resource_json FROM fhir.guarded ORDER BY id") == before
        )
        assert session.row_count("fhir._staged_guarded") == 3
