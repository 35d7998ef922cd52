"""The FHIR Patient pipeline's tables: landed rows, rejects, FHIR resources, quality report."""

import time

import dagster as dg

from fhir_assets.audits import FHIR_PATIENT_AUDITS
from fhir_assets.landing import (
    PATIENT_CONTRACT,
    PATIENT_PATTERNS,
    SYNTHEA_PATTERNS,
    LandingFileError,
    find_failing_file,
    rank_files,
    register_landing,
)
from fhir_assets.patient_mapping import (
    SYNTHEA_IDENTIFIER_SYSTEM,
    map_patients,
    patient_mapping_sql,
)
from resources import LandingZone, Warehouse
from resources.assets import WarehouseAssets
from resources.contracts import record_rejected_files
from resources.errors import EngineOutOfMemoryError, is_out_of_memory, out_of_memory_message
from resources.landing import source_files_metadata
from resources.normalize import render
from resources.publish import audit_specs, audited
from resources.sql_files import load_sql
from resources.warehouse import sql_literal

FHIR = WarehouseAssets(group_name="fhir", owners=["team:fhir"])
PATIENTS_SOURCE = "patients"
SYNTHEA_SOURCE = "synthea"

PATIENT_DATA = "fhir.patient_data"
REJECTED = "fhir.rejected_patients"
#: Landing files refused by the contract (empty, unreadable, a required column missing).
REJECTED_FILES = "fhir.rejected_files"
FHIR_PATIENTS = "fhir.fhir_patients"
QUALITY_REPORT = "fhir.data_quality_report"

#: Rows that cannot map, with the file, the row and why; duplicates name their winner.
REJECTED_SQL = f"""
SELECT
    source_file, source_row, source_format, patient_id, reject_reason AS reason,
    reject_detail AS detail, given_name, family_name, birth_date_raw, gender_raw
FROM {PATIENT_DATA}
WHERE reject_reason IS NOT NULL
ORDER BY source_file, source_row
"""

#: The accepted rows in the shape of PATIENT_MAPPING_INPUT_COLUMNS.
MAPPING_INPUT_SQL = f"""
SELECT
    patient_id, identifier_system, name_prefix, given_name, family_name, name_suffix,
    gender, birth_date, deceased_date, address_line, city, state, postal_code, country,
    phone, email, race, ethnicity, source_file
FROM {PATIENT_DATA}
WHERE reject_reason IS NULL
"""


SQL_PACKAGE = "fhir_assets.sql"


def patient_data_sql() -> str:
    """patient_data.sql with the shared normalization rules (resources/normalize.py) expanded."""
    return render(load_sql(SQL_PACKAGE, "patient_data"))


class PatientLoadConfig(dg.Config):
    """Which workbook sheet to read; by default the first one meeting the contract."""

    xlsx_sheet: str | None = None


@FHIR.asset(
    ["fhir", "patient_data"],
    sql=patient_data_sql(),
    description=(
        "Every patient record that landed in data/landing/patients (CSV, Parquet, JSON, "
        "NDJSON, XLSX) and the Synthea export in data/landing/synthea, typed: the source file "
        "and row, trimmed names, the normalized gender and parsed birth date next to the raw "
        "values, and the verdict (reject_reason NULL = the record becomes a FHIR Patient). "
        "Synthea files are read by the one Synthea reader (fhir_assets/synthea.py) that "
        "HealthSim uses too. Every row read is here, malformed CSV rows included (with "
        "their line); files that do not meet the contract ("
        + ", ".join(PATIENT_CONTRACT.required)
        + ") are listed in fhir.rejected_files."
    ),
)
def patient_data(
    context: dg.AssetExecutionContext,
    config: PatientLoadConfig,
    warehouse: Warehouse,
    landing: LandingZone,
) -> dg.MaterializeResult:
    paths = landing.files(PATIENTS_SOURCE, *PATIENT_PATTERNS) + landing.files(
        SYNTHEA_SOURCE, *SYNTHEA_PATTERNS
    )
    if not paths:
        raise dg.Failure(
            f"No patient file in {landing.folder(PATIENTS_SOURCE)} or "
            f"{landing.folder(SYNTHEA_SOURCE)}; run `narr-platform sample-data`."
        )
    files = rank_files(paths)
    started = time.perf_counter()
    with warehouse.session() as session:
        try:
            with register_landing(session, files, config.xlsx_sheet) as registration:
                record_rejected_files(session, REJECTED_FILES, "patients", registration.refused)
                for refusal in registration.refused:
                    context.log.warning(f"Refused {refusal.path}: {refusal.message}")
                if not registration.registered:
                    raise dg.Failure(
                        "No usable patient file: "
                        + " | ".join(r.message for r in registration.refused)
                    )
                for item in registration:
                    sheet = f", sheet {item.sheet!r}" if item.sheet else ""
                    context.log.info(
                        f"{item.file.path.name}: {item.file.file_format}{sheet}, {item.kind} "
                        f"layout, columns {sorted(item.columns)}"
                    )
                try:
                    summary = session.create_table_as(PATIENT_DATA, patient_data_sql())
                except Exception as exc:
                    if is_out_of_memory(exc):
                        raise dg.Failure(
                            out_of_memory_message(exc, "loading patient files")
                        ) from exc
                    culprit = find_failing_file(session, registration.registered)
                    raise dg.Failure(
                        f"Loading patient files failed: {culprit or str(exc).splitlines()[0]}"
                    ) from exc
        except LandingFileError as exc:
            raise dg.Failure(f"Unreadable patient file {exc}") from exc
        except EngineOutOfMemoryError as exc:
            raise dg.Failure(str(exc)) from exc
        refused = registration.refused
        per_file = session.fetch_df(
            f"SELECT source_file, source_format, source_kind, count(*) AS records, "
            f"count(reject_reason) AS rejected FROM {PATIENT_DATA} "
            f"GROUP BY ALL ORDER BY source_file"
        )
    seconds = time.perf_counter() - started
    context.log.info(f"Loaded {summary.row_count} patient records from {len(files)} file(s)")
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            **source_files_metadata(paths),
            "files": dg.MetadataValue.int(len(files)),
            "refused_files": dg.MetadataValue.json([r.message for r in refused]),
            "records_per_file": dg.MetadataValue.md(per_file.to_markdown(index=False)),
            "load_seconds": dg.MetadataValue.float(round(seconds, 3)),
        }
    )


@FHIR.asset(
    ["fhir", "rejected_patients"],
    sql=REJECTED_SQL,
    deps=[patient_data],
    description=(
        "Patient records that did not become FHIR resources, with the file, the row and the "
        "reason (missing or malformed id, unparsable, future or implausible birth date, or a "
        "duplicate superseded by a newer record of the same patient id). Nothing is dropped "
        "silently: every landed row is either a FHIR Patient or a row here."
    ),
)
def rejected_patients(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        summary = session.create_table_as(REJECTED, REJECTED_SQL)
        reasons = dict(
            session.fetch_rows(
                f"SELECT reason, count(*) FROM {REJECTED} GROUP BY reason ORDER BY 1"
            )
        )
    context.log.info(f"{summary.row_count} rejected patient records: {reasons}")
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            **{f"rejected_{reason}": dg.MetadataValue.int(int(n)) for reason, n in reasons.items()},
            "duplicates_resolved": dg.MetadataValue.int(
                int(reasons.get("duplicate_patient_id", 0))
            ),
        }
    )


@FHIR.asset(
    ["fhir", "fhir_patients"],
    sql=[MAPPING_INPUT_SQL, patient_mapping_sql()],
    deps=[patient_data],
    check_specs=audit_specs(["fhir", "fhir_patients"], FHIR_PATIENT_AUDITS),
    description=(
        "One FHIR R4 Patient resource per patient (the latest record wins): the resource as "
        "JSON text (resource_json) plus its key fields as columns for querying. Built inside "
        "the engine by the one portable mapping in fhir_assets/sql/patient_to_fhir.sql."
    ),
)
@audited
def fhir_patients(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    with warehouse.session() as session:
        published = map_patients(session, MAPPING_INPUT_SQL, FHIR_PATIENTS, FHIR_PATIENT_AUDITS)
        summary = published.summary
        synthea = session.fetch_rows(
            f"SELECT count(*) FROM {FHIR_PATIENTS} "
            f"WHERE identifier_system = {sql_literal(SYNTHEA_IDENTIFIER_SYSTEM)}"
        )[0][0]
    seconds = time.perf_counter() - started
    rate = summary.row_count / seconds if seconds > 0 else 0.0
    context.log.info(
        f"Mapped {summary.row_count} patients to FHIR in {seconds:.2f}s ({rate:,.0f} records/s)"
    )
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **published.metadata(),
            "mapping_seconds": dg.MetadataValue.float(round(seconds, 3)),
            "records_per_second": dg.MetadataValue.float(round(rate, 1)),
            "synthea_patients": dg.MetadataValue.int(int(synthea)),
        },
    )


@FHIR.asset(
    ["fhir", "data_quality_report"],
    sql=load_sql(SQL_PACKAGE, "data_quality_report"),
    deps=[patient_data],
    description=(
        "Data quality of the patient feeds, per landing file and overall: records, how many "
        "carry each field, valid genders and birth dates, and rejected records by reason."
    ),
)
def data_quality_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        summary = session.create_table_as(
            QUALITY_REPORT, load_sql(SQL_PACKAGE, "data_quality_report")
        )
        overall = session.fetch_df(
            f"SELECT * FROM {QUALITY_REPORT} WHERE scope = 'overall'"
        ).to_dict("records")[0]
    context.log.info(
        f"Quality: {overall['total_records']} records, {overall['mapped']} mapped, "
        f"{overall['rejected']} rejected"
    )
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            "total_records": dg.MetadataValue.int(int(overall["total_records"])),
            "mapped": dg.MetadataValue.int(int(overall["mapped"])),
            "rejected": dg.MetadataValue.int(int(overall["rejected"])),
            "valid_gender_share": dg.MetadataValue.float(
                round(overall["valid_gender"] / max(overall["total_records"], 1), 4)
            ),
            "valid_birth_date_share": dg.MetadataValue.float(
                round(overall["valid_birth_date"] / max(overall["total_records"], 1), 4)
            ),
        }
    )
