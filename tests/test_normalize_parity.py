"""The normalization rules (resources/normalize.py) give the same answers on DuckDB and on
Spark, and malformed CSV rows are kept aside on both engines while the rest loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources import local_warehouse
from resources import normalize as n
from resources.spark_warehouse import build_spark_warehouse

pytest_plugins = ["tests.support.spark_server"]

RAW = [
    "2012-11-21", "2012-1-5", "2012-11-21T08:00:00Z", "2012-11-21T23:30:00-05:00",
    "5/25/1989", "11/21/2012", "02/30/2012", "19890525", "1989-13-01", "someday", "",
    "1/27/2023 4:17 PM", "1013", "0", "00000", "2451.0", "02138-1234", "21381234", "n/a",
    "12", "227,761.06", "227.761,06", "12,5", "1,234", "12 USD", "NaN", "-71.15",
    "1e400", "-1e400",
]  # fmt: skip


def rules_sql() -> str:
    values = ", ".join(f"({i}, '{v}')" for i, v in enumerate(RAW))
    state = "'MA'"
    return f"""
SELECT
    i,
    CAST({n.date_sql("x")} AS VARCHAR), {n.date_issue_sql("x")},
    CAST({n.timestamp_sql("x")} AS VARCHAR), {n.timestamp_issue_sql("x")},
    {n.zip5_sql("x")}, {n.zip4_sql("x")}, {n.zip_issue_sql("x")},
    {n.zip_state_issue_sql(n.zip5_sql("x"), state)},
    CAST({n.number_sql("x", "DECIMAL(18, 2)")} AS VARCHAR), {n.number_issue_sql("x")},
    {n.number_sql("x")},
    {n.state_usps_sql("'massachusetts'")},
    {n.coordinate_issue_sql("34.05", "-118.24", state)}
FROM (VALUES {values}) AS raw(i, x)
ORDER BY i
"""


def test_normalization_rules_match_on_spark(spark_env):
    with local_warehouse().session() as duck:
        expected = duck.fetch_rows(rules_sql())
    with build_spark_warehouse().session() as spark:
        actual = spark.fetch_rows(rules_sql())
    assert [tuple(r) for r in actual] == [tuple(r) for r in expected]
    by_raw = dict(zip(RAW, expected, strict=True))
    assert by_raw["5/25/1989"][1] == "1989-05-25"
    assert by_raw["2012-11-21T23:30:00-05:00"][3].startswith("2012-11-22 04:30:00")
    assert by_raw["1013"][5] == "01013" and by_raw["0"][7] == "zero ZIP"


def test_a_number_beyond_double_is_out_of_range_not_infinity():
    """1e400 overflows a DOUBLE to Infinity, which no source meant and JSON cannot carry."""
    with local_warehouse().session() as duck:
        by_raw = dict(zip(RAW, duck.fetch_rows(rules_sql()), strict=True))
    assert by_raw["1e400"][10] == by_raw["-1e400"][10] == "out of range"
    assert by_raw["1e400"][11] is None and by_raw["-1e400"][11] is None
    assert by_raw["-71.15"][11] == -71.15 and by_raw["NaN"][10] is None


def test_malformed_rows_are_kept_aside_on_spark(spark_env, tmp_path: Path):
    """Kept aside with their physical line on both engines (Spark gave no line: "line ?"),
    a blank line counted and two identical malformed rows told apart."""
    path = tmp_path / "p.csv"
    path.write_text("id,name,zip\n1,a,01013\n2,b\n\n3,c,02155\n2,b\n4,d,02155,x\n")
    results = []
    for warehouse in (local_warehouse(), build_spark_warehouse()):
        with warehouse.session() as s:
            s.register_file_view(
                "landing_p",
                [path],
                "csv",
                columns={"id": "VARCHAR", "name": "VARCHAR", "zip": "VARCHAR"},
                options={"header": True, "store_rejects": True},
            )
            rows = sorted(tuple(r) for r in s.fetch_rows("SELECT id, zip FROM landing_p"))
            bad = s.fetch_rows(
                "SELECT source_line, raw_record, source_file "
                f"FROM ({s.malformed_rows_sql('landing_p')}) m ORDER BY 1"
            )
            results.append((rows, [(line, raw.strip(), file) for line, raw, file in bad]))
    expected_bad = [(3, "2,b", str(path)), (6, "2,b", str(path)), (7, "4,d,02155,x", str(path))]
    assert results[0] == results[1] == ([("1", "01013"), ("3", "02155")], expected_bad)


def test_shipped_zip_state_tables_match_the_zipcodes_package():
    """resources/zip_state_tables.json is derived data: it must equal what zipcodes gives."""
    import json

    shipped = json.loads((Path(n.__file__).with_name(n.ZIP_STATE_TABLES)).read_text())
    assert shipped == n.compute_zip_state_tables()
    assert "021" in n.zip3_by_state()["MA"] and "900" in n.zip3_by_state()["CA"]


@pytest.mark.timeout(1500)
def test_synthea_reader_quarantine_on_spark(spark_env, landing_dir, sample_sources, materialize):
    """The one Synthea reader on the Databricks deployment: a re-saved export with a short row
    and an empty file loads, quarantines and refuses exactly as on DuckDB."""
    import shutil

    from resources.geography import us_counties
    from tests.support import dirty_corpus as dirty

    written = sample_sources("healthsim", healthsim_patients=15)
    target = landing_dir / "synthea"
    target.mkdir(parents=True, exist_ok=True)
    for path in written["healthsim"]:
        shutil.move(str(path), target / path.name)
    dirty.resave_in_spreadsheet(target / "patients.csv")
    dirty.append_short_rows(target / "patients.csv", delimiter=";")
    dirty.empty_file(landing_dir / "patients" / "empty.csv")
    counties = ", ".join(
        f"('{c.fips}', '{c.name.replace(chr(39), chr(39) * 2)}', '{c.state}')"
        for c in us_counties()
    )
    with build_spark_warehouse().session() as spark:
        spark.create_table_as(
            "reference.ref_geography",
            f"SELECT * FROM (VALUES {counties}) AS g(county_fips, county_name, state_usps)",
        )
    result = materialize(
        "key:fhir/patient_data or key:healthsim/patients",
        raise_on_error=False,
    )
    assert result.success, [e.event_specific_data for e in result.get_step_failure_events()]
    with build_spark_warehouse().session() as spark:
        loaded = spark.fetch_rows("SELECT count(*) FROM healthsim.patients")[0][0]
        rejected = spark.fetch_rows("SELECT reject_reason FROM healthsim.patients_rejected")
        fhir = spark.fetch_rows(
            "SELECT count(*), count(CASE WHEN reject_reason IS NULL THEN 1 END) "
            "FROM fhir.patient_data"
        )[0]
        refused = spark.fetch_rows("SELECT file_name FROM fhir.rejected_files")
        zips = spark.fetch_rows(
            "SELECT count(*) FROM healthsim.patients WHERE zip_code NOT RLIKE '^[0-9]{5}$'"
        )[0][0]
    assert loaded == 15 and zips == 0
    # The short row is the file's 17th line (header + 15 patients + 1), as on DuckDB.
    assert [r[0].split(":")[0] for r in rejected] == ["malformed CSV row at line 17"]
    assert tuple(fhir) == (16, 15)
    assert [r[0] for r in refused] == ["empty.csv"]
