"""Asset checks of the FHIR resources. Each rule is a function of a warehouse session and
a table, so tests run the same rule on a table they break on purpose."""

import json

import dagster as dg
from pydantic import ValidationError

from fhir_assets.assets import FHIR_PATIENTS, fhir_patients
from fhir_assets.audits import (  # noqa: F401 - the rules, re-exported for their tests
    GENDERS,
    coordinates_in_range,
    dates_in_fhir_range,
    gender_in_value_set,
    ids_unique,
    ids_valid,
)
from fhir_assets.patient_mapping import SYNTHEA_IDENTIFIER_SYSTEM
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession
from resources.warehouse import sql_literal

VALIDATION_SAMPLE = 1_000
MAX_LISTED = 10


def validation_sample(session: WarehouseSession, table: str, sample: int) -> list[tuple[str, str]]:
    """``sample`` resources spread over the table (by id hash) plus every Synthea patient."""
    return [
        (str(i), str(r))
        for i, r in session.fetch_rows(
            f"""
            SELECT id, resource_json FROM (
                SELECT id, resource_json FROM {table} ORDER BY hash(id), id LIMIT {int(sample)}
            ) AS spread
            UNION
            SELECT id, resource_json FROM {table}
            WHERE identifier_system = {sql_literal(SYNTHEA_IDENTIFIER_SYSTEM)}
            """
        )
    ]


def validate_resources(resources: list[tuple[str, str]]) -> dict[str, str]:
    """``{id: first error}`` of the resources fhir.resources (R4B Patient) rejects."""
    from fhir.resources.R4B.patient import Patient

    errors: dict[str, str] = {}
    for resource_id, text in resources:
        try:
            Patient.model_validate(json.loads(text))
        except (ValidationError, ValueError) as exc:
            errors[resource_id] = str(exc).splitlines()[0][:300]
    return errors


def fhir_model_validation(
    session: WarehouseSession, table: str = FHIR_PATIENTS, sample: int = VALIDATION_SAMPLE
) -> dg.AssetCheckResult:
    """A sample (>= 1,000 and all Synthea rows) validates against the FHIR R4B Patient model."""
    resources = validation_sample(session, table, sample)
    errors = validate_resources(resources)
    listed = dict(list(errors.items())[:MAX_LISTED])
    return dg.AssetCheckResult(
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "validated": len(resources),
            "invalid": len(errors),
            "first_errors": dg.MetadataValue.json(listed),
        },
    )


@dg.asset_check(asset=fhir_patients, blocking=False, pool=WAREHOUSE_POOL)
def fhir_r4_model_validation(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Non-blocking: >= 1,000 resources and all Synthea ones validate with fhir.resources (R4B)."""
    with warehouse.session() as session:
        result = fhir_model_validation(session)
    context.log.info(f"FHIR model validation: {result.metadata['validated'].value} checked")
    return result


FHIR_CHECKS = [
    fhir_r4_model_validation,
]
