"""Canonical HealthSim patients as FHIR R4 Patient resources, through the ONE patient mapping.

No second mapping: the asset selects the canonical columns in the shape of
``PATIENT_MAPPING_INPUT_COLUMNS`` and calls ``fhir_assets.patient_mapping.map_patients``,
the function the FHIR pipeline's own ``fhir_patients`` uses.
"""

import dagster as dg

from fhir_assets.audits import FHIR_PATIENT_AUDITS
from fhir_assets.healthsim.canonical import HEALTHSIM
from fhir_assets.patient_mapping import (
    SYNTHEA_IDENTIFIER_SYSTEM,
    map_patients,
    patient_mapping_sql,
)
from resources import Warehouse
from resources.publish import audit_specs, audited

#: Identifier system of patients made by the HealthSim generator.
HEALTHSIM_IDENTIFIER_SYSTEM = "urn:healthsim:patient-id"

HEALTHSIM_MAPPING_INPUT_SQL = f"""
SELECT
    patient_id,
    CASE source WHEN 'synthea' THEN '{SYNTHEA_IDENTIFIER_SYSTEM}'
        ELSE '{HEALTHSIM_IDENTIFIER_SYSTEM}' END AS identifier_system,
    CAST(NULL AS VARCHAR) AS name_prefix,
    first_name AS given_name,
    last_name AS family_name,
    CAST(NULL AS VARCHAR) AS name_suffix,
    gender,
    birth_date,
    death_date AS deceased_date,
    address AS address_line,
    city,
    state_usps AS state,
    zip_code || coalesce('-' || zip_plus4, '') AS postal_code,
    'US' AS country,
    CAST(NULL AS VARCHAR) AS phone,
    CAST(NULL AS VARCHAR) AS email,
    race,
    ethnicity,
    marital_status,
    county_name AS county,
    latitude,
    longitude,
    healthcare_expenses,
    healthcare_coverage,
    source_file
FROM healthsim.patients
"""


@HEALTHSIM.asset(
    ["healthsim", "patient_fhir_resources"],
    sql=[HEALTHSIM_MAPPING_INPUT_SQL, patient_mapping_sql()],
    deps=[dg.AssetKey(["healthsim", "patients"])],
    check_specs=audit_specs(["healthsim", "patient_fhir_resources"], FHIR_PATIENT_AUDITS),
    description=(
        "Every canonical HealthSim patient (healthsim/patients) as a FHIR R4 Patient resource "
        "(JSON), produced by the same mapping as fhir/fhir_patients (the patients that land "
        "in the patients folder), so both sources of patients meet FHIR consumers in one "
        "shape. Named apart from fhir/fhir_patients: a different source, a different table. "
        "Published only when the same blocking audits as fhir/fhir_patients pass."
    ),
)
@audited
def healthsim_patient_fhir_resources(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        published = map_patients(
            session,
            HEALTHSIM_MAPPING_INPUT_SQL,
            "healthsim.patient_fhir_resources",
            FHIR_PATIENT_AUDITS,
        )
    context.log.info(
        f"Mapped {published.summary.row_count} HealthSim patients to FHIR Patient resources"
    )
    return dg.MaterializeResult(
        metadata=published.metadata(), check_results=published.check_results
    )
