"""FHIR Bulk Data export of every resource type: NDJSON, a manifest and Parquet (ZSTD).

One export is a folder ``<export root>/<UTC timestamp>/`` holding, for each resource type
with resources (Patient, Encounter, Condition, Observation, MedicationRequest, Procedure,
Immunization, AllergyIntolerance, Organization, Practitioner, Claim):

- ``<Type>.ndjson``: one resource per line (the mapped JSON text, as is);
- ``<Type>.parquet``: the resource table's rows (the configured codec, ZSTD by default);
- ``OperationOutcome.ndjson``: one OperationOutcome per rejected patient record;
- ``manifest.json``: the Bulk Data manifest (``transactionTime``, ``request``,
  ``requiresAccessToken``, ``output[{type, url, count}]``, ``error[{type, url, count}]``).

System level (``$export``): every resource. Group level (``Group/<scenario>/$export``): the
patients of a saved HealthSim scenario and their resources, plus the organizations and
practitioners those resources reference. Patients come from ``fhir.fhir_patients`` and the
HealthSim patients (``healthsim.patient_fhir_resources``), each id once.
"""

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from fhir_assets.assets import FHIR_PATIENTS, REJECTED
from fhir_assets.clinical.assets import MAPPINGS, PATIENT_RESOURCES
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession
from resources.warehouse import sql_literal

EXPORT_DIR_ENV_VAR = "FHIR_EXPORT_DIR"
DEFAULT_EXPORT_DIR = "data/exports/fhir"

#: Write one text column as raw lines: no header, no quoting, a delimiter JSON never holds
#: unescaped (control characters are always escaped in JSON text).
RAW_LINES = {"header": False, "quote": "", "delimiter": "\x01"}

#: Resource types whose resources belong to a patient: type -> the column naming it.
PATIENT_COLUMN = "patient_id"
#: Types exported for a group because its resources reference them, in the order they are
#: selected: a practitioner references the organization it works at.
REFERENCED_TYPES = ("Practitioner", "Organization")
SCENARIOS = "healthsim.scenarios"
SCENARIO_ENTITIES = "healthsim.scenario_entities"

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


def patients_sql(session: WarehouseSession) -> str:
    """Every Patient resource once: the FHIR pipeline's, then HealthSim's not among them."""
    tables = [t for t in (FHIR_PATIENTS, PATIENT_RESOURCES[1]) if session.table_exists(t)]
    if not tables:
        raise ValueError(
            f"{FHIR_PATIENTS} does not exist yet; materialize fhir/fhir_patients first."
        )
    first, *others = tables
    selects = [f"SELECT id, resource_json FROM {first}"]
    selects += [
        f"SELECT id, resource_json FROM {table} WHERE id NOT IN (SELECT id FROM {first})"
        for table in others
    ]
    return " UNION ALL ".join(selects)


def group_patient_ids_sql(session: WarehouseSession, group: str) -> str:
    """The patient ids of the saved scenario ``group`` (by name or id), as a SELECT."""
    if not session.table_exists(SCENARIOS):
        raise ValueError(f"No scenario named {group!r}: no scenario has been saved.")
    found = session.fetch_rows(
        f"SELECT scenario_id FROM {SCENARIOS} WHERE name = ? OR scenario_id = ?", [group, group]
    )
    if not found:
        raise ValueError(f"No scenario named {group!r}.")
    return (
        f"SELECT entity_id FROM {SCENARIO_ENTITIES} WHERE scenario_id = "
        f"{sql_literal(str(found[0][0]))} AND entity_type IN ('patient', 'patients')"
    )


def export_queries(
    session: WarehouseSession, group: str | None = None
) -> list[tuple[str, str, str]]:
    """``(resource type, NDJSON SELECT, Parquet SELECT)`` of every type with a table."""
    members = group_patient_ids_sql(session, group) if group else None
    patients = f"SELECT * FROM ({patients_sql(session)}) AS patients"
    if members:
        patients += f" WHERE id IN ({members})"
    queries = [("Patient", patients)]
    for mapping in MAPPINGS:
        if not session.table_exists(mapping.table):
            continue
        select = f"SELECT * FROM {mapping.table}"
        if members and mapping.resource_type not in REFERENCED_TYPES:
            select += f" WHERE {PATIENT_COLUMN} IN ({members})"
        queries.append((mapping.resource_type, select))
    if members:
        # Organizations and practitioners: only those the group's resources reference, and
        # the organizations those practitioners work at (practitioners are read first).
        referencing = [
            f"SELECT resource_json FROM ({select}) AS r"
            for kind, select in queries
            if kind not in REFERENCED_TYPES and kind != "Patient"
        ]
        selects = dict(queries)
        for kind in REFERENCED_TYPES:
            if kind in selects and referencing:
                selects[kind] = (
                    f"{selects[kind]} WHERE '{kind}/' || id IN (SELECT unnest(regexp_extract_all("
                    f"""resource_json, '"reference":"({kind}/[^"]+)"', 1)) """
                    f"FROM ({' UNION ALL '.join(referencing)}) AS e)"
                )
                referencing.append(f"SELECT resource_json FROM ({selects[kind]}) AS r")
        queries = [(kind, selects[kind]) for kind, _ in queries]
    return [
        (kind, f"SELECT resource_json FROM ({select}) AS q ORDER BY id", f"{select} ORDER BY id")
        for kind, select in queries
    ]


def export_bulk(
    session: WarehouseSession,
    export_root: str | Path,
    now: dt.datetime | None = None,
    group: str | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write one Bulk Data export under ``export_root``; return its folder and manifest.

    ``group`` names a saved HealthSim scenario: only its patients and their resources.
    """
    queries = export_queries(session, group)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    folder = Path(export_root).expanduser().resolve() / moment.strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True, exist_ok=False)
    outputs: list[dict[str, Any]] = []
    parquet: list[dict[str, Any]] = []
    for kind, lines_sql, table_sql in queries:
        count = session.copy_to_file(lines_sql, folder / f"{kind}.ndjson", "csv", RAW_LINES)
        if count == 0 and kind != "Patient":
            (folder / f"{kind}.ndjson").unlink()
            continue
        session.copy_to_file(table_sql, folder / f"{kind}.parquet", "parquet")
        outputs.append({"type": kind, "url": (folder / f"{kind}.ndjson").as_uri(), "count": count})
        parquet.append({"type": kind, "url": (folder / f"{kind}.parquet").as_uri(), "count": count})
    errors: list[dict[str, Any]] = []
    if session.table_exists(REJECTED) and not group:
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
    request = f"Group/{group}/$export" if group else "$export"
    manifest = {
        "transactionTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request": f"narr-platform:{request}",
        "requiresAccessToken": False,
        "output": outputs,
        "error": errors,
        "extension": {"parquet": parquet},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder, manifest


class BulkExportConfig(dg.Config):
    export_root: str = Field(
        default_factory=default_export_root,
        description=f"Folder receiving one sub-folder per export (env {EXPORT_DIR_ENV_VAR}).",
    )
    group: str | None = Field(
        default=None,
        description="A saved HealthSim scenario: export only its patients and their resources.",
    )


@dg.op(pool=WAREHOUSE_POOL, tags={"domain": "fhir"}, out=dg.Out(dg.Nothing))
def export_fhir_patients(
    context: dg.OpExecutionContext, config: BulkExportConfig, warehouse: Warehouse
) -> None:
    """Write <Type>.ndjson and <Type>.parquet per resource type, and manifest.json."""
    with warehouse.session() as session:
        try:
            folder, manifest = export_bulk(session, config.export_root, group=config.group)
        except ValueError as exc:
            raise dg.Failure(str(exc)) from exc
    counts = {entry["type"]: entry["count"] for entry in manifest["output"]}
    patients = counts.get("Patient", 0)
    rejected = sum(e["count"] for e in manifest["error"])
    context.log.info(f"Exported {counts} and {rejected} outcomes to {folder}")
    context.add_output_metadata(
        {
            "folder": dg.MetadataValue.path(str(folder)),
            "patients": dg.MetadataValue.int(patients),
            "resources_by_type": dg.MetadataValue.json(counts),
            "operation_outcomes": dg.MetadataValue.int(rejected),
            "manifest": dg.MetadataValue.json(manifest),
        }
    )


@dg.job(
    description=(
        "FHIR Bulk Data export of every resource type (Patient, Encounter, Condition, "
        "Observation, MedicationRequest, Procedure, Immunization, AllergyIntolerance, "
        "Organization, Practitioner, Claim): <Type>.ndjson and <Type>.parquet (ZSTD) with a "
        "manifest listing rejected patient records as OperationOutcome lines, to "
        "data/exports/fhir/<timestamp>/. Set `group` to a saved scenario for a group export."
    ),
    tags={"domain": "fhir"},
)
def fhir_bulk_export() -> None:
    export_fhir_patients()
