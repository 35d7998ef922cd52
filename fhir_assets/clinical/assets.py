"""FHIR R4 resources of the whole clinical record, built from the canonical HealthSim tables.

One asset per resource type writes ``fhir.<type>_resources``: the resource as JSON text
(``resource_json``) plus query columns. Each mapping is one ``.sql`` file beside this module,
written once in DuckDB's dialect and run on Spark through the warehouse's translation; the
JSON is built member by member (absent members omitted), as the Patient mapping does.
Patients are the HealthSim patients mapped by the one Patient mapping
(``healthsim.patient_fhir_resources``). References between resources are written only when their
target exists, and a blocking check per resource type proves that every reference resolves.
"""

import dataclasses
import time

import dagster as dg

from resources import Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.publish import (
    EXAMPLES,
    Audit,
    audit_specs,
    audited,
    key_audit,
    outcome,
    row_count_drop_audit,
    rule_audit,
)
from resources.sql_files import load_sql

FHIR_RESOURCES = WarehouseAssets(group_name="fhir_clinical", owners=["team:fhir"])

#: The Patient resources the clinical resources point at (HealthSim patients, one mapping).
PATIENT_RESOURCES = (
    "Patient",
    "healthsim.patient_fhir_resources",
    dg.AssetKey(["healthsim", "patient_fhir_resources"]),
)


@dataclasses.dataclass(frozen=True)
class ResourceMapping:
    """One FHIR resource type: its table, mapping file, inputs and the types it references."""

    resource_type: str
    table_name: str
    sql_name: str
    canonical: tuple[str, ...]
    references: tuple[str, ...]
    description: str

    @property
    def table(self) -> str:
        return f"fhir.{self.table_name}"

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["fhir", self.table_name])


MAPPINGS: tuple[ResourceMapping, ...] = (
    ResourceMapping(
        "Organization", "organization_resources", "organization", ("organizations", "payers"), (),
        "Care organizations (hospitals, clinics) and payers (insurers) as FHIR Organization "
        "resources (US Core), told apart by their type (prov, pay).",
    ),
    ResourceMapping(
        "Practitioner", "practitioner_resources", "practitioner", ("providers", "organizations"),
        ("Organization",),
        "Clinicians as FHIR Practitioner resources (US Core), with practice address, "
        "speciality and the organization they work at.",
    ),
    ResourceMapping(
        "Encounter", "encounter_resources", "encounter",
        ("encounters", "organizations", "providers", "payers"),
        ("Patient", "Organization", "Practitioner"),
        "Every visit as a FHIR Encounter (US Core): class, SNOMED CT type, period, reason, "
        "the patient, the attending practitioner and the service provider.",
    ),
    ResourceMapping(
        "Condition", "condition_resources", "condition", ("conditions", "encounters"),
        ("Patient", "Encounter"),
        "Diagnoses as FHIR Condition resources (US Core encounter diagnosis), SNOMED CT coded, "
        "with onset, abatement and clinical status.",
    ),
    ResourceMapping(
        "Observation", "observation_resources", "observation", ("observations", "encounters"),
        ("Patient", "Encounter"),
        "Vital signs, laboratory results and survey answers as FHIR Observation resources "
        "(LOINC codes; numeric values as valueQuantity with UCUM units, answers as valueString).",
    ),
    ResourceMapping(
        "MedicationRequest", "medication_request_resources", "medication_request",
        ("medications", "encounters", "providers", "payers"),
        ("Patient", "Encounter", "Practitioner", "Organization"),
        "Medication orders as FHIR MedicationRequest resources (US Core), RxNorm coded, with "
        "the ordering encounter and practitioner.",
    ),
    ResourceMapping(
        "Procedure", "procedure_resources", "procedure", ("procedures", "encounters"),
        ("Patient", "Encounter"),
        "Procedures as FHIR Procedure resources (US Core), SNOMED CT coded, with their period.",
    ),
    ResourceMapping(
        "Immunization", "immunization_resources", "immunization", ("immunizations", "encounters"),
        ("Patient", "Encounter"),
        "Vaccines given as FHIR Immunization resources (US Core), CVX coded.",
    ),
    ResourceMapping(
        "AllergyIntolerance", "allergy_intolerance_resources", "allergy_intolerance",
        ("allergies", "encounters"), ("Patient", "Encounter"),
        "Allergies and intolerances as FHIR AllergyIntolerance resources (US Core): substance, "
        "category, clinical status and first reaction with its severity.",
    ),
    ResourceMapping(
        "Claim", "claim_resources", "claim",
        ("claims", "encounters", "providers", "organizations", "payers"),
        ("Patient", "Encounter", "Practitioner", "Organization"),
        "Claims as FHIR Claim resources: the billed encounter, its diagnoses (SNOMED CT), the "
        "billing provider, the payer and the billed total in USD.",
    ),
)  # fmt: skip

BY_TYPE = {m.resource_type: m for m in MAPPINGS}


def mapping_sql(sql_name: str) -> str:
    return load_sql("fhir_assets.clinical.sql", sql_name)


def target_table(resource_type: str) -> str:
    """The table holding the resources of ``resource_type``."""
    if resource_type == PATIENT_RESOURCES[0]:
        return PATIENT_RESOURCES[1]
    return BY_TYPE[resource_type].table


def unresolved_references(
    session: WarehouseSession, mapping: ResourceMapping, table: str | None = None
) -> list[tuple]:
    """``(resource id, reference)`` of every reference in ``table`` whose target is missing.

    ``table`` defaults to the published table; the audit passes the staged one.
    """
    if not mapping.references:
        return []
    targets = " UNION ALL ".join(
        f"SELECT '{t}/' || id AS reference FROM {target_table(t)}" for t in mapping.references
    )
    return session.fetch_rows(
        f"""
        WITH refs AS (
            SELECT id, unnest(regexp_extract_all(resource_json, '"reference":"([A-Za-z]+/[^"]+)"', 1))
                AS reference
            FROM {table or mapping.table}
        )
        SELECT refs.id, refs.reference
        FROM refs LEFT JOIN ({targets}) AS known ON known.reference = refs.reference
        WHERE known.reference IS NULL
        ORDER BY refs.id, refs.reference
        """
    )


def references_audit(mapping: ResourceMapping) -> Audit:
    def evaluate(session: WarehouseSession, table: str) -> dg.AssetCheckResult:
        missing = unresolved_references(session, mapping, table)
        return outcome(len(missing), [f"{i} -> {ref}" for i, ref in missing[:EXAMPLES]], [])

    return rule_audit(
        "references_resolve",
        f"Every reference in {mapping.table} points at an existing resource "
        f"({', '.join(mapping.references) or 'none'}).",
        evaluate,
    )


def audits(mapping: ResourceMapping) -> list[Audit]:
    return [
        key_audit(["id"], name="ids_unique", description=f"Every {mapping.resource_type} has "
                  "an id, and no id appears twice."),
        references_audit(mapping),
        row_count_drop_audit(),
    ]  # fmt: skip


def build_resource_asset(mapping: ResourceMapping) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["healthsim", name]) for name in mapping.canonical]
    deps += [
        PATIENT_RESOURCES[2] if t == PATIENT_RESOURCES[0] else BY_TYPE[t].key
        for t in mapping.references
    ]
    sql = mapping_sql(mapping.sql_name)

    @FHIR_RESOURCES.asset(
        mapping.key,
        sql=sql,
        deps=deps,
        description=mapping.description,
        check_specs=audit_specs(mapping.key, audits(mapping)),
    )
    @audited
    def _resources(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as session:
            published = session.publish(mapping.table, sql, audits(mapping))
        seconds = time.perf_counter() - started
        rows = published.summary.row_count
        rate = rows / seconds if seconds > 0 else 0.0
        context.log.info(
            f"{rows} {mapping.resource_type} resources in {seconds:.2f}s ({rate:,.0f} records/s)"
        )
        return dg.MaterializeResult(
            check_results=published.check_results,
            metadata={
                **published.metadata(),
                "records_per_second": dg.MetadataValue.float(round(rate, 1)),
            },
        )

    return _resources


RESOURCE_ASSETS = [build_resource_asset(m) for m in MAPPINGS]
