"""The star schema declared once: every table, what it reads and which dimension each key names.

Everything else is derived from :data:`STAR_TABLES`:

- an asset's deps are the tables it reads plus the dimensions its foreign keys name
  (``assets.py``), so a fact is built only after every dimension it points to;
- the ``foreign_keys_resolve`` check of each fact walks its :attr:`StarTable.references`,
  ``totals_reconcile`` compares it with :attr:`StarTable.source`, ``date_key_present``
  looks at :attr:`StarTable.date_key` (``checks.py``);
- ``tests/test_healthsim_star.py`` parses each ``sql/<table>.sql`` and fails when the SQL
  reads a table that is not declared here or does not produce a declared key column.

Dimensions carry an unknown member with key -1; a fact key that cannot be resolved is -1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import dagster as dg

ANALYTICS = "analytics"

#: Dimension -> its key column.
DIMENSION_KEYS: Mapping[str, str] = {
    "dim_date": "date_key",
    "dim_geography": "geography_key",
    "dim_patient": "patient_key",
    "dim_facility": "facility_key",
    "dim_diagnosis": "diagnosis_key",
    "dim_procedure": "procedure_key",
    "dim_medication": "medication_key",
    "dim_provider": "provider_key",
    "dim_payer": "payer_key",
}


@dataclasses.dataclass(frozen=True)
class StarTable:
    name: str
    description: str
    #: Tables outside the star this one is built from (``schema.table``); a fact's first is
    #: the canonical table it reconciles with, row for row.
    reads: tuple[str, ...]
    #: Foreign key column -> the dimension whose key it holds.
    references: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: A fact's primary date key (never the unknown date).
    date_key: str | None = None
    #: A fact's amount columns that sum to the cent to its source's.
    amounts: tuple[str, ...] = ()

    @property
    def is_fact(self) -> bool:
        return self.name.startswith("fact_")

    @property
    def source(self) -> str:
        return self.reads[0]

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([ANALYTICS, self.name])

    @property
    def deps(self) -> tuple[dg.AssetKey, ...]:
        """What is read, then each referenced dimension once, in declaration order."""
        keys = [dg.AssetKey(table.split(".")) for table in self.reads]
        keys += [dg.AssetKey([ANALYTICS, dim]) for dim in dict.fromkeys(self.references.values())]
        return tuple(dict.fromkeys(keys))

    def foreign_keys(self) -> dict[str, str]:
        """Foreign key column -> ``dimension.key_column``."""
        return {column: f"{dim}.{DIMENSION_KEYS[dim]}" for column, dim in self.references.items()}


#: Keys every fact carries: the patient, where it happened and the patient's home county.
_WHO_AND_WHERE = {
    "patient_key": "dim_patient",
    "facility_key": "dim_facility",
    "geography_key": "dim_geography",
}

STAR_TABLES: tuple[StarTable, ...] = (
    StarTable(
        "dim_date",
        "Calendar days (key YYYYMMDD) spanning every date the facts refer to, with year, "
        "quarter, month, weekday and weekend flag; -1 is the unknown date.",
        reads=(
            "healthsim.encounters",
            "healthsim.conditions",
            "healthsim.claims",
            "healthsim.procedures",
            "healthsim.medications",
            "healthsim.observations",
        ),
    ),
    StarTable(
        "dim_geography",
        "US counties (key = county FIPS as a number) with the Social Vulnerability Index "
        "rank and quartile and the Area Deprivation Index, from reference.ref_geography.",
        reads=("reference.ref_geography",),
    ),
    StarTable(
        "dim_patient",
        "Patients with sex, age, age band (0-17, 18-34, 35-49, 50-64, 65+) and home county.",
        reads=("healthsim.patients", "healthsim.encounters"),
        references={"geography_key": "dim_geography"},
    ),
    StarTable(
        "dim_facility",
        "Care organizations where encounters happen; where a recovery-services directory "
        "organization lies within 250 m, it is linked (directory_org_id).",
        reads=("healthsim.organizations", "directory.organizations"),
    ),
    StarTable(
        "dim_diagnosis",
        "Diagnosis codes (SNOMED CT) from conditions, claims and encounter reasons.",
        reads=("healthsim.conditions", "healthsim.claims", "healthsim.encounters"),
    ),
    StarTable(
        "dim_procedure",
        "Procedure codes (SNOMED CT) performed in encounters.",
        reads=("healthsim.procedures",),
    ),
    StarTable(
        "dim_medication",
        "Medication codes (RxNorm) ordered in encounters.",
        reads=("healthsim.medications",),
    ),
    StarTable(
        "dim_provider",
        "Clinicians (providers) with gender, speciality and the care organization they work at.",
        reads=("healthsim.providers",),
    ),
    StarTable(
        "dim_payer",
        "Payers of encounters: Medicare, Medicaid, commercial plans and no insurance.",
        reads=("healthsim.payers",),
    ),
    StarTable(
        "fact_encounters",
        "One row per encounter: patient, facility, provider, payer, county, dates, class, "
        "length of stay, "
        "30-day readmission flag (on the index inpatient stay), mortality flag (death during "
        "or within 30 days after) and costs.",
        reads=("healthsim.encounters",),
        references={
            **_WHO_AND_WHERE,
            "reason_diagnosis_key": "dim_diagnosis",
            "provider_key": "dim_provider",
            "payer_key": "dim_payer",
            "start_date_key": "dim_date",
            "end_date_key": "dim_date",
        },
        date_key="start_date_key",
        amounts=("total_claim_cost", "payer_coverage"),
    ),
    StarTable(
        "fact_diagnoses",
        "One row per recorded diagnosis: patient, diagnosis, facility, county, onset and "
        "resolution dates.",
        reads=("healthsim.conditions", "healthsim.encounters"),
        references={
            **_WHO_AND_WHERE,
            "diagnosis_key": "dim_diagnosis",
            "onset_date_key": "dim_date",
            "resolved_date_key": "dim_date",
        },
        date_key="onset_date_key",
    ),
    StarTable(
        "fact_claims",
        "One row per claim: patient, facility, county, primary diagnosis, service date, and "
        "billed, paid and outstanding amounts to the cent.",
        reads=("healthsim.claims", "healthsim.encounters"),
        references={
            **_WHO_AND_WHERE,
            "primary_diagnosis_key": "dim_diagnosis",
            "service_date_key": "dim_date",
        },
        date_key="service_date_key",
        amounts=("claim_amount", "paid_amount", "outstanding_amount"),
    ),
    StarTable(
        "fact_procedures",
        "One row per procedure performed: patient, procedure, facility, county, date, cost.",
        reads=("healthsim.procedures", "healthsim.encounters"),
        references={
            **_WHO_AND_WHERE,
            "procedure_key": "dim_procedure",
            "procedure_date_key": "dim_date",
        },
        date_key="procedure_date_key",
        amounts=("base_cost",),
    ),
    StarTable(
        "fact_medications",
        "One row per medication order: patient, medication, facility, county, start date, "
        "dispenses and costs.",
        reads=("healthsim.medications", "healthsim.encounters"),
        references={
            **_WHO_AND_WHERE,
            "medication_key": "dim_medication",
            "start_date_key": "dim_date",
        },
        date_key="start_date_key",
        amounts=("total_cost", "payer_coverage"),
    ),
    StarTable(
        "fact_observations",
        "One row per observation (vital signs, laboratory results, survey answers): patient, "
        "facility, county, date, LOINC code, and the numeric value with its UCUM unit or the "
        "text answer.",
        reads=("healthsim.observations", "healthsim.encounters"),
        references={**_WHO_AND_WHERE, "observation_date_key": "dim_date"},
        date_key="observation_date_key",
    ),
)

FACTS: tuple[StarTable, ...] = tuple(t for t in STAR_TABLES if t.is_fact)
DIMENSIONS: tuple[StarTable, ...] = tuple(t for t in STAR_TABLES if not t.is_fact)
