"""The blocking rules of the FHIR Patient table, judged on the staged table before publish.

The rules judge the columns each resource is built from, not a re-parse of its JSON. The
mapping (``sql/patient_to_fhir.sql``) builds every document from the same row's columns in
one expression: each text value goes through ``json_quote``, each member's key and brackets
are literals, and the ``id``, ``gender`` and ``birth_date`` columns are the very values the
document carries. So the document is valid JSON and a Patient with the row's id by
construction, and what input can still break it is exactly what these rules check:

- an id that is not a FHIR id (``[A-Za-z0-9.-]{1,64}``), or a missing one;
- a gender outside the value set;
- a date JSON would render outside FHIR's ``YYYY-MM-DD`` (a year before 1 or after 9999);
- a coordinate that is not a finite number in range: JSON has no ``NaN`` or ``Infinity``
  (DuckDB's ``json_valid`` accepts both, so a re-parse would not catch them).

The construction itself is proven by ``tests/test_fhir_mapping.py``: every combination of
present and absent members, with text that needs escaping, parses as strict JSON equal to
the struct-serialized reference. Each run also validates a sample of the published
resources with ``fhir.resources`` (the non-blocking ``fhir_r4_model_validation``). Re-reading
and parsing every document would cost a third of the write at 10 M patients
(docs/benchmarks.md) and check the mapping's code, which the tests already do.

All rules share one scan of the narrow columns; a failing rule names its example ids and
the source files of its rows. Each rule is also a function of a session and a table, so
tests run it on a table they break on purpose.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from resources import WarehouseSession
from resources.publish import (
    EXAMPLES,
    Audit,
    AuditContext,
    key_audit,
    outcome,
    row_count_drop_audit,
)
from resources.warehouse import sql_literal

FHIR_PATIENTS = "fhir.fhir_patients"
GENDERS = ("male", "female", "other", "unknown")
FHIR_ID_PATTERN = "^[A-Za-z0-9.-]{1,64}$"


def _outside_fhir_years(column: str) -> str:
    return f"({column} IS NOT NULL AND NOT year({column}) BETWEEN 1 AND 9999)"


def _not_in_range(column: str, bound: int) -> str:
    # NaN and +-Infinity are outside every range on both engines.
    return f"({column} IS NOT NULL AND NOT {column} BETWEEN -{bound} AND {bound})"


#: Each rule: the condition its failing rows meet, and the columns a failure shows.
RULES: dict[str, tuple[str, str]] = {
    "invalid_ids": (
        f"id IS NULL OR NOT regexp_matches(id, '{FHIR_ID_PATTERN}')",
        "id",
    ),
    "outside_value_set": (
        "gender IS NULL OR gender NOT IN ({})".format(", ".join(sql_literal(g) for g in GENDERS)),
        "id, gender",
    ),
    "bad_dates": (
        f"{_outside_fhir_years('birth_date')} OR {_outside_fhir_years('deceased_date')}",
        "id, birth_date, deceased_date",
    ),
    "bad_coordinates": (
        f"{_not_in_range('latitude', 90)} OR {_not_in_range('longitude', 180)}",
        "id, latitude, longitude",
    ),
}


def rule_counts(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dict[str, int]:
    """The failing rows of every rule, in ONE scan of the table's narrow columns."""
    counts = ", ".join(
        f"count(CASE WHEN {condition} THEN 1 END)" for condition, _ in RULES.values()
    )
    row = session.fetch_rows(f"SELECT {counts} FROM {table}")[0]
    return {name: int(value) for name, value in zip(RULES, row, strict=True)}


def _rule(rule: str) -> Callable[[AuditContext], dg.AssetCheckResult]:
    condition, shown = RULES[rule]

    def evaluate(ctx: AuditContext) -> dg.AssetCheckResult:
        failing = ctx.memo("fhir_patient_rule_counts", rule_counts)[rule]
        examples: list[str] = []
        files: list[str] = []
        if failing:
            rows = ctx.session.fetch_rows(
                f"SELECT {shown} FROM {ctx.table} WHERE {condition} ORDER BY id LIMIT {EXAMPLES}"
            )
            examples = [" / ".join(str(v) for v in row) for row in rows]
            files = ctx.source_files(condition)
        return outcome(failing, examples, files, **{rule: failing})

    return evaluate


def _standalone(rule: str) -> Callable[..., dg.AssetCheckResult]:
    def check(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
        return _rule(rule)(AuditContext(session=session, table=table, published=table))

    check.__doc__ = f"The ``{rule}`` rule on ``table`` (the same rule the publish runs)."
    return check


IDS_UNIQUE = key_audit(
    ["id"], name="fhir_patient_ids_unique", description="Each FHIR Patient id appears once."
)


def ids_unique(session: WarehouseSession, table: str = FHIR_PATIENTS) -> dg.AssetCheckResult:
    """Each resource id appears once and none is missing (the shared key rule)."""
    return IDS_UNIQUE.rule(AuditContext(session=session, table=table, published=table))


ids_valid = _standalone("invalid_ids")
gender_in_value_set = _standalone("outside_value_set")
dates_in_fhir_range = _standalone("bad_dates")
coordinates_in_range = _standalone("bad_coordinates")

FHIR_PATIENT_AUDITS = [
    Audit(
        "fhir_patient_ids_valid",
        "Every resource's id (and identifier value) is a FHIR id: [A-Za-z0-9.-]{1,64}.",
        _rule("invalid_ids"),
    ),
    IDS_UNIQUE,
    Audit(
        "fhir_gender_in_value_set",
        "Gender is one of male, female, other, unknown.",
        _rule("outside_value_set"),
    ),
    Audit(
        "fhir_dates_in_fhir_range",
        "birthDate and deceasedDateTime are FHIR dates (YYYY-MM-DD, years 0001-9999).",
        _rule("bad_dates"),
    ),
    Audit(
        "fhir_coordinates_in_range",
        "The geolocation is finite and in range (latitude +-90, longitude +-180): "
        "JSON has no NaN or Infinity.",
        _rule("bad_coordinates"),
    ),
    row_count_drop_audit(),
]
