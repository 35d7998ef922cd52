"""FHIR Bulk Data export of the Patient resources: NDJSON, a manifest and Parquet (ZSTD).

One export is a folder ``<export root>/<UTC timestamp>/`` holding

- ``Patient.ndjson``: one Patient resource per line (the mapped JSON text, as is);
- ``OperationOutcome.ndjson``: one OperationOutcome per rejected record (file, row, reason);
- ``Patient.parquet``: the fhir_patients table (the configured codec, ZSTD by default);
- ``manifest.json``: the Bulk Data manifest (``transactionTime``, ``request``,
  ``requiresAccessToken``, ``output[{type, url, count}]``, ``error[{type, url, count}]``).
"""

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from fhir_assets.assets import FHIR_PATIENTS, REJECTED
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession

EXPORT_DIR_ENV_VAR = "FHIR_EXPORT_DIR"
DEFAULT_EXPORT_DIR = "data/exports/fhir"

#: Write one text column as raw lines: no header, no quoting, a delimiter JSON never holds
#: unescaped (control characters are always escaped in JSON text).
RAW_LINES = {"header": False, "quote": "", "delimiter": "\x01"}

PATIENT_LINES_SQL = f"SELECT resource_json FROM {FHIR_PATIENTS} ORDER BY id"
PATIENT_TABLE_SQL = f"SELECT * FROM {FHIR_PATIENTS} ORDER BY id"

#: One OperationOutcome per rejected record; portable SQL (to_json of a struct).
OPERATION_OUTCOME_SQL = f"""
SELECT to_json(struct_pack(
    resourceType := 'OperationOutcome',
    issue := [struct_pack(
        severity := CASE reason WHEN 'duplicate_patient_id' THEN 'warning' ELSE 'error' END,
        code := CASE reason
            WHEN 'missing_patient_id' THEN 'required'
            WHEN 'duplicate_patient_id' THEN 'duplicate'
            ELSE 'invalid'
        END,
        details := struct_pack(text := reason),
        diagnostics := source_file || ' row ' || CAST(source_row AS VARCHAR) || ': ' || reason
            || coalesce(' (' || detail || ')', ''),
        expression := [CASE
            WHEN reason IN ('missing_patient_id', 'invalid_patient_id', 'duplicate_patient_id')
                THEN 'Patient.id'
            WHEN reason = 'unparsable_deceased_date' THEN 'Patient.deceasedDateTime'
            ELSE 'Patient.birthDate'
        END]
    )]
)) AS outcome
FROM {REJECTED}
ORDER BY source_file, source_row
"""


def default_export_root() -> str:
    return os.environ.get(EXPORT_DIR_ENV_VAR, "").strip() or DEFAULT_EXPORT_DIR


def export_bulk(
    session: WarehouseSession, export_root: str | Path, now: dt.datetime | None = None
) -> tuple[Path, dict[str, Any]]:
    """Write one Bulk Data export under ``export_root``; return its folder and manifest."""
    if not session.table_exists(FHIR_PATIENTS):
        raise ValueError(
            f"{FHIR_PATIENTS} does not exist yet; materialize fhir/fhir_patients first."
        )
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    folder = Path(export_root).expanduser().resolve() / moment.strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True, exist_ok=False)
    patients = session.copy_to_file(PATIENT_LINES_SQL, folder / "Patient.ndjson", "csv", RAW_LINES)
    session.copy_to_file(PATIENT_TABLE_SQL, folder / "Patient.parquet", "parquet")
    errors: list[dict[str, Any]] = []
    if session.table_exists(REJECTED):
        outcomes = session.copy_to_file(
            OPERATION_OUTCOME_SQL, folder / "OperationOutcome.ndjson", "csv", RAW_LINES
        )
        errors.append(
            {
                "type": "OperationOutcome",
                "url": (folder / "OperationOutcome.ndjson").as_uri(),
                "count": outcomes,
            }
        )
    manifest = {
        "transactionTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request": "narr-platform:fhir/fhir_patients/Patient/$export",
        "requiresAccessToken": False,
        "output": [
            {"type": "Patient", "url": (folder / "Patient.ndjson").as_uri(), "count": patients}
        ],
        "error": errors,
        "extension": {
            "parquet": [
                {"type": "Patient", "url": (folder / "Patient.parquet").as_uri(), "count": patients}
            ]
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder, manifest


class BulkExportConfig(dg.Config):
    export_root: str = Field(
        default_factory=default_export_root,
        description=f"Folder receiving one sub-folder per export (env {EXPORT_DIR_ENV_VAR}).",
    )


@dg.op(pool=WAREHOUSE_POOL, tags={"domain": "fhir"}, out=dg.Out(dg.Nothing))
def export_fhir_patients(
    context: dg.OpExecutionContext, config: BulkExportConfig, warehouse: Warehouse
) -> None:
    """Write Patient.ndjson, OperationOutcome.ndjson, Patient.parquet and manifest.json."""
    with warehouse.session() as session:
        try:
            folder, manifest = export_bulk(session, config.export_root)
        except ValueError as exc:
            raise dg.Failure(str(exc)) from exc
    patients = manifest["output"][0]["count"]
    rejected = sum(e["count"] for e in manifest["error"])
    context.log.info(f"Exported {patients} Patient resources and {rejected} outcomes to {folder}")
    context.add_output_metadata(
        {
            "folder": dg.MetadataValue.path(str(folder)),
            "patients": dg.MetadataValue.int(patients),
            "operation_outcomes": dg.MetadataValue.int(rejected),
            "manifest": dg.MetadataValue.json(manifest),
        }
    )


@dg.job(
    description=(
        "FHIR Bulk Data export of fhir_patients: Patient.ndjson with a manifest listing the "
        "rejected records as OperationOutcome lines, and Parquet (ZSTD), to "
        "data/exports/fhir/<timestamp>/."
    ),
    tags={"domain": "fhir"},
)
def fhir_bulk_export() -> None:
    export_fhir_patients()
