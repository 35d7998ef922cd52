"""Staging the four JSON sources: typing, normalization, quarantine of each kind of bad record."""

import json

import dagster as dg
import duckdb
import pytest

from tests.support.directory import (
    BAD_FACILITIES,
    GOOD_FACILITIES,
    NARR_FILLER,
    RCC_FILLER,
    facility,
    write_all_sources,
    write_source,
)

STAGING = (
    "key:directory/stg_treatment_centers or key:directory/stg_narr_residences "
    "or key:directory/stg_recovery_centers or key:directory/stg_recovery_organizations"
)


def _facilities_with_all_bad_kinds():
    # 100 good records keep the rejected share under 5% so nothing downstream is blocked.
    filler = [facility(f"Filler Clinic {i}", address_line1=f"{i} Filler Way") for i in range(200)]
    bad = [v[0] if isinstance(v, list) else v for v in BAD_FACILITIES.values()]
    return [*GOOD_FACILITIES, *bad, *filler]


def test_each_kind_of_bad_record_is_quarantined_with_its_reason(
    landing_dir, materialize, warehouse_path
):
    write_all_sources(landing_dir, _facilities_with_all_bad_kinds())
    result = materialize(f"{STAGING} or key:directory/rejected_records", raise_on_error=False)
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rejected = con.sql(
            "SELECT source_name, record_position, reason, raw_record FROM directory.rejected_records "
            "ORDER BY source_name, record_position"
        ).fetchall()
        staged = {
            name: con.execute(f"SELECT count(*) FROM directory.stg_{name}").fetchall()[0][0]
            for name in (
                "treatment_centers",
                "narr_residences",
                "recovery_centers",
                "recovery_organizations",
            )
        }
        good = con.sql(
            "SELECT org_name, state_usps, zip5, latitude FROM directory.stg_treatment_centers "
            "ORDER BY record_position LIMIT 3"
        ).fetchall()
        narr = con.sql(
            "SELECT org_name, street, city_name, state_usps, zip5, capacity FROM directory.stg_narr_residences "
            "ORDER BY record_position LIMIT 3"
        ).fetchall()
        rcc = con.sql(
            "SELECT org_name, street, zip5, state_usps, operating_hours FROM directory.stg_recovery_centers "
            "ORDER BY record_position LIMIT 1"
        ).fetchall()
    treatment_reasons = [r[2] for r in rejected if r[0] == "treatment_centers"]
    assert len(treatment_reasons) == len(BAD_FACILITIES)
    for expected, reason in zip(BAD_FACILITIES, treatment_reasons, strict=True):
        assert reason.startswith(expected.strip()), (expected, reason)
    # Positions are 1-based positions in the source array; the raw record is kept as JSON.
    positions = [r[1] for r in rejected if r[0] == "treatment_centers"]
    assert positions == list(
        range(len(GOOD_FACILITIES) + 1, len(GOOD_FACILITIES) + len(BAD_FACILITIES) + 1)
    )
    assert json.loads(rejected[0][3]) == "just a string" or rejected[0][0] != "treatment_centers"
    # staged + rejected = source records, per source
    assert staged["treatment_centers"] + len(treatment_reasons) == len(
        _facilities_with_all_bad_kinds()
    )
    assert staged["narr_residences"] == 3 + len(NARR_FILLER) and [
        r[2] for r in rejected if r[0] == "narr_residences"
    ] == ["missing name"]
    assert staged["recovery_centers"] == 1 + len(RCC_FILLER)
    assert [r[2] for r in rejected if r[0] == "recovery_centers"] == [
        "services: expected a list, got VARCHAR"
    ]
    # State names and lowercase become USPS codes; ZIP+4, 4-digit and numeric ZIPs become 5 digits.
    assert good == [
        ("Harbor Counseling", "MA", "02108", 42.3576),
        ("Beacon Clinic", "MA", "02108", 42.3576),
        ("Pine Recovery", "NY", "10001", None),
    ]
    # NARR one-string addresses with missing parts; the state falls back to the address.
    assert narr == [
        ("Serenity House", "12 Oak St", "Boston", "MA", "02108", "12 beds"),
        ("Hope Home", None, "Worcester", "MA", None, None),
        ("Harbor Counseling", "100 Main St", "Boston", "MA", "02108", "8"),
    ]
    assert rcc == [("Unity RCC", "PO Box 1234", None, "MA", '{"monday":"9-5"}')]
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("stg_treatment_centers", "records_reconciled")].passed
    assert evaluations[("stg_treatment_centers", "rejected_share")].passed
    materialization = result.asset_materializations_for_node("directory__stg_treatment_centers")[0]
    assert materialization.metadata["source_records"].value == len(_facilities_with_all_bad_kinds())
    assert materialization.metadata["rejected_records"].value == len(BAD_FACILITIES)


def test_rejected_share_above_five_percent_fails_and_blocks_downstream(landing_dir, materialize):
    bad = [facility(None) for _ in range(2)]
    write_all_sources(landing_dir, [*GOOD_FACILITIES, *bad])  # 2 of 5 records rejected
    result = materialize(f"{STAGING} or key:directory/organizations", raise_on_error=False)
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    share = evaluations[("stg_treatment_centers", "rejected_share")]
    assert not share.passed
    assert share.metadata["rejected_share"].value == 0.4
    # The blocking check stops the master table from being rebuilt from a broken extract.
    assert not result.asset_materializations_for_node("directory__organizations")


def test_records_are_read_from_numbered_part_files(landing_dir, materialize, warehouse_path):
    write_all_sources(landing_dir, GOOD_FACILITIES)
    (landing_dir / "directory" / "treatment_centers_master.json").unlink()
    facilities = [facility(f"Part Clinic {i}", address_line1=f"{i} Part St") for i in range(30)]
    write_source(
        landing_dir, "treatment_centers_master.part-0001.json", "all_facilities", facilities[:20]
    )
    write_source(
        landing_dir, "treatment_centers_master.part-0002.json", "all_facilities", facilities[20:]
    )
    assert materialize("key:directory/stg_treatment_centers").success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.sql(
            "SELECT regexp_extract(source_file, 'part-[0-9]+'), count(*), max(record_position) "
            "FROM directory.stg_treatment_centers GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("part-0001", 20, 20), ("part-0002", 10, 10)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"all_facilities": [{"facility_name": "A"}, ', "treatment_centers_master.json"),
        ('{"facilities": []}', "no top-level 'all_facilities' array"),
    ],
)
def test_unreadable_source_fails_naming_the_file(landing_dir, materialize, content, message):
    write_all_sources(landing_dir, GOOD_FACILITIES)
    (landing_dir / "directory" / "treatment_centers_master.json").write_text(content)
    result = materialize("key:directory/stg_treatment_centers", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    text = failure.event_specific_data.error.to_string()
    assert message in text
    assert "treatment_centers_master.json" in text
