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
) -> dg.AssetChecksDefinition:
    """One ``row_count_drop`` check per asset: fails on a drop of more than ``max_drop``."""
    specs = [
        dg.AssetCheckSpec(
            name=name,
            asset=key,
            blocking=blocking,
            description=f"Fails when the row count falls by more than {max_drop:.0%} "
            "versus the previous materialization.",
        )
        for key in asset_keys
    ]
    suffix = "_".join(asset_keys[0].path) if len(asset_keys) == 1 else f"{len(asset_keys)}_assets"

    @dg.multi_asset_check(
        specs=specs, can_subset=True, name=f"{name}__{suffix}", pool=WAREHOUSE_POOL
    )
    def _row_count_drop(context: dg.AssetCheckExecutionContext):
        for check_key in context.selected_asset_check_keys:
            yield row_count_drop_result(context.instance, check_key.asset_key, max_drop)

    return _row_count_drop
