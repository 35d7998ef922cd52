"""Checks of the star schema: keys resolve, totals reconcile, every fact row has its date,
no row on the unknown patient, few rows on the unknown facility.

Each rule is an ``evaluate_*`` function over a ``WarehouseSession`` (tested directly on a
deliberately broken warehouse) wrapped by a blocking Dagster asset check.
"""

from collections.abc import Callable

import dagster as dg

from fhir_assets.healthsim.star.schema import FACTS
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession

#: fact -> {foreign key column: dimension table.key column}, from the one declaration.
FACT_FOREIGN_KEYS: dict[str, dict[str, str]] = {f.name: f.foreign_keys() for f in FACTS}
#: fact -> its primary date key; fact -> the canonical table it reconciles with.
FACT_DATE_KEYS: dict[str, str] = {f.name: f.date_key for f in FACTS if f.date_key}
FACT_SOURCES: dict[str, str] = {f.name: f.source for f in FACTS}
#: Amount columns that must sum to the cent to the canonical table's.
RECONCILED_AMOUNTS: dict[str, tuple[str, ...]] = {f.name: f.amounts for f in FACTS}


def evaluate_foreign_keys(session: WarehouseSession, fact: str) -> dg.AssetCheckResult:
    """Every foreign key of ``fact`` is a key of its dimension (the unknown member -1 included)."""
    unresolved: dict[str, int] = {}
    for column, target in FACT_FOREIGN_KEYS[fact].items():
        dim, key = target.split(".")
        (count,) = session.fetch_rows(
            f"SELECT count(*) FROM analytics.{fact} AS f "
            f"WHERE f.{column} IS NULL OR NOT EXISTS "
            f"(SELECT 1 FROM analytics.{dim} AS d WHERE d.{key} = f.{column})"
        )[0]
        unresolved[column] = int(count)
    return dg.AssetCheckResult(
        passed=not any(unresolved.values()),
        metadata={"unresolved_by_column": dg.MetadataValue.json(unresolved)},
    )


def evaluate_reconciliation(session: WarehouseSession, fact: str) -> dg.AssetCheckResult:
    """Row count and amount totals of ``fact`` equal its canonical table's, to the cent."""
    source = FACT_SOURCES[fact]
    amounts = RECONCILED_AMOUNTS[fact]
    sums = "".join(f", CAST(coalesce(sum({c}), 0) AS DECIMAL(38, 2))" for c in amounts)
    fact_row = session.fetch_rows(f"SELECT count(*){sums} FROM analytics.{fact}")[0]
    source_row = session.fetch_rows(f"SELECT count(*){sums} FROM {source}")[0]
    metadata: dict[str, object] = {"fact_rows": int(fact_row[0]), "source_rows": int(source_row[0])}
    for index, column in enumerate(amounts, start=1):
        metadata[f"fact_{column}"] = str(fact_row[index])
        metadata[f"source_{column}"] = str(source_row[index])
    return dg.AssetCheckResult(passed=tuple(fact_row) == tuple(source_row), metadata=metadata)


def evaluate_date_keys(session: WarehouseSession, fact: str) -> dg.AssetCheckResult:
    """No fact row lacks its primary date key (NULL or the unknown date -1)."""
    column = FACT_DATE_KEYS[fact]
    (missing,) = session.fetch_rows(
        f"SELECT count(*) FROM analytics.{fact} WHERE {column} IS NULL OR {column} = -1"
    )[0]
    return dg.AssetCheckResult(
        passed=missing == 0, metadata={"date_key": column, "rows_without_date": int(missing)}
    )


#: The largest share of a fact's rows that may sit on the unknown facility (-1).
MAX_UNKNOWN_FACILITY_SHARE = 0.05


def evaluate_known_patients(session: WarehouseSession, fact: str) -> dg.AssetCheckResult:
    """No fact row points at the unknown patient (-1): clinical rows whose patient is missing
    or rejected are quarantined in the canonical ``*_rejected`` tables, never loaded."""
    total, unknown = session.fetch_rows(
        f"SELECT count(*), count(CASE WHEN patient_key = -1 OR patient_key IS NULL THEN 1 END) "
        f"FROM analytics.{fact}"
    )[0]
    return dg.AssetCheckResult(
        passed=int(unknown) == 0,
        metadata={"rows": int(total), "unknown_patient_rows": int(unknown)},
    )


def evaluate_unknown_facilities(session: WarehouseSession, fact: str) -> dg.AssetCheckResult:
    """The share of rows on the unknown facility (-1) is reported and at most the bound."""
    total, unknown = session.fetch_rows(
        f"SELECT count(*), count(CASE WHEN facility_key = -1 OR facility_key IS NULL THEN 1 END) "
        f"FROM analytics.{fact}"
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


RULES: dict[str, tuple[Callable[[WarehouseSession, str], dg.AssetCheckResult], str]] = {
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


def build_fact_checks(fact: str) -> dg.AssetChecksDefinition:
    """The rules on one fact as ONE step (one process start instead of one per rule)."""
    key = dg.AssetKey(["analytics", fact])
    specs = [
        dg.AssetCheckSpec(name=rule, asset=key, blocking=True, description=description)
        for rule, (_, description) in RULES.items()
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name=f"{fact}_checks", pool=WAREHOUSE_POOL)
    def _fact_checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        with warehouse.session() as session:
            for check_key in sorted(context.selected_asset_check_keys, key=str):
                result = RULES[check_key.name][0](session, fact)
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name=check_key.name,
                    passed=result.passed,
                    metadata=result.metadata,
                )

    return _fact_checks


STAR_CHECKS = [build_fact_checks(fact) for fact in FACT_SOURCES]
