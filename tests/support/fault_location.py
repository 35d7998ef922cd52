"""A test-only code location for the fault suite: one step that holds the ``duckdb`` pool.

``hold`` runs on the platform executor, like every platform job; its single step takes the
pool slot, writes one table and then sleeps ``FAULT_HOLD_SECONDS`` (default 0) while holding
the slot (with ``FAULT_HOLD_IN_SESSION=1``, inside an open write to the DuckDB file), so a
test can kill it, or queue another run behind it, at a known point.
"""

import os
import time

import dagster as dg

from resources import WAREHOUSE_POOL, Warehouse, build_resources
from resources.platform_executor import platform_executor


@dg.asset(key=["faults", "held"], group_name="faults", pool=WAREHOUSE_POOL)
def held(warehouse: Warehouse) -> dg.MaterializeResult:
    hold = float(os.environ.get("FAULT_HOLD_SECONDS", "0"))
    with warehouse.session() as session:
        session.execute("CREATE SCHEMA IF NOT EXISTS faults")
        session.execute("CREATE OR REPLACE TABLE faults.held AS SELECT 1 AS one")
        if os.environ.get("FAULT_HOLD_IN_SESSION"):  # mid-write: DuckDB's file lock held too
            session.execute("INSERT INTO faults.held SELECT 2")
            time.sleep(hold)
    time.sleep(hold)
    return dg.MaterializeResult()


hold = dg.define_asset_job("hold", selection=dg.AssetSelection.groups("faults"))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[held], jobs=[hold], resources=build_resources(), executor=platform_executor
    )
