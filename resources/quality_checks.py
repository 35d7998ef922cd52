"""Check factories shared by every domain, so one rule is written once."""

from collections.abc import Sequence

import dagster as dg

from resources.warehouse import WAREHOUSE_POOL

DEFAULT_MAX_ROW_COUNT_DROP = 0.10


def previous_row_counts(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, limit: int = 2
) -> list[int]:
    """``dagster/row_count`` of the newest materializations of an asset, newest first."""
    records = instance.fetch_materializations(asset_key, limit=limit).records
    counts = []
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get("dagster/row_count") if materialization else None
        if value is not None:
            counts.append(int(value.value))
    return counts


def row_count_drop_result(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    max_drop: float = DEFAULT_MAX_ROW_COUNT_DROP,
) -> dg.AssetCheckResult:
    """Fail when the newest load has more than ``max_drop`` fewer rows than the one before."""
    counts = previous_row_counts(instance, asset_key)
    if len(counts) < 2:
        return dg.AssetCheckResult(
            passed=True,
            asset_key=asset_key,
            metadata={"note": "first materialization: nothing to compare"},
        )
    current, previous = counts[0], counts[1]
    drop = (previous - current) / previous if previous else 0.0
    return dg.AssetCheckResult(
        passed=drop <= max_drop,
        asset_key=asset_key,
        metadata={
            "current_rows": current,
            "previous_rows": previous,
            "drop_share": round(drop, 4),
            "max_drop_share": max_drop,
        },
    )


def build_row_count_drop_checks(
    asset_keys: Sequence[dg.AssetKey],
    name: str = "row_count_drop",
    max_drop: float = DEFAULT_MAX_ROW_COUNT_DROP,
    blocking: bool = True,
) -> list[dg.AssetChecksDefinition]:
    """One ``row_count_drop`` check per asset: fails on a drop of more than ``max_drop``.

    Each is its own ``@dg.asset_check`` step. A single subsettable multi-asset check over
    assets at several levels of the graph is not equivalent: Dagster plans it as one step
    at one level, so in a full run it evaluated some assets before they were rebuilt and
    never evaluated others (tests/test_concurrency.py reproduces that shape).
    """
    return [_row_count_drop_check(key, name, max_drop, blocking) for key in asset_keys]


def _row_count_drop_check(
    asset_key: dg.AssetKey, name: str, max_drop: float, blocking: bool
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=blocking,
        pool=WAREHOUSE_POOL,
        description=f"Fails when the row count falls by more than {max_drop:.0%} "
        "versus the previous materialization.",
    )
    def _row_count_drop(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return row_count_drop_result(context.instance, asset_key, max_drop)

    return _row_count_drop


#: The only checks that warn instead of blocking (docs/quality.md states the rule): they
#: judge plausibility or coverage, which a correct load can fail.
WARNING_ONLY_CHECKS = frozenset(
    {
        "svi_ranks_in_range",
        "adi_ranks_valid",
        "values_within_confidence_limits",
        "counties_cover_states",
        "tract_counties_in_geography",
        "zip_matches_state",
        "vintage_as_described",
        "fhir_r4_model_validation",
        "warehouse_health",
    }
)
