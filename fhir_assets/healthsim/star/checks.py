"""Checks of the star schema: dimension keys are unique with their unknown member, keys
resolve, totals reconcile, every fact row has its date, no row on the unknown patient, few
rows on the unknown facility.

Each rule is an ``evaluate_*`` function over a ``WarehouseSession`` (tested directly on a
deliberately broken warehouse); :func:`fact_audits` makes them the blocking audits of the
fact, judged on the staged fact before it is published.
"""

from collections.abc import Callable

import dagster as dg

from fhir_assets.healthsim.star.schema import DIMENSION_KEYS, DIMENSIONS, FACTS
from resources import WarehouseSession
from resources.publish import Audit, key_audit, rule_audit

#: fact -> {foreign key column: dimension table.key column}, from the one declaration.
FACT_FOREIGN_KEYS: dict[str, dict[str, str]] = {f.name: f.foreign_keys() for f in FACTS}
#: The same for dimensions that point at another dimension (dim_patient -> dim_geography).
DIMENSION_FOREIGN_KEYS: dict[str, dict[str, str]] = {
    d.name: d.foreign_keys() for d in DIMENSIONS if d.references
}
#: fact -> its primary date key; fact -> the canonical table it reconciles with.
FACT_DATE_KEYS: dict[str, str] = {f.name: f.date_key for f in FACTS if f.date_key}
FACT_SOURCES: dict[str, str] = {f.name: f.source for f in FACTS}
#: Amount columns that must sum to the cent to the canonical table's.
RECONCILED_AMOUNTS: dict[str, tuple[str, ...]] = {f.name: f.amounts for f in FACTS}


def evaluate_foreign_keys(
    session: WarehouseSession, fact: str, table: str | None = None
) -> dg.AssetCheckResult:
    """Every foreign key of ``fact`` is a key of its dimension (the unknown member -1 included).

    ``fact`` may also be a dimension that points at another one (no orphan dim_patient row).
    ``table`` is the table judged (the staged fact before publish); default the published one.
    """
    unresolved: dict[str, int] = {}
    examples: list[str] = []
    references = FACT_FOREIGN_KEYS.get(fact) or DIMENSION_FOREIGN_KEYS[fact]
    for column, target in references.items():
        dim, key = target.split(".")
        where = (
            f"f.{column} IS NULL OR NOT EXISTS "
            f"(SELECT 1 FROM analytics.{dim} AS d WHERE d.{key} = f.{column})"
        )
        (count,) = session.fetch_rows(
            f"SELECT count(*) FROM {table or f'analytics.{fact}'} AS f WHERE {where}"
        )[0]
        unresolved[column] = int(count)
        if count:
            rows = session.fetch_rows(
                f"SELECT DISTINCT f.{column} FROM {table or f'analytics.{fact}'} AS f "
                f"WHERE {where} ORDER BY 1 LIMIT 3"
            )
            examples += [f"{column}={r[0]} not in {dim}" for r in rows]
    return dg.AssetCheckResult(
        passed=not any(unresolved.values()),
        metadata={
            "failing_rows": dg.MetadataValue.int(sum(unresolved.values())),
            "examples": dg.MetadataValue.json(examples),
            "unresolved_by_column": dg.MetadataValue.json(unresolved),
        },
    )


def evaluate_reconciliation(
    session: WarehouseSession, fact: str, table: str | None = None
) -> dg.AssetCheckResult:
    """Row count and amount totals of ``fact`` equal its canonical table's, to the cent."""
    source = FACT_SOURCES[fact]
    amounts = RECONCILED_AMOUNTS[fact]
    sums = "".join(f", CAST(coalesce(sum({c}), 0) AS DECIMAL(38, 2))" for c in amounts)
    fact_row = session.fetch_rows(f"SELECT count(*){sums} FROM {table or f'analytics.{fact}'}")[0]
    source_row = session.fetch_rows(f"SELECT count(*){sums} FROM {source}")[0]
    metadata: dict[str, object] = {"fact_rows": int(fact_row[0]), "source_rows": int(source_row[0])}
    for index, column in enumerate(amounts, start=1):
        metadata[f"fact_{column}"] = str(fact_row[index])
        metadata[f"source_{column}"] = str(source_row[index])
    return dg.AssetCheckResult(passed=tuple(fact_row) == tuple(source_row), metadata=metadata)


def evaluate_date_keys(
    session: WarehouseSession, fact: str, table: str | None = None
) -> dg.AssetCheckResult:
    """No fact row lacks its primary date key (NULL or the unknown date -1)."""
    column = FACT_DATE_KEYS[fact]
    (missing,) = session.fetch_rows(
        f"SELECT count(*) FROM {table or f'analytics.{fact}'} "
        f"WHERE {column} IS NULL OR {column} = -1"
    )[0]
    return dg.AssetCheckResult(
        passed=missing == 0, metadata={"date_key": column, "rows_without_date": int(missing)}
    )


#: The largest share of a fact's rows that may sit on the unknown facility (-1).
MAX_UNKNOWN_FACILITY_SHARE = 0.05


def evaluate_known_patients(
    session: WarehouseSession, fact: str, table: str | None = None
) -> dg.AssetCheckResult:
    """No fact row points at the unknown patient (-1): clinical rows whose patient is missing
    or rejected are quarantined in the canonical ``*_rejected`` tables, never loaded."""
    total, unknown = session.fetch_rows(
        f"SELECT count(*), count(CASE WHEN patient_key = -1 OR patient_key IS NULL THEN 1 END) "
        f"FROM {table or f'analytics.{fact}'}"
    )[0]
    return dg.AssetCheckResult(
        passed=int(unknown) == 0,
        metadata={"rows": int(total), "unknown_patient_rows": int(unknown)},
    )


def evaluate_unknown_facilities(
    session: WarehouseSession, fact: str, table: str | None = None
) -> dg.AssetCheckResult:
    """The share of rows on the unknown facility (-1) is reported and at most the bound."""
    total, unknown = session.fetch_rows(
        f"SELECT count(*), count(CASE WHEN facility_key = -1 OR facility_key IS NULL THEN 1 END) "
        f"FROM {table or f'analytics.{fact}'}"
    )[0]
    share = int(unknown) / int(total) if total else 0.0
    return dg.AssetCheckResult(
        passed=share <= MAX_UNKNOWN_FACILITY_SHARE,
        metadata={
            "rows": int(total),
            "unknown_facility_rows": int(unknown),
            "unknown_facility_share": dg.MetadataValue.float(round(share, 4)),
            "max_share": dg.MetadataValue.float(MAX_UNKNOWN_FACILITY_SHARE),
        },
    )


RULES: dict[str, tuple[Callable[..., dg.AssetCheckResult], str]] = {
    "foreign_keys_resolve": (
        evaluate_foreign_keys,
        "Every foreign key resolves to its dimension or is the unknown member -1.",
    ),
    "totals_reconcile": (
        evaluate_reconciliation,
        "Row count and amounts equal the canonical table's, to the cent.",
    ),
    "date_key_present": (evaluate_date_keys, "No fact row without its date key."),
    "patient_known": (
        evaluate_known_patients,
        "No row points at the unknown patient (-1): orphans are quarantined upstream.",
    ),
    "unknown_facility_share": (
        evaluate_unknown_facilities,
        f"At most {MAX_UNKNOWN_FACILITY_SHARE:.0%} of rows on the unknown facility (-1).",
    ),
}


def fact_audits(fact: str) -> list[Audit]:
    """The rules of one fact, judged on the staged fact before it is published."""
    return [
        rule_audit(
            rule,
            description,
            lambda session, table, evaluate=evaluate: evaluate(session, fact, table),
        )
        for rule, (evaluate, description) in RULES.items()
    ]


def evaluate_unknown_member(
    session: WarehouseSession, dim: str, table: str | None = None
) -> dg.AssetCheckResult:
    """The dimension holds its unknown member (key -1) exactly once."""
    key = DIMENSION_KEYS[dim]
    (unknown,) = session.fetch_rows(
        f"SELECT count(*) FROM {table or f'analytics.{dim}'} WHERE {key} = -1"
    )[0]
    return dg.AssetCheckResult(
        passed=int(unknown) == 1, metadata={"key_column": key, "unknown_member_rows": int(unknown)}
    )


def dimension_audits(dim: str) -> list[Audit]:
    """A dimension's blocking rules: its key is unique and never NULL, the unknown member -1
    is there once, and a key naming another dimension resolves (no orphans)."""
    audits = [
        key_audit([DIMENSION_KEYS[dim]]),
        rule_audit(
            "unknown_member_present",
            "The unknown member (key -1) that unresolved keys point at is present once.",
            lambda session, table: evaluate_unknown_member(session, dim, table),
        ),
    ]
    if dim in DIMENSION_FOREIGN_KEYS:
        audits.append(
            rule_audit(
                "foreign_keys_resolve",
                RULES["foreign_keys_resolve"][1],
                lambda session, table: evaluate_foreign_keys(session, dim, table),
            )
        )
    return audits


#: Separate checks of the star schema: none left, every rule is an audit of its table.
STAR_CHECKS: list[dg.AssetChecksDefinition] = []
