"""The blocking rules of the FHIR Patient table, judged on the staged table before publish.

Each rule is a function of a warehouse session and a table, so tests run the same rule on
a table they break on purpose; ``FHIR_PATIENT_AUDITS`` attaches them to ``fhir_patients``.
"""

import dagster as dg

from resources import WarehouseSession
from resources.publish import AuditContext, key_audit, row_count_drop_audit, rule_audit
from resources.warehouse import sql_literal

FHIR_PATIENTS = "fhir.fhir_patients"
GENDERS = ("male", "female", "other", "unknown")

IDS_UNIQUE = key_audit(
    ["id"], name="fhir_patient_ids_unique", description="Each FHIR Patient id appears once."
)


def ids_unique(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
    """Each resource id appears once and none is missing (the shared key rule)."""
    return IDS_UNIQUE.rule(AuditContext(session=session, table=table, published=table))


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


FHIR_PATIENT_AUDITS = [
    rule_audit(
        "fhir_resources_are_patients",
        "Every resource parses as JSON with resourceType Patient and the row's id.",
        resources_are_patients,
    ),
    IDS_UNIQUE,
    rule_audit(
        "fhir_gender_in_value_set",
        "Gender is one of male, female, other, unknown.",
        gender_in_value_set,
    ),
    rule_audit(
        "fhir_birth_date_format", "birthDate is YYYY-MM-DD when present.", birth_date_format
    ),
    row_count_drop_audit(),
]
