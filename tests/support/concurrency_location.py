"""A test-only code location: four independent assets writing the same DuckDB file.

Each holds its warehouse session for a moment, so without the `duckdb` pool the
multiprocess executor would run two of them at once. The shared blocking
``row_count_drop`` guard covers the four and the fifth asset that reads them all, as the
platform's own groups do, so the test also sees each check run once, after its asset.
"""

import time

import dagster as dg

from resources import Warehouse, build_resources
from resources.assets import WarehouseAssets
from resources.quality_checks import build_row_count_drop_checks

HOLD_SECONDS = 1.5
WRITERS = [dg.AssetKey(["concurrency", f"writer_{index}"]) for index in range(4)]
ALL_WRITERS = dg.AssetKey(["concurrency", "all_writers"])
CONCURRENCY = WarehouseAssets(group_name="concurrency", owners=["team:platform"])


def _writer(index: int) -> dg.AssetsDefinition:
    @CONCURRENCY.asset(
        WRITERS[index],
        description="Test asset: writes one table into the shared warehouse file.",
    )
    def writer(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as session:
            summary = session.create_table_as(
                f"concurrency.writer_{index}",
                f"SELECT {index} AS writer, range AS i FROM range(1000)",
            )
            time.sleep(HOLD_SECONDS)
        return dg.MaterializeResult(metadata=summary.metadata())

    return writer


@CONCURRENCY.asset(
    ALL_WRITERS,
    deps=WRITERS,
    description="Test asset: the four writers' rows in one table.",
)
def all_writers_table(warehouse: Warehouse) -> dg.MaterializeResult:
    union = " UNION ALL ".join(f"SELECT * FROM {key.path[0]}.{key.path[1]}" for key in WRITERS)
    with warehouse.session() as session:
        summary = session.create_table_as("concurrency.all_writers", union)
    return dg.MaterializeResult(metadata=summary.metadata())


all_writers = dg.define_asset_job("all_writers", selection=dg.AssetSelection.groups("concurrency"))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*(_writer(i) for i in range(4)), all_writers_table],
        asset_checks=build_row_count_drop_checks([*WRITERS, ALL_WRITERS]),
        jobs=[all_writers],
        resources=build_resources(),
    )
