"""FHIR Patient pipeline end to end on real files: every landing format, each kind of bad
row, the checks (each with a failing case), FHIR validation, and the Bulk export."""

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from fhir_assets import checks
from fhir_assets.patient_mapping import SYNTHEA_IDENTIFIER_SYSTEM
from resources import local_warehouse

# Whole FHIR pipeline runs end to end, one per test.
pytestmark = pytest.mark.slow

FHIR = dg.AssetSelection.groups("fhir")
HEADER = "patient_id,first_name,last_name,birth_date,gender,address,city,state,postal_code,phone,email,race,ethnicity"


def rows(warehouse_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return con.sql(sql).fetchall()


def resources_by_id(warehouse_path: Path) -> dict[str, dict]:
    return {
        i: json.loads(r)
        for i, r in rows(warehouse_path, "SELECT id, resource_json FROM fhir.fhir_patients")
    }


def land(folder: Path, name: str, text: str, mtime: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def handmade_landing(landing_dir: Path) -> Path:
    """One small file per format, each row a known case; landed in a known order."""
    folder = landing_dir / "patients"
    # 1) comma CSV with header: dirt of every kind.
    land(
        folder,
        "a_extract.csv",
        HEADER
        + "\n"
        + "\n".join(
            [
                "  P1 , Ann  ,Lee,1990-03-04,F,1 Main St,Boston,ma,02155,(617) 555-0101,ann@example.org,white,nonhispanic",
                ",NoId,Person,1980-01-01,M,,,,,,,,",
                "PT 2#,Bad,Id,1980-01-01,M,,,,,,,,",
                "P3,Impossible,Date,1980-13-01,M,,,,,,,,",
                "P4,Future,Born,2090-01-01,female,,,,,,,,",
                "P5,José,Núñez,03/04/1990,male,,,,,,,,",
                "P6,Old,Record,19900304,m,,,,,,,,",
                "P7,,,,Femal,,,,,,,,",
            ]
        )
        + "\n",
        mtime=1_700_000_000,
    )
    # 2) semicolon CSV, header: P6 again (a newer record of the same patient).
    land(
        folder,
        "b_clinic.csv",
        HEADER.replace(",", ";") + "\nP6;New;Record;1990-03-04;M;;;;;;;;\n",
        mtime=1_700_000_100,
    )
    # 3) headerless tab-separated extract in the generic column order.
    land(
        folder,
        "c_headerless.txt",
        "P8\tTab\tSeparated\t2001-12-31\tother\t\t\t\t\t\t\t\t\n",
        1_700_000_200,
    )
    # 4) NDJSON and 5) a JSON array (aliases: sex, dob).
    land(
        folder,
        "d_portal.ndjson",
        json.dumps(
            {
                "patient_id": "P9",
                "first_name": "Zoë",
                "last_name": "李",
                "birth_date": "1975-05-05",
                "gender": "U",
            }
        )
        + "\n",
        1_700_000_300,
    )
    land(
        folder,
        "e_batch.json",
        json.dumps(
            [
                {
                    "id": "P10",
                    "given_name": "Arr",
                    "family_name": "Ay",
                    "dob": "1960-06-06",
                    "sex": "f",
                }
            ]
        ),
        1_700_000_400,
    )
    # 6) Parquet with a typed DATE column.
    table = pa.table(
        {
            "patient_id": ["P11"],
            "first_name": ["Par"],
            "last_name": ["Quet"],
            "birth_date": pa.array([__import__("datetime").date(1950, 1, 2)]),
            "gender": ["MALE"],
        }
    )
    pq.write_table(table, folder / "f_registry.parquet")
    os.utime(folder / "f_registry.parquet", (1_700_000_500, 1_700_000_500))
    # 7) XLSX: P1 again, newest file of all, so it wins over the CSV row.
    workbook = xlsxwriter.Workbook(str(folder / "g_legacy.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_row(
        0, 0, ["patient_id", "first_name", "last_name", "birth_date", "gender", "postal_code"]
    )
    sheet.write_row(1, 0, ["P1", "Annie", "Lee", "1990-03-04", "female", "02155"])
    workbook.close()
    os.utime(folder / "g_legacy.xlsx", (1_700_000_600, 1_700_000_600))
    return folder


def test_every_format_and_each_bad_row(handmade_landing, materialize, warehouse_path):
    result = materialize(FHIR)
    assert result.success
    by_id = resources_by_id(warehouse_path)
    assert sorted(by_id) == ["P1", "P10", "P11", "P5", "P6", "P7", "P8", "P9"]
    # Each format contributed rows.
    formats = dict(
        rows(warehouse_path, "SELECT source_format, count(*) FROM fhir.patient_data GROUP BY 1")
    )
    assert formats == {"csv": 10, "json": 2, "parquet": 1, "xlsx": 1}
    # Rejected rows carry file, row and reason.
    rejected = {
        (f, r): (reason, detail)
        for f, r, reason, detail in rows(
            warehouse_path,
            "SELECT source_file, source_row, reason, detail FROM fhir.rejected_patients",
        )
    }
    assert rejected == {
        ("a_extract.csv", 1): ("duplicate_patient_id", "superseded by g_legacy.xlsx row 1"),
        ("a_extract.csv", 2): ("missing_patient_id", None),
        ("a_extract.csv", 3): ("invalid_patient_id", "patient_id PT 2#"),
        ("a_extract.csv", 4): ("unparsable_birth_date", "birth_date 1980-13-01"),
        ("a_extract.csv", 5): ("future_birth_date", "birth_date 2090-01-01"),
        ("a_extract.csv", 7): ("duplicate_patient_id", "superseded by b_clinic.csv row 1"),
    }
    # Latest file wins, values trimmed, dates and genders normalized, non-ASCII kept.
    assert by_id["P1"]["name"] == [{"use": "official", "family": "Lee", "given": ["Annie"]}]
    assert by_id["P6"]["name"][0]["given"] == ["New"]
    assert by_id["P5"]["birthDate"] == "1990-03-04" and by_id["P5"]["name"][0]["family"] == "Núñez"
    assert by_id["P8"]["gender"] == "other" and by_id["P8"]["birthDate"] == "2001-12-31"
    assert by_id["P9"]["gender"] == "unknown" and by_id["P9"]["name"][0]["given"] == ["Zoë"]
    assert by_id["P10"]["gender"] == "female" and by_id["P10"]["birthDate"] == "1960-06-06"
    assert by_id["P11"]["gender"] == "male" and by_id["P11"]["birthDate"] == "1950-01-02"
    # Absent elements are omitted, never null or empty (P7: no name, no birth date).
    assert by_id["P7"] == {
        "resourceType": "Patient",
        "id": "P7",
        "identifier": [{"use": "usual", "system": "urn:narr-platform:patient-id", "value": "P7"}],
        "gender": "unknown",
    }
    for _, text in rows(warehouse_path, "SELECT id, resource_json FROM fhir.fhir_patients"):
        assert "null" not in text and "[]" not in text and "{}" not in text
    report = {
        r[0]: r
        for r in rows(
            warehouse_path,
            "SELECT source_file, total_records, mapped, rejected, valid_gender, valid_birth_date, "
            "rejected_duplicate_patient_id, populated_given_name FROM fhir.data_quality_report",
        )
    }
    assert report["(all files)"][1:] == (14, 8, 6, 13, 11, 2, 13)
    assert report["a_extract.csv"][1:4] == (8, 2, 6)
    # Every landed row is a resource or a rejected row.
    assert sum(formats.values()) == len(by_id) + len(rejected)


def test_address_telecom_and_us_core_extensions(landing_dir, materialize, warehouse_path):
    land(
        landing_dir / "patients",
        "one.csv",
        HEADER
        + "\nP1,Ann,Lee,1990-03-04,F,1 Main St,Boston,ma,02155,(617) 555-0101,ann@example.org,black,hispanic\n",
        1_700_000_000,
    )
    assert materialize(FHIR).success
    resource = resources_by_id(warehouse_path)["P1"]
    assert resource["address"] == [
        {
            "use": "home",
            "line": ["1 Main St"],
            "city": "Boston",
            "state": "MA",
            "postalCode": "02155",
            "country": "US",
        }
    ]
    assert resource["telecom"] == [
        {"system": "phone", "value": "(617) 555-0101", "use": "home"},
        {"system": "email", "value": "ann@example.org", "use": "home"},
    ]
    race, ethnicity = resource["extension"]
    assert race["url"] == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
    assert race["extension"][0]["valueCoding"]["code"] == "2054-5"
    assert race["extension"][1] == {"url": "text", "valueString": "Black or African American"}
    assert ethnicity["extension"][0]["valueCoding"]["code"] == "2135-2"
    assert list(resource) == [
        "resourceType",
        "id",
        "extension",
        "identifier",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "address",
    ]


def test_all_checks_pass_then_each_fails_on_a_broken_table(
    handmade_landing, materialize, warehouse_path
):
    result = materialize(FHIR)
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {
        "fhir_patient_ids_valid": True,
        "fhir_patient_ids_unique": True,
        "fhir_gender_in_value_set": True,
        "fhir_dates_in_fhir_range": True,
        "fhir_coordinates_in_range": True,
        "fhir_r4_model_validation": True,
        "row_count_drop": True,
    }
    warehouse = local_warehouse()
    rules = (
        checks.ids_valid,
        checks.ids_unique,
        checks.gender_in_value_set,
        checks.dates_in_fhir_range,
        checks.coordinates_in_range,
    )
    with warehouse.session() as session:
        table = "fhir.broken_patients"
        session.execute(f"CREATE TABLE {table} AS SELECT * FROM fhir.fhir_patients")
        for rule in rules:
            assert rule(session, table).passed
        assert checks.fhir_model_validation(session, table).passed
        # A duplicate id, an id that is not a FHIR id, a bad gender, a year JSON would write
        # as 12000-01-02, a latitude that is NaN: each fails its rule, naming the row's id
        # and its source file.
        session.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE id = 'P5'")
        dup = checks.ids_unique(session, table)
        assert not dup.passed and dup.metadata["duplicate_keys"].value == 1
        session.execute(f"UPDATE {table} SET id = 'P 8' WHERE id = 'P8'")
        bad_id = checks.ids_valid(session, table)
        assert bad_id.metadata["invalid_ids"].value == 1
        assert bad_id.metadata["examples"].value == ["P 8"]
        [source_file] = bad_id.metadata["source_files"].value
        assert source_file.endswith("c_headerless.txt")
        session.execute(f"UPDATE {table} SET gender = 'F' WHERE id = 'P10'")
        assert checks.gender_in_value_set(session, table).metadata["outside_value_set"].value == 1
        session.execute(f"UPDATE {table} SET birth_date = DATE '12000-01-02' WHERE id = 'P11'")
        dates = checks.dates_in_fhir_range(session, table)
        assert not dates.passed and dates.metadata["examples"].value[0].startswith("P11 / ")
        session.execute(f"UPDATE {table} SET latitude = 'NaN' WHERE id = 'P6'")
        coordinates = checks.coordinates_in_range(session, table)
        assert coordinates.metadata["bad_coordinates"].value == 1
        for rule in rules:
            assert not rule(session, table).passed, rule
        # Damage to a document itself (not made by the mapping) is what the non-blocking
        # model validation of a sample sees: a Person, a malformed birthDate.
        session.execute(
            f"UPDATE {table} SET resource_json = replace(resource_json, '\"Patient\"', '\"Person\"') WHERE id = 'P9'"
        )
        session.execute(
            f"UPDATE {table} SET resource_json = replace(resource_json, '1950-01-02', '1950-1-2') WHERE id = 'P11'"
        )
        validation = checks.fhir_model_validation(session, table)
        assert not validation.passed
        assert {"P9", "P11"} <= set(validation.metadata["first_errors"].value)


def test_sample_generator_is_deterministic_with_dirt(tmp_path):
    from fhir_assets.sample import write_patient_files

    first = write_patient_files(tmp_path / "one", 3_000, 7)
    second = write_patient_files(tmp_path / "two", 3_000, 7)
    assert [p.name for p in first] == [p.name for p in second]
    assert {p.suffix for p in first} == {".csv", ".parquet", ".ndjson", ".json", ".xlsx"}
    for a, b in zip(first, second, strict=True):
        if a.suffix != ".xlsx":  # XLSX carries its creation time
            assert a.read_bytes() == b.read_bytes(), a.name
    with duckdb.connect() as con:
        csv = str(first[0])
        genders = {
            g
            for (g,) in con.sql(
                f"SELECT DISTINCT gender FROM read_csv('{csv}', all_varchar=true)"
            ).fetchall()
        }
        assert {"M", "F", "male", "female", "x"} <= genders
        dates = [
            d
            for (d,) in con.sql(
                f"SELECT birth_date FROM read_csv('{csv}', all_varchar=true)"
            ).fetchall()
        ]
        assert any(d and "/" in d for d in dates) and any(d and len(d) == 8 for d in dates)
        assert any(d in ("1980-13-01", "2001-02-30") for d in dates)
        names = [
            n
            for (n,) in con.sql(
                f"SELECT first_name FROM read_csv('{csv}', all_varchar=true)"
            ).fetchall()
        ]
        assert any(n and not n.isascii() for n in names) and any(
            n and n != n.strip() for n in names
        )
    total = sum(
        duckdb.sql(f"SELECT count(*) FROM read_csv('{p}', all_varchar=true)").fetchall()[0][0]
        for p in first
        if p.suffix == ".csv"
    )
    assert total == 1_200  # 35% + 5% of 3,000


def test_default_sample_end_to_end(sample_sources, materialize, warehouse_path):
    sample_sources("patients", patients=4_000)
    result = materialize(FHIR)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    landed, mapped, rejected = rows(
        warehouse_path,
        "SELECT (SELECT count(*) FROM fhir.patient_data), (SELECT count(*) FROM fhir.fhir_patients), "
        "(SELECT count(*) FROM fhir.rejected_patients)",
    )[0]
    assert landed == 4_000 and mapped + rejected == landed
    reasons = {
        r for (r,) in rows(warehouse_path, "SELECT DISTINCT reason FROM fhir.rejected_patients")
    }
    assert {
        "missing_patient_id",
        "invalid_patient_id",
        "unparsable_birth_date",
        "future_birth_date",
        "duplicate_patient_id",
    } <= reasons
    metadata = result.asset_materializations_for_node("fhir__fhir_patients")[0].metadata
    assert metadata["dagster/row_count"].value == mapped
    assert metadata["records_per_second"].value > 0
    # The JSON built member by member equals the struct mapping with its null strip.
    from fhir_assets.assets import MAPPING_INPUT_SQL
    from tests.support.fhir import struct_mapping_json

    with local_warehouse().session() as session:
        reference = struct_mapping_json(session, MAPPING_INPUT_SQL)
    built = resources_by_id(warehouse_path)
    assert len(built) == mapped and built == reference
    assert all(list(built[i]) == list(reference[i]) for i in built)  # same member order


def test_synthea_export_is_recognised_and_validates(
    shared_dir, landing_dir, materialize, warehouse_path
):
    target = landing_dir / "synthea"
    target.mkdir(parents=True)
    shutil.copy(shared_dir / "data" / "synthea" / "patients.csv", target / "patients.csv")
    result = materialize(FHIR)
    assert result.success
    synthea = rows(
        warehouse_path,
        f"SELECT id, resource_json, state FROM fhir.fhir_patients WHERE identifier_system = '{SYNTHEA_IDENTIFIER_SYSTEM}'",
    )
    assert len(synthea) == 27
    assert {s for _, _, s in synthea} == {"MA"}  # full state names become USPS codes
    ssns = {
        s
        for (s,) in rows(
            warehouse_path, f"SELECT \"SSN\" FROM read_csv('{target / 'patients.csv'}')"
        )
    }
    from fhir.resources.R4B.patient import Patient

    for _, text, _ in synthea:
        resource = json.loads(text)
        Patient.model_validate(resource)
        assert not any(ssn in text for ssn in ssns)
        assert resource["extension"][0]["url"].endswith("us-core-race")
    assert any("deceasedDateTime" in t for _, t, _ in synthea)
    validation = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "fhir_r4_model_validation"
    ]
    assert validation[0].passed and validation[0].metadata["validated"].value == 27


def test_unreadable_file_is_refused_naming_it_and_the_rest_loads(
    landing_dir, materialize, warehouse_path
):
    land(
        landing_dir / "patients",
        "ok.csv",
        HEADER + "\nP1,A,B,1990-01-01,F,,,,,,,,\n",
        1_700_000_000,
    )
    land(landing_dir / "patients", "broken.parquet", "this is not parquet", 1_700_000_100)
    assert materialize(FHIR).success
    refused = rows(warehouse_path, "SELECT file_name, reason FROM fhir.rejected_files")
    assert [name for name, _ in refused] == ["broken.parquet"]
    assert "cannot read as parquet" in refused[0][1]
    assert list(resources_by_id(warehouse_path)) == ["P1"]


def test_file_without_patient_id_column_fails_naming_it(landing_dir, materialize):
    land(landing_dir / "patients", "wrong.csv", "a,b\n1,2\n", 1_700_000_000)
    result = materialize(FHIR, raise_on_error=False)
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "wrong.csv" in message
    assert "missing required column(s) patient_id, birth_date, gender" in message
    assert "columns found: a, b" in message


def test_bulk_export_job(handmade_landing, materialize, tmp_path, warehouse_path):
    assert materialize(FHIR).success
    from narr_platform.definitions import defs

    job = defs().resolve_job_def("fhir_bulk_export")
    export_root = tmp_path / "exports"
    result = job.execute_in_process(
        run_config={"ops": {"export_fhir_patients": {"config": {"export_root": str(export_root)}}}}
    )
    assert result.success
    (folder,) = list(export_root.iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["transactionTime"].endswith("Z") and manifest["requiresAccessToken"] is False
    assert manifest["output"] == [
        {"type": "Patient", "url": (folder / "Patient.ndjson").as_uri(), "count": 8}
    ]
    assert manifest["error"] == [
        {
            "type": "OperationOutcome",
            "url": (folder / "OperationOutcome.ndjson").as_uri(),
            "count": 6,
        }
    ]
    lines = (folder / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8
    exported = [json.loads(line) for line in lines]
    assert {r["resourceType"] for r in exported} == {"Patient"}
    assert exported == [
        json.loads(r)
        for (r,) in rows(warehouse_path, "SELECT resource_json FROM fhir.fhir_patients ORDER BY id")
    ]
    outcomes = [
        json.loads(line) for line in (folder / "OperationOutcome.ndjson").read_text().splitlines()
    ]
    assert {o["resourceType"] for o in outcomes} == {"OperationOutcome"}
    diagnostics = {o["issue"][0]["diagnostics"] for o in outcomes}
    assert "a_extract.csv row 4: unparsable_birth_date (birth_date 1980-13-01)" in diagnostics
    parquet = pq.ParquetFile(folder / "Patient.parquet")
    assert parquet.metadata.num_rows == 8
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


def test_export_without_table_fails_clearly(tmp_path):
    from narr_platform.definitions import defs

    job = defs().resolve_job_def("fhir_bulk_export")
    result = job.execute_in_process(
        run_config={
            "ops": {"export_fhir_patients": {"config": {"export_root": str(tmp_path / "x")}}}
        },
        raise_on_error=False,
    )
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "materialize fhir/fhir_patients first" in failure.step_failure_data.error.message


def test_cli_sample_data_and_fhir_export(landing_dir, materialize, tmp_path):
    from click.testing import CliRunner

    from narr_platform.cli import main

    runner = CliRunner()
    generated = runner.invoke(
        main, ["sample-data", "--out", str(landing_dir), "--only", "patients", "--patients", "600"]
    )
    assert generated.exit_code == 0, generated.output
    assert "patients" in generated.output
    assert len(list((landing_dir / "patients").iterdir())) == 6
    assert materialize(FHIR).success
    exported = runner.invoke(main, ["fhir-export", "--out", str(tmp_path / "cli-export")])
    assert exported.exit_code == 0, exported.output
    (folder,) = list((tmp_path / "cli-export").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    lines = (folder / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    assert manifest["output"][0]["count"] == len(lines) > 500


def test_implausible_birth_and_unparsable_deceased_dates(landing_dir, materialize, warehouse_path):
    land(
        landing_dir / "patients",
        "dates.csv",
        "patient_id,first_name,last_name,birth_date,gender,deathdate\n"
        "D1,Very,Old,1800-01-01,F,\n"
        "D2,Bad,Death,1950-01-01,M,sometime\n"
        "D3,Good,Death,1950-01-01,M,2001-02-03\n",
        1_700_000_000,
    )
    assert materialize(FHIR).success
    reasons = dict(rows(warehouse_path, "SELECT patient_id, reason FROM fhir.rejected_patients"))
    assert reasons == {"D1": "implausible_birth_date", "D2": "unparsable_deceased_date"}
    assert resources_by_id(warehouse_path)["D3"]["deceasedDateTime"] == "2001-02-03"
