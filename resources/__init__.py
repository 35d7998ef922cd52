"""The shared toolkit every domain builds on: the warehouse seam, IO managers, landing folders, US geography lookups and sample-file writing; it imports no domain."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from resources.deployment import Deployment, PlatformConfigError, current_deployment
from resources.duckdb_io_manager import WarehousePandasIOManager
from resources.duckdb_settings import DuckDBSettings
from resources.landing import DEFAULT_LANDING_DIR, LANDING_DIR_ENV_VAR, LandingZone
from resources.warehouse import (
    WAREHOUSE_POOL,
    DuckDBWarehouse,
    TableSummary,
    Warehouse,
    WarehouseSession,
)

__all__ = [
    "WAREHOUSE_POOL",
    "Deployment",
    "DuckDBSettings",
    "DuckDBWarehouse",
    "LandingZone",
    "PlatformConfigError",
    "TableSummary",
    "Warehouse",
    "WarehouseSession",
    "build_resources",
    "current_deployment",
    "local_warehouse",
]


def local_warehouse(environ: Mapping[str, str] | None = None, **overrides: Any) -> DuckDBWarehouse:
    """The DuckDB warehouse configured from the environment (CLI, tests, benchmarks)."""
    return DuckDBWarehouse.from_settings(DuckDBSettings.from_env(environ), **overrides)


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resources for the deployment chosen by ``PLATFORM_DEPLOYMENT``; validates at load."""
    env = os.environ if environ is None else environ
    landing = LandingZone(root=env.get(LANDING_DIR_ENV_VAR, "").strip() or DEFAULT_LANDING_DIR)
    deployment = current_deployment(env)
    if deployment is Deployment.DATABRICKS:
        from resources.spark_io_manager import SparkPandasIOManager
        from resources.spark_warehouse import build_spark_warehouse

        spark_warehouse = build_spark_warehouse(env)
        return {
            "warehouse": spark_warehouse,
            "io_manager": SparkPandasIOManager(warehouse=spark_warehouse),
            "landing": landing,
        }
    settings = DuckDBSettings.from_env(env)
    warehouse = DuckDBWarehouse.from_settings(settings)
    io_manager = WarehousePandasIOManager(
        database=warehouse.database_path,
        connection_config=warehouse.connection_config(),
    )
    return {"warehouse": warehouse, "io_manager": io_manager, "landing": landing}
