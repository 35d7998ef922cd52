"""A test-only code location: four independent assets writing the same DuckDB file.

Each holds its warehouse session for a moment, so without the `duckdb` pool the
multiprocess executor would run two of them at once.
"""

import time

import dagster as dg

from resources import WAREHOUSE_POOL, Warehouse, build_resources

HOLD_SECONDS = 1.5


def _writer(index: int) -> dg.AssetsDefinition:
    @dg.asset(
        key=["concurrency", f"writer_{index}"],
        group_name="concurrency",
        kinds={"duckdb", "sql"},
        pool=WAREHOUSE_POOL,
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


all_writers = dg.define_asset_job("all_writers", selection=dg.AssetSelection.groups("concurrency"))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[_writer(i) for i in range(4)], jobs=[all_writers], resources=build_resources()
    )
