"""FHIR in, canonical: the landed FHIR resources as rows of the canonical HealthSim tables.

Each asset ``fhir_in/canonical_<entity>`` reads one ``fhir_in.imported_<type>`` table and
writes ``fhir_in.canonical_<entity>`` with exactly the columns and types of
``healthsim.<entity>``, through the inverse of that entity's FHIR mapping
(``sql/canonical_<entity>.sql``, portable SQL). A FHIR Bulk export of the canonical tables
read back in gives the same rows (``tests/test_fhir_round_trip.py``); only the lineage
columns differ (:data:`LINEAGE_COLUMNS`: where a row was read from). The HealthSim assets
never read these tables: they are a second, FHIR-fed copy to compare with or to use where
the clinical data arrives as FHIR.
"""

import dataclasses

import dagster as dg

from fhir_assets.clinical.fhir_in import TYPE_TABLES
from resources import Warehouse
from resources.assets import WarehouseAssets
from resources.normalize import render
from resources.publish import audit_specs, audited, key_audit
from resources.sql_files import load_sql

FHIR_IN = WarehouseAssets(group_name="fhir_in", owners=["team:fhir"])

#: Columns that say where a row was read from (folder, file, line, the raw state text and
#: the issues of the raw values), not what it says: they differ between a row read from
#: CSV and the same row read back from FHIR.
LINEAGE_COLUMNS = ("source", "source_file", "source_row", "state_raw", "field_issues")


@dataclasses.dataclass(frozen=True)
class CanonicalImport:
    entity: str
    key_column: str
    resource_type: str
    description: str
    deps: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return f"fhir_in.canonical_{self.entity}"

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["fhir_in", f"canonical_{self.entity}"])

    @property
    def sql(self) -> str:
        return render(load_sql("fhir_assets.clinical.sql", f"canonical_{self.entity}"))


IMPORTS = (
    CanonicalImport(
        "patients", "patient_id", "Patient",
        "Patients landed as FHIR Patient resources, as healthsim.patients rows: "
        "demographics, home address with coordinates and county FIPS, lifetime costs.",
        deps=("reference/ref_geography",),
    ),
    CanonicalImport(
        "organizations", "organization_id", "Organization",
        "Care organizations landed as FHIR Organization resources (not of type pay), as "
        "healthsim.organizations rows.",
    ),
    CanonicalImport(
        "payers", "payer_id", "Organization",
        "Payers landed as FHIR Organization resources of type pay, as healthsim.payers rows.",
    ),
    CanonicalImport(
        "providers", "provider_id", "Practitioner",
        "Clinicians landed as FHIR Practitioner resources, as healthsim.providers rows.",
    ),
    CanonicalImport(
        "encounters", "encounter_id", "Encounter",
        "Visits landed as FHIR Encounter resources, as healthsim.encounters rows, with "
        "their costs and payer.",
    ),
    CanonicalImport(
        "conditions", "condition_id", "Condition",
        "Diagnoses landed as FHIR Condition resources, as healthsim.conditions rows.",
    ),
    CanonicalImport(
        "claims", "claim_id", "Claim",
        "Claims landed as FHIR Claim resources, as healthsim.claims rows with billed, paid "
        "and outstanding amounts.",
    ),
    CanonicalImport(
        "medications", "medication_id", "MedicationRequest",
        "Medication orders landed as FHIR MedicationRequest resources, as "
        "healthsim.medications rows with dispenses and costs.",
    ),
    CanonicalImport(
        "procedures", "procedure_id", "Procedure",
        "Procedures landed as FHIR Procedure resources, as healthsim.procedures rows.",
    ),
    CanonicalImport(
        "observations", "observation_id", "Observation",
        "Measurements and answers landed as FHIR Observation resources, as "
        "healthsim.observations rows.",
    ),
    CanonicalImport(
        "immunizations", "immunization_id", "Immunization",
        "Vaccines landed as FHIR Immunization resources, as healthsim.immunizations rows.",
    ),
    CanonicalImport(
        "allergies", "allergy_id", "AllergyIntolerance",
        "Allergies landed as FHIR AllergyIntolerance resources, as healthsim.allergies rows.",
    ),
)  # fmt: skip


def build_canonical_import(spec: CanonicalImport) -> dg.AssetsDefinition:
    source = dg.AssetKey(["fhir_in", TYPE_TABLES[spec.resource_type]])
    audits = [
        key_audit(
            [spec.key_column],
            name=f"{spec.entity}_key_unique",
            description=f"{spec.key_column} is present and unique in {spec.table}.",
        )
    ]
    sql = spec.sql

    @FHIR_IN.asset(
        spec.key,
        sql=sql,
        deps=[source, *(dg.AssetKey.from_user_string(d) for d in spec.deps)],
        description=spec.description,
        check_specs=audit_specs(spec.key, audits),
    )
    @audited
    def _canonical(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as session:
            published = session.publish(spec.table, sql, audits)
        context.log.info(f"{published.summary.row_count} {spec.entity} rows from FHIR")
        return dg.MaterializeResult(
            check_results=published.check_results, metadata=published.metadata()
        )

    return _canonical


CANONICAL_IMPORT_ASSETS = [build_canonical_import(spec) for spec in IMPORTS]
