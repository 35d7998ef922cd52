"""Canonical HealthSim tables: Synthea-layout CSV from every clinical source, typed in-engine.

One reader for both sources (fhir_assets/synthea.py, the same reader fhir/patient_data uses): ``data/landing/synthea/`` (a Synthea export) and
``data/landing/healthsim/`` (the batch generator) hold the same files. Each asset reads its
file from both folders, types it with the SQL beside it (``sql/<entity>.sql``) and writes
``healthsim.<entity>``; rows that cannot be used go to ``healthsim.<entity>_rejected`` with
their reason, so nothing is dropped silently: malformed CSV rows (with their line), rows
whose patient or encounter is not loaded (referential integrity), unusable dates. Files that
do not meet their contract are listed in ``healthsim.rejected_files``. Values that are
unusable but not essential are NULL with the column, reason and raw value in
``field_issues``. Loaded + rejected = data rows read, per file.
"""

import dataclasses

import dagster as dg

from fhir_assets.healthsim.layout import CLINICAL_SOURCES
from fhir_assets.synthea import (
    PATIENTS_VIEW,
    SyntheaRead,
    malformed_rows_sql,
    register_synthea,
    synthea_sql,
)
from resources import LandingZone, Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.contracts import record_rejected_files
from resources.landing import source_files_metadata
from resources.normalize import render
from resources.publish import (
    Audit,
    AuditContext,
    audit_specs,
    audited,
    key_audit,
    row_count_drop_audit,
)
from resources.sql_files import load_sql

HEALTHSIM = WarehouseAssets(group_name="healthsim", owners=["team:healthsim"])
SQL_PACKAGE = "fhir_assets.healthsim.sql"
#: Landing files refused by their contract (empty, a required column missing), per entity.
REJECTED_FILES = "healthsim.rejected_files"


@dataclasses.dataclass(frozen=True)
class CanonicalEntity:
    name: str
    key_column: str
    description: str
    deps: tuple[str, ...] = ()


ENTITIES = (
    CanonicalEntity(
        "patients",
        "patient_id",
        "One row per synthetic patient (Synthea export or HealthSim generator), keyed by UUID: "
        "demographics, home county resolved to its 5-digit FIPS code through ref_geography "
        "(Synthea gives full state names and county names only), birth and death dates.",
        deps=("reference/ref_geography",),
    ),
    CanonicalEntity(
        "organizations",
        "organization_id",
        "The care organizations (hospitals, clinics) where encounters take place, with "
        "address and coordinates; the facilities of the star schema.",
    ),
    CanonicalEntity(
        "encounters",
        "encounter_id",
        "Every patient visit (wellness, ambulatory, outpatient, emergency, inpatient, urgent "
        "care), keyed by UUID, with start/stop, facility, payer and the encounter's claim cost.",
        deps=("healthsim/patients",),
    ),
    CanonicalEntity(
        "conditions",
        "condition_id",
        "Diagnoses (SNOMED CT) recorded at encounters, with onset and resolution dates.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "claims",
        "claim_id",
        "Claims billed for encounters: diagnoses, status, billed amount, paid and "
        "outstanding amounts in dollars and cents.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "medications",
        "medication_id",
        "Medication orders (RxNorm) with dispenses and costs.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "procedures",
        "procedure_id",
        "Procedures (SNOMED CT) performed during encounters, with their base cost.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "providers",
        "provider_id",
        "The clinicians who see patients at encounters and bill claims, each working at one "
        "care organization, with speciality and practice address.",
    ),
    CanonicalEntity(
        "payers",
        "payer_id",
        "The payers of encounters and claims (Medicare, Medicaid, commercial plans, no "
        "insurance), with their headquarters.",
    ),
    CanonicalEntity(
        "observations",
        "observation_id",
        "Measurements and answers recorded at encounters (LOINC): vital signs, laboratory "
        "results with their UCUM units, and survey answers such as smoking status.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "immunizations",
        "immunization_id",
        "Vaccines given at encounters (CVX codes), with the date and base cost.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
    CanonicalEntity(
        "allergies",
        "allergy_id",
        "Allergies and intolerances (SNOMED CT substances, RxNorm medications) with onset, "
        "category and the first recorded reaction and its severity.",
        deps=("healthsim/patients", "healthsim/encounters"),
    ),
)


def key_audits(entity: CanonicalEntity) -> list[Audit]:
    """The entity's key is present and unique (the shared key rule) and the row-count guard."""
    return [
        key_audit(
            [entity.key_column],
            name=f"{entity.name}_key_unique",
            description=f"{entity.key_column} is present and unique in healthsim.{entity.name}.",
        ),
        row_count_drop_audit(),
    ]


def build_canonical_asset(entity: CanonicalEntity) -> dg.AssetsDefinition:
    table = f"healthsim.{entity.name}"
    rejected_table = f"healthsim.{entity.name}_rejected"

    audits = key_audits(entity)

    @HEALTHSIM.asset(
        ["healthsim", entity.name],
        sql=render(load_sql(SQL_PACKAGE, entity.name)),
        deps=[dg.AssetKey.from_user_string(d) for d in entity.deps],
        description=entity.description,
        check_specs=audit_specs(["healthsim", entity.name], audits),
    )
    @audited
    def _canonical(
        context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
    ) -> dg.MaterializeResult:
        files = [
            f for source in CLINICAL_SOURCES for f in landing.files(source, f"{entity.name}.csv")
        ]
        if not files:
            folders = ", ".join(str(landing.folder(s)) for s in CLINICAL_SOURCES)
            raise dg.Failure(
                f"No {entity.name}.csv in {folders}; run `narr-platform sample-data` "
                "or drop a Synthea CSV export there."
            )
        context.log.info(
            f"Reading {entity.name} from {len(files)} file(s): {[str(f) for f in files]}"
        )
        with warehouse.session() as session:
            if entity.name == "patients" and not session.table_exists("reference.ref_geography"):
                raise dg.Failure(
                    "reference.ref_geography is not built: materialize reference/ref_geography "
                    "first (patients resolve their county FIPS codes through it)."
                )
            read = register_synthea(session, entity.name, files)
            record_rejected_files(session, REJECTED_FILES, f"healthsim {entity.name}", read.refused)
            if not read.accepted:
                raise dg.Failure(
                    f"No usable {entity.name}.csv: "
                    + " | ".join(refusal.message for refusal in read.refused)
                )
            try:
                if entity.name == "patients":
                    session.execute(
                        f"CREATE OR REPLACE TEMP VIEW {PATIENTS_VIEW} AS\n"
                        f"{synthea_sql('synthea_patients')}"
                    )
                session.execute(
                    f"CREATE OR REPLACE TEMP VIEW parsed_{entity.name} AS\n"
                    f"{render(load_sql(SQL_PACKAGE, entity.name))}"
                )
                published = session.publish(
                    table,
                    f"SELECT * EXCLUDE (reject_reason) FROM parsed_{entity.name} "
                    "WHERE reject_reason IS NULL",
                    audits,
                    sources=files,
                )
                summary = published.summary
                rejected = session.create_table_as(
                    rejected_table, quarantine_sql(session, entity.name, read)
                )
            except dg.Failure:
                raise  # a failed audit names its check and files itself
            except Exception as exc:
                names = ", ".join(str(f) for f in files)
                raise dg.Failure(f"Could not load {entity.name} from {names}: {exc}") from exc
            for refusal in read.refused:
                context.log.warning(f"Refused {refusal.path}: {refusal.message}")
            by_source = dict(
                session.fetch_rows(f"SELECT source, count(*) FROM {table} GROUP BY 1 ORDER BY 1")
            )
            extra: dict[str, object] = {
                "rejected_rows": rejected.row_count,
                "refused_files": dg.MetadataValue.json([f.message for f in read.refused]),
                "rows_by_source": dg.MetadataValue.json(by_source),
                "source_files": dg.MetadataValue.json([str(f) for f in files]),
                **source_files_metadata(files),
            }
            if entity.name == "patients":
                extra["unmatched_counties"] = int(
                    session.fetch_rows(f"SELECT count(*) FROM {table} WHERE county_fips IS NULL")[
                        0
                    ][0]
                )
        if rejected.row_count:
            context.log.warning(
                f"{rejected.row_count} {entity.name} row(s) rejected; see {rejected_table}"
            )
        context.log.info(f"Loaded {summary.row_count} {entity.name}: {by_source}")
        return dg.MaterializeResult(
            metadata={**summary.metadata(), **extra}, check_results=published.check_results
        )

    return _canonical


def quarantine_sql(session: WarehouseSession, entity: str, read: SyntheaRead) -> str:
    """The rejected rows of ``parsed_<entity>`` plus the file's malformed CSV rows.

    Every quarantined row carries its file (``source_file``) and physical line
    (``source_line``), and its reason names them: ``STOP not a date: someday
    (conditions.csv line 7)``. A well-formed row's line is its ordinal among the file's
    well-formed rows (``source_row``) shifted past the header and the malformed lines before
    it (one line per row: a quoted line break or a blank line before it shifts it). A
    malformed row (too few or too many fields) has no typed values: its columns are NULL
    but the file, and the reason names the line, the error and the raw record.
    """
    parsed = f"parsed_{entity}"
    columns = [(n, t) for n, t in session.columns(parsed) if n != "reject_reason"]
    malformed = malformed_rows_sql(session, read)
    file_name = "regexp_extract(replace(r.source_file, '\\', '/'), '[^/]+$', 0)"
    rejected_parts = [f"r.{name}" for name, _ in columns] + [
        f"r.reject_reason || ' (' || {file_name} || ' line ' "
        "|| CAST(l.source_line AS VARCHAR) || ')' AS reject_reason",
        "l.source_line",
    ]
    malformed_parts = []
    for name, dtype in columns:
        if name == "source_file":
            malformed_parts.append("m.source_file AS source_file")
        elif name == "source":
            malformed_parts.append(
                "regexp_extract(replace(m.source_file, '\\', '/'), '([^/]+)/[^/]+$', 1) AS source"
            )
        else:
            malformed_parts.append(f"CAST(NULL AS {dtype}) AS {name}")
    malformed_parts += [
        "'malformed CSV row at line ' || coalesce(CAST(m.source_line AS VARCHAR), '?') "
        "|| ': ' || m.error || ' [' || coalesce(m.raw_record, '') || ']' AS reject_reason",
        "m.source_line AS source_line",
    ]
    return f"""
WITH rejected AS (SELECT * FROM {parsed} WHERE reject_reason IS NOT NULL),
malformed_lines AS (
    SELECT source_file, source_line,
        row_number() OVER (PARTITION BY source_file ORDER BY source_line) AS ordinal
    FROM ({malformed}) AS m0
    WHERE source_line IS NOT NULL
),
located AS (
    -- the k-th well-formed row is on line 1 (header) + k + the malformed lines before it
    SELECT r.source_file, r.source_row, r.source_row + 1 + count(b.source_line) AS source_line
    FROM rejected AS r
    LEFT JOIN malformed_lines AS b
        ON b.source_file = r.source_file AND b.source_line - 1 - b.ordinal < r.source_row
    GROUP BY r.source_file, r.source_row
)
SELECT {", ".join(rejected_parts)}
FROM rejected AS r
JOIN located AS l ON l.source_file = r.source_file AND l.source_row = r.source_row
UNION ALL
SELECT {", ".join(malformed_parts)}
FROM ({malformed}) AS m
"""


CANONICAL_ASSETS = [build_canonical_asset(e) for e in ENTITIES]


def evaluate_key_unique(
    session: WarehouseSession, entity: CanonicalEntity, table: str | None = None
) -> dg.AssetCheckResult:
    """The entity's key rule on ``table`` (default: the published healthsim table)."""
    target = table or f"healthsim.{entity.name}"
    audit = key_audits(entity)[0]
    return audit.rule(AuditContext(session=session, table=target, published=target))
