"""A test-only code location for the fault suite: one step that holds the ``duckdb`` pool.

``hold`` runs on the platform executor, like every platform job; its single step takes the
pool slot, writes one table and then sleeps ``FAULT_HOLD_SECONDS`` (default 0) while holding
the slot, so a test can kill it, or queue another run behind it, at a known point.
"""

import os
import time

import dagster as dg

from resources import WAREHOUSE_POOL, Warehouse, build_resources
from resources.platform_executor import platform_executor


@dg.asset(key=["faults", "held"], group_name="faults", pool=WAREHOUSE_POOL)
def held(warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.session() as session:
        session.create_table_as("faults.held", "SELECT 1 AS one")
    time.sleep(float(os.environ.get("FAULT_HOLD_SECONDS", "0")))
    return dg.MaterializeResult()


hold = dg.define_asset_job("hold", selection=dg.AssetSelection.groups("faults"))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[held], jobs=[hold], resources=build_resources(), executor=platform_executor
    )
