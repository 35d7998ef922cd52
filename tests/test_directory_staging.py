"""Staging the four JSON sources: typing, normalization, quarantine of each kind of bad record."""

import json

import dagster as dg
import duckdb
import pytest

STAGING = (
    "key:directory/stg_treatment_centers or key:directory/stg_narr_residences "
    "or key:directory/stg_recovery_centers or key:directory/stg_recovery_organizations"
)


def _facility(name, **overrides):
    record = {
        "facility_name": name,
        "dba_names": [],
        "address_line1": "100 Main St",
        "city": "Boston",
        "state": "MA",
        "zip_code": "02108",
        "latitude": 42.3576,
        "longitude": -71.0636,
        "level_of_care": "outpatient",
        "medication_assisted_treatment": True,
        "accepts_medicaid": True,
        "outpatient_capacity": 40,
    }
    record.update(overrides)
    return record


GOOD_FACILITIES = [
    _facility("  Harbor Counseling  ", state="Massachusetts", zip_code="02108-1234"),
    _facility("Beacon Clinic", state="ma", zip_code="2108", address_line1="5 Elm St"),
    _facility(
        "Pine Recovery", state="NY", zip_code=10001, latitude=None, longitude=None, city="New York"
    ),
]
BAD_FACILITIES = {
    "record is not a JSON object": ["just a string"],
    "missing facility_name": _facility(None),
    "missing facility_name ": _facility("   "),
    "facility_name: expected text": _facility(12345),
    "latitude: expected a number": _facility("Bad Lat", latitude="not available"),
    "dba_names: expected a list": _facility("Bad Dba", dba_names="a, b"),
    "accepts_medicaid: expected true/false": _facility("Bad Flag", accepts_medicaid="yes"),
    'unrecognized state: "N/A"': _facility("Bad State", state="N/A"),
    "unrecognized state: (missing)": _facility("No State", state=None),
}

NARR = [
    {
        "name": "Serenity House",
        "address": "12 Oak St, Boston, MA 02108",
        "state": "MA",
        "capacity": "12 beds",
    },
    {"name": "Hope Home", "address": "Worcester, MA", "state": "MA", "capacity": ""},
    {
        "name": "Harbor Counseling",
        "address": "100 Main St, Boston, MA 02108-9999",
        "state": "",
        "capacity": 8,
    },
    {"name": "", "address": "1 Nowhere", "state": "MA"},
]
RCC = [
    {"organization_name": "Unity RCC", "address": "PO Box 1234", "city": "Salem", "state": "MA",
     "services": ["peer recovery coaching"], "annual_reach": "1,200+",
     "operating_hours": {"monday": "9-5"}, "social_media": {"facebook": "x"}},
    {"organization_name": "Bridges RCC", "address": "7 River Rd, Lowell, MA 01852", "city": "Lowell",
     "state": "massachusetts", "services": "coaching", "operating_hours": "by appointment"},
]  # fmt: skip
RCO = [
    {"organization_name": "Unity RCC", "address": "PO Box 1234", "city": "Salem", "state": "MA",
     "services": ["advocacy"]},
]  # fmt: skip


def _write(landing_dir, name, key, records):
    folder = landing_dir / "directory"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({key: records}))
    return path


# Good records that keep each source's rejected share under 5%.
NARR_FILLER = [
    {"name": f"Filler House {i}", "address": f"{i} Filler Rd, Quincy, MA 02169", "state": "MA"}
    for i in range(40)
]
RCC_FILLER = [
    {
        "organization_name": f"Filler RCC {i}",
        "address": f"{i} Side St",
        "city": "Quincy",
        "state": "MA",
    }
    for i in range(40)
]


def _write_all(landing_dir, facilities):
    _write(landing_dir, "treatment_centers_master.json", "all_facilities", facilities)
    _write(landing_dir, "master_directory.json", "all_organizations", NARR + NARR_FILLER)
    _write(landing_dir, "recovery_community_centers_master.json", "all_centers", RCC + RCC_FILLER)
    _write(landing_dir, "recovery_community_organizations_master.json", "all_organizations", RCO)


def _facilities_with_all_bad_kinds():
    # 100 good records keep the rejected share under 5% so nothing downstream is blocked.
    filler = [_facility(f"Filler Clinic {i}", address_line1=f"{i} Filler Way") for i in range(200)]
    bad = [v[0] if isinstance(v, list) else v for v in BAD_FACILITIES.values()]
    return [*GOOD_FACILITIES, *bad, *filler]


def test_each_kind_of_bad_record_is_quarantined_with_its_reason(
    landing_dir, materialize, warehouse_path
):
    _write_all(landing_dir, _facilities_with_all_bad_kinds())
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
    bad = [_facility(None) for _ in range(2)]
    _write_all(landing_dir, [*GOOD_FACILITIES, *bad])  # 2 of 5 records rejected
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
    _write_all(landing_dir, GOOD_FACILITIES)
    (landing_dir / "directory" / "treatment_centers_master.json").unlink()
    facilities = [_facility(f"Part Clinic {i}", address_line1=f"{i} Part St") for i in range(30)]
    _write(
        landing_dir, "treatment_centers_master.part-0001.json", "all_facilities", facilities[:20]
    )
    _write(
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
    _write_all(landing_dir, GOOD_FACILITIES)
    (landing_dir / "directory" / "treatment_centers_master.json").write_text(content)
    result = materialize("key:directory/stg_treatment_centers", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    text = failure.event_specific_data.error.to_string()
    assert message in text
    assert "treatment_centers_master.json" in text
