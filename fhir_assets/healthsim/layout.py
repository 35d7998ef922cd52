"""The Synthea CSV layout (v3) that both HealthSim sources land in.

The Synthea sample export and the HealthSim batch generator write the same files with the
same headers, so one reader loads both. Every column is read as text and typed in SQL, so
nothing is type-guessed (ZIPs and codes keep their leading zeros).
"""

from __future__ import annotations

#: Landing folders (relative to the landing root) holding Synthea-layout CSV exports.
SYNTHEA_SOURCE = "synthea"
HEALTHSIM_SOURCE = "healthsim"
CLINICAL_SOURCES = (SYNTHEA_SOURCE, HEALTHSIM_SOURCE)

SYNTHEA_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "Id", "BIRTHDATE", "DEATHDATE", "SSN", "DRIVERS", "PASSPORT", "PREFIX", "FIRST",
        "LAST", "SUFFIX", "MAIDEN", "MARITAL", "RACE", "ETHNICITY", "GENDER", "BIRTHPLACE",
        "ADDRESS", "CITY", "STATE", "COUNTY", "ZIP", "LAT", "LON", "HEALTHCARE_EXPENSES",
        "HEALTHCARE_COVERAGE",
    ),
    "encounters": (
        "Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PROVIDER", "PAYER",
        "ENCOUNTERCLASS", "CODE", "DESCRIPTION", "BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST",
        "PAYER_COVERAGE", "REASONCODE", "REASONDESCRIPTION",
    ),
    "conditions": ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "claims": (
        "Id", "PATIENTID", "PROVIDERID", "PRIMARYPATIENTINSURANCEID",
        "SECONDARYPATIENTINSURANCEID", "DEPARTMENTID", "PATIENTDEPARTMENTID", "DIAGNOSIS1",
        "DIAGNOSIS2", "DIAGNOSIS3", "DIAGNOSIS4", "DIAGNOSIS5", "DIAGNOSIS6", "DIAGNOSIS7",
        "DIAGNOSIS8", "REFERRINGPROVIDERID", "APPOINTMENTID", "CURRENTILLNESSDATE",
        "SERVICEDATE", "SUPERVISINGPROVIDERID", "STATUS1", "STATUS2", "STATUSP",
        "OUTSTANDING1", "OUTSTANDING2", "OUTSTANDINGP", "LASTBILLEDDATE1", "LASTBILLEDDATE2",
        "LASTBILLEDDATEP", "HEALTHCARECLAIMTYPEID1", "HEALTHCARECLAIMTYPEID2",
    ),
    "medications": (
        "START", "STOP", "PATIENT", "PAYER", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST",
        "PAYER_COVERAGE", "DISPENSES", "TOTALCOST", "REASONCODE", "REASONDESCRIPTION",
    ),
    "procedures": (
        "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST",
        "REASONCODE", "REASONDESCRIPTION",
    ),
    "organizations": (
        "Id", "NAME", "ADDRESS", "CITY", "STATE", "ZIP", "LAT", "LON", "PHONE", "REVENUE",
        "UTILIZATION",
    ),
    "providers": (
        "Id", "ORGANIZATION", "NAME", "GENDER", "SPECIALITY", "ADDRESS", "CITY", "STATE",
        "ZIP", "LAT", "LON", "UTILIZATION",
    ),
    "payers": (
        "Id", "NAME", "ADDRESS", "CITY", "STATE_HEADQUARTERED", "ZIP", "PHONE",
        "AMOUNT_COVERED", "AMOUNT_UNCOVERED", "REVENUE", "COVERED_ENCOUNTERS",
        "UNCOVERED_ENCOUNTERS", "COVERED_MEDICATIONS", "UNCOVERED_MEDICATIONS",
        "COVERED_PROCEDURES", "UNCOVERED_PROCEDURES", "COVERED_IMMUNIZATIONS",
        "UNCOVERED_IMMUNIZATIONS", "UNIQUE_CUSTOMERS", "QOLS_AVG", "MEMBER_MONTHS",
    ),
    "observations": (
        "DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE", "UNITS",
        "TYPE",
    ),
    "immunizations": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST"),
    "allergies": (
        "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "SYSTEM", "DESCRIPTION", "TYPE",
        "CATEGORY", "REACTION1", "DESCRIPTION1", "SEVERITY1", "REACTION2", "DESCRIPTION2",
        "SEVERITY2",
    ),
}  # fmt: skip


def text_schema(entity: str) -> dict[str, str]:
    """The explicit all-text read schema of one Synthea file."""
    return {column: "VARCHAR" for column in SYNTHEA_COLUMNS[entity]}
