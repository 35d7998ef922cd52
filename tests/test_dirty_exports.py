"""Issue 14: real exports with real damage. One test per damage; each failed before the fix.

The clean base is the HealthSim generator's Synthea-layout export (always available) or the
real Synthea sample in ../shared (skipped cleanly without it); tests/support/dirty_corpus.py
applies the damage. Totals are conserved: loaded + quarantined = data rows in the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import dirty_corpus as dirty
from tests.support.healthsim import install_geography, query

# Whole HealthSim/FHIR loads of damaged real exports, one per damage.
pytestmark = pytest.mark.slow

PATIENT_LOAD = "key:fhir/patient_data or key:fhir/fhir_patients or key:healthsim/patients"
CLINICAL = (
    "key:healthsim/patients or key:healthsim/encounters or key:healthsim/conditions "
    "or key:healthsim/organizations"
)
HEALTHSIM_ENTITIES = ("patients", "encounters", "conditions", "claims", "medications", "procedures")


def synthea_export(landing_dir: Path, sample_sources, patients: int = 40) -> Path:
    """The generator's Synthea-layout export moved to data/landing/synthea (both pipelines)."""
    written = sample_sources("healthsim", healthsim_patients=patients)
    target = landing_dir / "synthea"
    target.mkdir(parents=True, exist_ok=True)
    for path in written["healthsim"]:
        shutil.move(str(path), target / path.name)
    return target


@pytest.fixture
def export(landing_dir, sample_sources, warehouse_path) -> Path:
    install_geography(warehouse_path)
    return synthea_export(landing_dir, sample_sources)


def fhir_vs_healthsim(warehouse_path: Path) -> list[tuple]:
    return query(
        warehouse_path,
        "SELECT h.patient_id, f.patient_id, f.birth_date = h.birth_date, "
        "f.deceased_date IS NOT DISTINCT FROM h.death_date, "
        "f.postal_code IS NOT DISTINCT FROM h.zip_code, f.address_line = h.address "
        "FROM healthsim.patients h FULL JOIN "
        "(SELECT * FROM fhir.patient_data WHERE reject_reason IS NULL) f USING (patient_id)",
    )


def test_spreadsheet_resave_gives_the_same_patients_everywhere(export, materialize, warehouse_path):
    """Damages 1 and 2: the same re-saved file gave different ZIPs, and 1,000 vs 0 patients."""
    damage = dirty.resave_in_spreadsheet(export / "patients.csv")
    assert materialize(PATIENT_LOAD).success
    pairs = fhir_vs_healthsim(warehouse_path)
    assert len(pairs) == len(damage.touched)
    assert all(h is not None and f is not None and all(same) for h, f, *same in pairs), pairs
    loaded = dict(
        (pid, (str(b), str(d) if d else "", z or "", str(e)))
        for pid, b, d, z, e in query(
            warehouse_path,
            "SELECT patient_id, birth_date, death_date, zip_code, healthcare_expenses "
            "FROM healthsim.patients",
        )
    )
    deceased = 0
    for pid, original in damage.touched.items():
        birth, death, zip_code, expenses = loaded[pid]
        assert birth == original["BIRTHDATE"]
        assert death == original["DEATHDATE"]
        deceased += bool(death)
        assert zip_code == original["ZIP"]  # leading zeros restored
        assert abs(float(expenses) - float(original["HEALTHCARE_EXPENSES"])) < 0.01
    assert deceased > 0
    assert any(z.startswith("0") for _, _, _, z, _ in [(p, *v) for p, v in loaded.items()])


def test_real_synthea_resaved_loads_the_same(shared_dir, landing_dir, materialize, warehouse_path):
    install_geography(warehouse_path)
    target = landing_dir / "synthea"
    target.mkdir(parents=True)
    shutil.copy(shared_dir / "data" / "synthea" / "patients.csv", target / "patients.csv")
    damage = dirty.resave_in_spreadsheet(target / "patients.csv")
    assert materialize(PATIENT_LOAD).success
    pairs = fhir_vs_healthsim(warehouse_path)
    assert len(pairs) == len(damage.touched) == 27
    assert all(all(same) for _, _, *same in pairs)
    zips = dict(query(warehouse_path, "SELECT patient_id, zip_code FROM healthsim.patients"))
    assert zips["bdf24b75-bb30-509a-58ae-03a793239a32"] == "01013"


def test_orphan_clinical_rows_are_quarantined(export, materialize, warehouse_path):
    """Damage 3: conditions of rejected or absent patients loaded onto patient -1."""
    dirty.corrupt_values(export / "patients.csv", {0: {"BIRTHDATE": "someday"}})
    orphans = dirty.append_orphans(
        export / "conditions.csv",
        0,
        {"PATIENT": "00000000-0000-0000-0000-{index:012d}"},
        count=5,
    )
    assert materialize(CLINICAL).success
    reasons = query(
        warehouse_path,
        "SELECT reject_reason FROM healthsim.conditions_rejected",
    )
    rejected_patient = query(warehouse_path, "SELECT count(*) FROM healthsim.patients_rejected")[0][
        0
    ]
    assert rejected_patient == 1
    assert sum("is not a loaded patient" in r for (r,) in reasons) >= orphans.added + 1
    (unknown,) = query(
        warehouse_path,
        "SELECT count(*) FROM healthsim.conditions c WHERE NOT EXISTS "
        "(SELECT 1 FROM healthsim.patients p WHERE p.patient_id = c.patient_id)",
    )[0]
    assert unknown == 0


def test_short_rows_are_quarantined_with_their_line(
    export, landing_dir, materialize, warehouse_path
):
    """Damage 4: one short row failed the whole load with 'Error when sniffing file'."""
    lines_before = dirty.data_rows(export / "patients.csv")
    dirty.append_short_rows(export / "patients.csv", count=2)
    generic = landing_dir / "patients"
    dirty.file_without_columns(
        generic / "extract.csv",
        ["patient_id", "birth_date", "gender"],
        [["G1", "1990-01-01", "F"], ["G2", "1991-02-02"], ["G3", "1992-03-03", "M"]],
    )
    assert materialize(PATIENT_LOAD).success
    fhir = query(
        warehouse_path,
        "SELECT source_file, reject_reason, reject_detail FROM fhir.patient_data "
        "WHERE reject_reason = 'malformed_row' ORDER BY 1, 3",
    )
    assert [(f, d.split(":")[0]) for f, _, d in fhir] == [
        ("extract.csv", "line 3"),
        ("patients.csv", f"line {lines_before + 2}"),
        ("patients.csv", f"line {lines_before + 3}"),
    ]
    healthsim = query(
        warehouse_path,
        "SELECT reject_reason FROM healthsim.patients_rejected ORDER BY 1",
    )
    assert [r.split(":")[0] for (r,) in healthsim] == [
        f"malformed CSV row at line {lines_before + 2}",
        f"malformed CSV row at line {lines_before + 3}",
    ]
    ids = {r for (r,) in query(warehouse_path, "SELECT id FROM fhir.fhir_patients")}
    assert {"G1", "G3"} <= ids and "G2" not in ids
    # Conservation, per source: loaded + quarantined = data lines in the file.
    (loaded, rejected) = query(
        warehouse_path,
        "SELECT (SELECT count(*) FROM healthsim.patients), "
        "(SELECT count(*) FROM healthsim.patients_rejected)",
    )[0]
    assert loaded + rejected == dirty.data_rows(export / "patients.csv")
    per_file = dict(
        query(warehouse_path, "SELECT source_file, count(*) FROM fhir.patient_data GROUP BY 1")
    )
    assert per_file == {
        "patients.csv": dirty.data_rows(export / "patients.csv"),
        "extract.csv": dirty.data_rows(generic / "extract.csv"),
    }


def test_workbook_lookup_sheet_and_contract(landing_dir, materialize, warehouse_path):
    """Damage 5: a code table on the first sheet became two Patients; a CSV without
    birth_date and gender loaded without a word."""
    folder = landing_dir / "patients"
    folder.mkdir(parents=True)
    dirty.lookup_first_workbook(
        folder / "registry.xlsx",
        ["patient_id", "first_name", "birth_date", "gender"],
        [["X1", "Ada", "1970-01-01", "F"], ["X2", "Bo", "1971-01-01", "M"]],
    )
    dirty.lookup_only_workbook(folder / "codes.xlsx")
    dirty.file_without_columns(folder / "names.csv", ["patient_id", "first_name"], [["N1", "Al"]])
    assert materialize("key:fhir/patient_data or key:fhir/fhir_patients").success
    ids = sorted(r for (r,) in query(warehouse_path, "SELECT id FROM fhir.fhir_patients"))
    assert ids == ["X1", "X2"]
    refused = dict(
        query(warehouse_path, "SELECT file_name, message FROM fhir.rejected_files ORDER BY 1")
    )
    assert set(refused) == {"codes.xlsx", "names.csv"}
    assert "missing required column(s) birth_date, gender" in refused["names.csv"]
    assert "columns found: patient_id, first_name" in refused["names.csv"]
    assert "codes (id, description)" in refused["codes.xlsx"]


def test_corrupted_numbers_and_zips_are_recorded(export, materialize, warehouse_path):
    """Damage 6: corrupted numbers became NULL without a reason, 0 ZIPs became 00000."""
    _, rows = dirty.read_rows(export / "patients.csv")
    # Los Angeles coordinates on a row of another state (Boston's if the row is Californian).
    elsewhere = (
        {"LAT": "42.3601", "LON": "-71.0589"}
        if rows[3]["STATE"] == "California"
        else {"LAT": "34.0522", "LON": "-118.2437"}
    )
    damage = dirty.corrupt_values(
        export / "patients.csv",
        {
            0: {"ZIP": "0", "LAT": "40,7x"},
            1: {"ZIP": "00000", "HEALTHCARE_COVERAGE": "1.234 USD"},
            2: {"ZIP": "n/a", "HEALTHCARE_EXPENSES": "1,234"},
            3: elsewhere,
        },
    )
    assert materialize(f"{PATIENT_LOAD} or key:fhir/data_quality_report").success
    issues = dict(query(warehouse_path, "SELECT patient_id, field_issues FROM healthsim.patients"))
    ids = list(damage.touched)
    assert "ZIP zero ZIP [0]" in issues[ids[0]] and "LAT not a number [40,7x]" in issues[ids[0]]
    assert "ZIP zero ZIP [00000]" in issues[ids[1]]
    assert "HEALTHCARE_COVERAGE not a number [1.234 USD]" in issues[ids[1]]
    assert "ZIP not numeric [n/a]" in issues[ids[2]]
    assert "HEALTHCARE_EXPENSES ambiguous thousands separator [1,234]" in issues[ids[2]]
    assert "LAT/LON not in state" in issues[ids[3]]
    zips = query(
        warehouse_path,
        "SELECT count(*) FROM healthsim.patients WHERE zip_code = '00000'",
    )[0][0]
    assert zips == 0
    # The FHIR quality report counts the unusable ZIPs with their reason.
    report = query(
        warehouse_path,
        "SELECT zip_zero, zip_not_numeric FROM fhir.data_quality_report WHERE scope = 'overall'",
    )
    assert report == [(2, 1)]


def test_empty_files_are_refused_and_the_rest_loads(
    export, landing_dir, materialize, warehouse_path
):
    """Damage 7: an empty patient CSV got a misleading error."""
    dirty.empty_file(landing_dir / "patients" / "empty.csv")
    dirty.file_without_columns(
        landing_dir / "patients" / "ok.csv",
        ["patient_id", "birth_date", "gender"],
        [["E1", "1990-01-01", "F"]],
    )
    assert materialize("key:fhir/patient_data or key:fhir/fhir_patients").success
    refused = query(warehouse_path, "SELECT file_name, reason FROM fhir.rejected_files")
    assert refused == [("empty.csv", "empty file (no header, no rows)")]
    assert "E1" in {r for (r,) in query(warehouse_path, "SELECT id FROM fhir.fhir_patients")}


def test_totals_are_conserved_per_source(export, materialize, warehouse_path):
    """loaded + quarantined = data rows in the files, for every HealthSim entity."""
    dirty.resave_in_spreadsheet(export / "encounters.csv", money_columns=("TOTAL_CLAIM_COST",))
    dirty.append_short_rows(export / "conditions.csv", delimiter=",")
    dirty.append_orphans(export / "procedures.csv", 0, {"ENCOUNTER": "nope-{index}"}, count=3)
    selection = " or ".join(f"key:healthsim/{e}" for e in HEALTHSIM_ENTITIES)
    assert materialize(selection).success
    for entity in HEALTHSIM_ENTITIES:
        loaded, rejected = query(
            warehouse_path,
            f"SELECT (SELECT count(*) FROM healthsim.{entity}), "
            f"(SELECT count(*) FROM healthsim.{entity}_rejected)",
        )[0]
        assert loaded + rejected == dirty.data_rows(export / f"{entity}.csv"), entity
    # The re-saved encounters (semicolons, M/D/YYYY H:MM) still load.
    assert query(warehouse_path, "SELECT count(*) FROM healthsim.encounters")[0][0] > 0


def test_sample_data_never_touches_a_users_export(landing_dir, monkeypatch, tmp_path):
    """Damage 10: sample-data overwrote the user's patients.csv, left their other files
    beside the sample's, and wrote to data/landing whatever PLATFORM_LANDING_DIR said."""
    from click.testing import CliRunner

    from narr_platform.cli import main
    from narr_platform.sample_data import MANIFEST_NAME

    user = landing_dir / "synthea"
    user.mkdir(parents=True)
    (user / "patients.csv").write_text("Id,BIRTHDATE\nmine,2000-01-01\n")
    (user / "notes.txt").write_text("my export\n")
    monkeypatch.chdir(tmp_path)  # the default must not be ./data/landing
    runner = CliRunner()
    refused = runner.invoke(main, ["sample-data", "--only", "synthea"])
    assert refused.exit_code != 0
    assert str(user / "patients.csv") in refused.output and "--force" in refused.output
    assert (user / "patients.csv").read_text() == "Id,BIRTHDATE\nmine,2000-01-01\n"
    assert not (tmp_path / "data").exists()
    # Elsewhere (the platform's folder by default) it writes and records what it wrote.
    other = landing_dir / "healthsim"
    ok = runner.invoke(main, ["sample-data", "--only", "healthsim", "--healthsim-patients", "5"])
    assert ok.exit_code == 0, ok.output
    assert (other / "patients.csv").is_file() and (landing_dir / MANIFEST_NAME).is_file()
    # Running again replaces only its own files; an edit by a person makes it refuse.
    again = runner.invoke(main, ["sample-data", "--only", "healthsim", "--healthsim-patients", "5"])
    assert again.exit_code == 0, again.output
    with (other / "conditions.csv").open("a") as handle:
        handle.write("edited by hand\n")
    edited = runner.invoke(main, ["sample-data", "--only", "healthsim"])
    assert edited.exit_code != 0 and "conditions.csv" in edited.output
    # --force writes the sample anyway; the user's other files are never removed.
    forced = runner.invoke(main, ["sample-data", "--only", "synthea", "--force"])
    assert forced.exit_code == 0, forced.output
    assert (user / "notes.txt").read_text() == "my export\n"


def test_directory_merge_conflicts_and_shared_source_ids(landing_dir, materialize, warehouse_path):
    """Damage 8: same name and address but different phone and coordinates collapsed
    silently; two organizations sharing a source id kept without a flag; ZIP 2451.0 became
    NULL; a Massachusetts address with Los Angeles coordinates kept as is."""
    from tests.support.directory import (
        GOOD_FACILITIES,
        facility,
        write_all_sources,
        write_source,
    )

    facilities = [
        *GOOD_FACILITIES,
        facility("Twin Clinic", address_line1="9 Twin St", phone="617-555-0001", id="TC-1"),
        facility(
            "Twin Clinic",
            address_line1="9 Twin St",
            phone="617-555-0002",
            latitude=42.40,
            longitude=-71.10,
            id="TC-2",
        ),
        facility("First Org", address_line1="1 First St", id="SHARED-7"),
        facility("Second Org", address_line1="2 Second St", id="SHARED-7"),
        facility("Float Zip", address_line1="3 Float St", zip_code=2451.0, city="Waltham"),
        facility("Far Away", address_line1="4 Far St", latitude=34.0522, longitude=-118.2437),
    ]
    write_all_sources(landing_dir, facilities)
    write_source(landing_dir, "treatment_centers_master.part-0002.json", "all_facilities", [])
    (landing_dir / "directory" / "treatment_centers_master.part-0003.json").write_text("")
    selection = (
        "key:directory/stg_treatment_centers or key:directory/stg_narr_residences or "
        "key:directory/stg_recovery_centers or key:directory/stg_recovery_organizations or "
        "key:directory/organizations or key:directory/merge_conflicts"
    )
    assert materialize(selection).success
    conflicts = query(
        warehouse_path,
        "SELECT conflict, field, chosen_value, all_values FROM directory.merge_conflicts",
    )
    by_field = {(c, f): (chosen, values) for c, f, chosen, values in conflicts}
    assert by_field[("field_values_differ", "phone")] == (
        "617-555-0001",
        "617-555-0001 | 617-555-0002",
    )
    assert ("field_values_differ", "latitude") in by_field
    assert by_field[("source_id_shared", "source_record_id")][1].count("org_") == 2
    orgs = dict(
        query(
            warehouse_path,
            "SELECT name, zip_code || '/' || coalesce(coordinate_issue, '') "
            "FROM directory.organizations",
        )
    )
    assert orgs["Float Zip"] == "02451/"
    assert orgs["Far Away"] == "02108/not in state"
    # Damage 7: the empty part file is listed, not skipped silently.
    refused = query(warehouse_path, "SELECT file_name, reason FROM directory.rejected_files")
    assert refused == [("treatment_centers_master.part-0003.json", "empty file (no JSON document)")]


def test_svi_vintages_are_recorded_and_the_newest_wins(shared_dir, landing_dir, warehouse_path):
    """Damage 9: an SVI 2020 file loaded into the table described as SVI 2022, and nothing
    recorded the vintage."""
    from tests.support.reference import reference_definitions

    folder = landing_dir / "reference" / "svi"
    dirty.svi_two_vintages(shared_dir / "data/svi/2022svi_pa_co_cdc.csv", folder)
    defs = reference_definitions()
    import dagster as dg

    keys = dg.AssetSelection.from_string("key:reference/ref_svi_county").resolve(
        defs.resolve_asset_graph()
    )
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(keys)
    )
    assert result.success
    rows = query(
        warehouse_path,
        "SELECT count(*), min(svi_vintage), max(svi_vintage), count(*) FILTER (rpl_themes = 0.4321) "
        "FROM reference.ref_svi_county",
    )
    assert rows == [(67, 2022, 2022, 0)]
    meta = result.asset_materializations_for_node("reference__ref_svi_county")[0].metadata
    assert meta["vintages"].value == {"2022": 67} and meta["superseded_rows"].value == 67
    (comment,) = query(
        warehouse_path,
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'reference' "
        "AND table_name = 'ref_svi_county'",
    )[0]
    assert "2022" in comment
    # Alone, the 2020 file loads as 2020: the vintage comes from the file, not the layout.
    (folder / "2022svi_pa_co_cdc.csv").unlink()
    assert (
        defs.resolve_implicit_global_asset_job_def()
        .execute_in_process(asset_selection=list(keys))
        .success
    )
    assert query(warehouse_path, "SELECT DISTINCT svi_vintage FROM reference.ref_svi_county") == [
        (2020,)
    ]
    # ... and says so: the table is described as the 2022 release.
    alone = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(keys)
    )
    meta = alone.asset_materializations_for_node("reference__ref_svi_county")[0].metadata
    assert meta["vintage_note"].value == "loaded 2020 (67 rows), described as 2022"
    (warning,) = [
        e for e in alone.get_asset_check_evaluations() if e.check_name == "vintage_as_described"
    ]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN


def test_directory_zip_contradicting_its_state_is_flagged(landing_dir, materialize, warehouse_path):
    """A Massachusetts address with ZIP 90012 (Los Angeles) was kept without a word."""
    from tests.support.directory import GOOD_FACILITIES, facility, write_all_sources

    facilities = [
        *GOOD_FACILITIES,
        facility("Wrong Zip Clinic", address_line1="8 Shore Rd", zip_code="90012"),
    ]
    write_all_sources(landing_dir, facilities)
    selection = (
        "key:directory/stg_treatment_centers or key:directory/stg_narr_residences or "
        "key:directory/stg_recovery_centers or key:directory/stg_recovery_organizations or "
        "key:directory/organizations"
    )
    result = materialize(selection)
    assert result.success
    flags = dict(query(warehouse_path, "SELECT name, zip_state_issue FROM directory.organizations"))
    assert flags["Wrong Zip Clinic"] == "ZIP not in state [90012 in MA]"
    assert sum(v is not None for v in flags.values()) == 1  # kept, not dropped; others clean
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    warning = checks["zip_matches_state"]
    assert not warning.passed and warning.severity.value == "WARN"
    assert warning.metadata["failing_rows"].value == 1
    meta = result.asset_materializations_for_node("directory__organizations")[0].metadata
    assert meta["zip_not_in_state"].value == 1


def test_unusable_stop_dates_are_quarantined_with_file_and_line(
    export, materialize, warehouse_path
):
    """A present but unusable STOP became a silent NULL; an empty STOP is a legit NULL."""
    _, conditions = dirty.read_rows(export / "conditions.csv")
    resolved = next(i for i, row in enumerate(conditions) if row["STOP"])
    dirty.corrupt_values(export / "conditions.csv", {resolved: {"STOP": "someday"}})
    dirty.corrupt_values(export / "medications.csv", {2: {"STOP": "13/45/2020"}})
    # A malformed line right after the header: the lines of the rows below it shift by one.
    lines = (export / "conditions.csv").read_text().splitlines(keepends=True)
    (export / "conditions.csv").write_text("".join([lines[0], "short,row\n", *lines[1:]]))
    selection = " or ".join(
        f"key:healthsim/{e}" for e in ("patients", "encounters", "conditions", "medications")
    )
    assert materialize(selection).success
    reasons = {
        entity: [
            r
            for (r,) in query(
                warehouse_path, f"SELECT reject_reason FROM healthsim.{entity}_rejected"
            )
            if r.startswith("STOP")
        ]
        for entity in ("conditions", "medications")
    }
    assert reasons == {
        "conditions": [f"STOP not a date: someday (conditions.csv line {resolved + 3})"],
        "medications": ["STOP impossible date: 13/45/2020 (medications.csv line 4)"],
    }
    (line,) = query(
        warehouse_path,
        "SELECT source_line FROM healthsim.conditions_rejected WHERE reject_reason LIKE 'STOP%'",
    )[0]
    assert line == resolved + 3
    for entity in ("conditions", "medications"):
        loaded, rejected = query(
            warehouse_path,
            f"SELECT (SELECT count(*) FROM healthsim.{entity}), "
            f"(SELECT count(*) FROM healthsim.{entity}_rejected)",
        )[0]
        assert loaded + rejected == dirty.data_rows(export / f"{entity}.csv"), entity
    # Empty STOP stays a legitimate NULL: those rows load.
    (open_medications,) = query(
        warehouse_path, "SELECT count(*) FROM healthsim.medications WHERE stop_at IS NULL"
    )[0]
    assert open_medications > 0
