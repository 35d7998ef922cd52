"""Directory source records for the staging tests: good and bad facilities of every kind,
and writers of the four landing files (no tests here)."""

import json


def facility(name, **overrides):
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
    facility("  Harbor Counseling  ", state="Massachusetts", zip_code="02108-1234"),
    facility("Beacon Clinic", state="ma", zip_code="2108", address_line1="5 Elm St"),
    facility(
        "Pine Recovery", state="NY", zip_code=10001, latitude=None, longitude=None, city="New York"
    ),
]
BAD_FACILITIES = {
    "record is not a JSON object": ["just a string"],
    "missing facility_name": facility(None),
    "missing facility_name ": facility("   "),
    "facility_name: expected text": facility(12345),
    "latitude: expected a number": facility("Bad Lat", latitude="not available"),
    "dba_names: expected a list": facility("Bad Dba", dba_names="a, b"),
    "accepts_medicaid: expected true/false": facility("Bad Flag", accepts_medicaid="yes"),
    'unrecognized state: "N/A"': facility("Bad State", state="N/A"),
    "unrecognized state: (missing)": facility("No State", state=None),
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


def write_source(landing_dir, name, key, records):
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


def write_all_sources(landing_dir, facilities):
    write_source(landing_dir, "treatment_centers_master.json", "all_facilities", facilities)
    write_source(landing_dir, "master_directory.json", "all_organizations", NARR + NARR_FILLER)
    write_source(
        landing_dir, "recovery_community_centers_master.json", "all_centers", RCC + RCC_FILLER
    )
    write_source(
        landing_dir, "recovery_community_organizations_master.json", "all_organizations", RCO
    )
