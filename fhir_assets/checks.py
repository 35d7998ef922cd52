"""Asset checks of the FHIR resources. Each rule is a function of a warehouse session and
a table, so tests run the same rule on a table they break on purpose."""

import json

import dagster as dg
from pydantic import ValidationError

from fhir_assets.assets import FHIR_PATIENTS, fhir_patients
from fhir_assets.patient_mapping import SYNTHEA_IDENTIFIER_SYSTEM
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession
from resources.quality_checks import build_row_count_drop_checks
from resources.warehouse import sql_literal

GENDERS = ("male", "female", "other", "unknown")
VALIDATION_SAMPLE = 1_000
MAX_LISTED = 10


def resources_are_patients(
    session: WarehouseSession, table: str = FHIR_PATIENTS
) -> dg.AssetCheckResult:
    """Every resource_json parses as JSON, is a Patient and carries the row's id."""
    bad_json, not_patient, id_mismatch = session.fetch_rows(
        f"""
        SELECT
            count(CASE WHEN NOT json_valid(resource_json) OR resource_json IS NULL THEN 1 END),
            count(CASE WHEN json_valid(resource_json)
                AND coalesce(json_extract_string(resource_json, '$.resourceType'), '') <> 'Patient'
                THEN 1 END),
            count(CASE WHEN json_valid(resource_json)
                AND coalesce(json_extract_string(resource_json, '$.id'), '') <> coalesce(id, '')
                THEN 1 END)
        FROM {table}
        """
    )[0]
    return dg.AssetCheckResult(
        passed=bad_json == 0 and not_patient == 0 and id_mismatch == 0,
        metadata={
            "invalid_json": int(bad_json),
            "not_patient": int(not_patient),
            "id_mismatch": int(id_mismatch),
        },
    )


def ids_unique(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
    """Each resource id appears once and none is missing."""
    duplicates, missing = session.fetch_rows(
        f"SELECT count(id) - count(DISTINCT id), count(*) - count(id) FROM {table}"
    )[0]
    return dg.AssetCheckResult(
        passed=duplicates == 0 and missing == 0,
        metadata={"duplicate_ids": int(duplicates), "missing_ids": int(missing)},
    )


def gender_in_value_set(
    session: WarehouseSession, table: str = FHIR_PATIENTS
) -> dg.AssetCheckResult:
    """The gender column and the resource's gender are in male/female/other/unknown."""
    allowed = ", ".join(sql_literal(g) for g in GENDERS)
    (outside,) = session.fetch_rows(
        f"""
        SELECT count(*) FROM {table}
        WHERE gender IS NULL OR gender NOT IN ({allowed})
            OR (json_valid(resource_json)
                AND coalesce(json_extract_string(resource_json, '$.gender'), '') NOT IN ({allowed}))
        """
    )[0]
    return dg.AssetCheckResult(passed=outside == 0, metadata={"outside_value_set": int(outside)})


def birth_date_format(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
    """A present birthDate is YYYY-MM-DD, a real date, and equals the birth_date column."""
    (bad,) = session.fetch_rows(
        f"""
        SELECT count(*) FROM (
            SELECT birth_date, json_extract_string(resource_json, '$.birthDate') AS value
            FROM {table}
            WHERE json_valid(resource_json)
        ) AS dates
        WHERE (value IS NULL) <> (birth_date IS NULL)
            OR NOT regexp_matches(value, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$')
            OR try_cast(value AS DATE) IS DISTINCT FROM birth_date
        """
    )[0]
    return dg.AssetCheckResult(passed=bad == 0, metadata={"bad_birth_dates": int(bad)})


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


@dg.asset_check(asset=fhir_patients, blocking=True, pool=WAREHOUSE_POOL)
def fhir_resources_are_patients(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Every resource parses as JSON with resourceType Patient and the row's id."""
    with warehouse.session() as session:
        return resources_are_patients(session)


@dg.asset_check(asset=fhir_patients, blocking=True, pool=WAREHOUSE_POOL)
def fhir_patient_ids_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Each FHIR Patient id appears once."""
    with warehouse.session() as session:
        return ids_unique(session)


@dg.asset_check(asset=fhir_patients, blocking=True, pool=WAREHOUSE_POOL)
def fhir_gender_in_value_set(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Gender is one of male, female, other, unknown."""
    with warehouse.session() as session:
        return gender_in_value_set(session)


@dg.asset_check(asset=fhir_patients, blocking=True, pool=WAREHOUSE_POOL)
def fhir_birth_date_format(warehouse: Warehouse) -> dg.AssetCheckResult:
    """birthDate is YYYY-MM-DD when present."""
    with warehouse.session() as session:
        return birth_date_format(session)


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
    fhir_resources_are_patients,
    fhir_patient_ids_unique,
    fhir_gender_in_value_set,
    fhir_birth_date_format,
    fhir_r4_model_validation,
    *build_row_count_drop_checks([fhir_patients.key], blocking=False),
]
