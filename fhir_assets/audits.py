"""The blocking rules of the FHIR Patient table, judged on the staged table before publish.

Each rule is a function of a warehouse session and a table, so tests run the same rule on
a table they break on purpose; ``FHIR_PATIENT_AUDITS`` attaches them to ``fhir_patients``.
"""

import dagster as dg

from resources import WarehouseSession
from resources.publish import Audit, AuditContext, key_audit, row_count_drop_audit
from resources.warehouse import sql_literal

FHIR_PATIENTS = "fhir.fhir_patients"
GENDERS = ("male", "female", "other", "unknown")

IDS_UNIQUE = key_audit(
    ["id"], name="fhir_patient_ids_unique", description="Each FHIR Patient id appears once."
)


def ids_unique(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
    """Each resource id appears once and none is missing (the shared key rule)."""
    return IDS_UNIQUE.rule(AuditContext(session=session, table=table, published=table))


_RULE_NAMES = ("invalid_json", "not_patient", "id_mismatch", "outside_value_set", "bad_birth_dates")
_MEMBERS = "['$.resourceType', '$.id', '$.gender', '$.birthDate']"


def _rule_counts_sql(table: str, validity: str, members: str) -> str:
    allowed = ", ".join(sql_literal(g) for g in GENDERS)
    return f"""
        WITH parsed AS (
            SELECT id, gender, birth_date, resource_json, {validity} AS ok FROM {table}
        ),
        extracted AS (SELECT *, {members} AS m FROM parsed),
        members AS (
            SELECT *, m[1] AS rt, m[2] AS rid, m[3] AS rg, m[4] AS rb FROM extracted
        )
        SELECT
            count(CASE WHEN NOT ok OR resource_json IS NULL THEN 1 END),
            count(CASE WHEN ok AND coalesce(rt, '') <> 'Patient' THEN 1 END),
            count(CASE WHEN ok AND coalesce(rid, '') <> coalesce(id, '') THEN 1 END),
            count(CASE WHEN gender IS NULL OR gender NOT IN ({allowed})
                OR (ok AND coalesce(rg, '') NOT IN ({allowed})) THEN 1 END),
            count(CASE WHEN ok AND ((rb IS NULL) <> (birth_date IS NULL)
                OR NOT regexp_matches(rb, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$')
                OR try_cast(rb AS DATE) IS DISTINCT FROM birth_date) THEN 1 END)
        FROM members
        """


def resource_rule_counts(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dict[str, int]:
    """The failing rows of the three resource rules, in ONE scan of ``table``.

    Each resource is parsed once: its four members are extracted by one
    ``json_extract_string`` with a list of paths, and the rules below read their counts
    from here. A document that is not JSON makes that extraction fail in either engine;
    only then a second scan validates each document first (``json_valid``, a second
    parse) to count and report the invalid ones.
    """
    extract = f"json_extract_string(resource_json, {_MEMBERS})"
    try:
        row = session.fetch_rows(_rule_counts_sql(table, "resource_json IS NOT NULL", extract))
    except Exception:  # an unparsable document: the guarded scan below counts them
        guarded = f"CASE WHEN ok THEN {extract} END"
        row = session.fetch_rows(_rule_counts_sql(table, "json_valid(resource_json)", guarded))
    return {name: int(value) for name, value in zip(_RULE_NAMES, row[0], strict=True)}


def resources_are_patients(
    session: WarehouseSession, table: str = FHIR_PATIENTS, counts: dict[str, int] | None = None
) -> dg.AssetCheckResult:
    """Every resource_json parses as JSON, is a Patient and carries the row's id."""
    c = counts or resource_rule_counts(session, table)
    return dg.AssetCheckResult(
        passed=c["invalid_json"] == 0 and c["not_patient"] == 0 and c["id_mismatch"] == 0,
        metadata={k: c[k] for k in ("invalid_json", "not_patient", "id_mismatch")},
    )


def gender_in_value_set(
    session: WarehouseSession, table: str = FHIR_PATIENTS, counts: dict[str, int] | None = None
) -> dg.AssetCheckResult:
    """The gender column and the resource's gender are in male/female/other/unknown."""
    c = counts or resource_rule_counts(session, table)
    return dg.AssetCheckResult(
        passed=c["outside_value_set"] == 0,
        metadata={"outside_value_set": c["outside_value_set"]},
    )


def birth_date_format(
    session: WarehouseSession, table: str = FHIR_PATIENTS, counts: dict[str, int] | None = None
) -> dg.AssetCheckResult:
    """A present birthDate is YYYY-MM-DD, a real date, and equals the birth_date column."""
    c = counts or resource_rule_counts(session, table)
    return dg.AssetCheckResult(
        passed=c["bad_birth_dates"] == 0, metadata={"bad_birth_dates": c["bad_birth_dates"]}
    )


def _resource_rule(name: str, description: str, rule) -> Audit:
    """An audit reading its counts from the one scan shared by the resource rules."""

    def evaluate(ctx: AuditContext) -> dg.AssetCheckResult:
        counts = ctx.memo("fhir_resource_rule_counts", resource_rule_counts)
        return rule(ctx.session, ctx.table, counts)

    return Audit(name=name, description=description, rule=evaluate)


FHIR_PATIENT_AUDITS = [
    _resource_rule(
        "fhir_resources_are_patients",
        "Every resource parses as JSON with resourceType Patient and the row's id.",
        resources_are_patients,
    ),
    IDS_UNIQUE,
    _resource_rule(
        "fhir_gender_in_value_set",
        "Gender is one of male, female, other, unknown.",
        gender_in_value_set,
    ),
    _resource_rule(
        "fhir_birth_date_format", "birthDate is YYYY-MM-DD when present.", birth_date_format
    ),
    row_count_drop_audit(),
]
