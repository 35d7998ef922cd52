"""Everything the operations domain contributes to the code location, per deployment.

Jobs and schedules for backups, Parquet exports, MotherDuck publishing and the hourly
``warehouse_health`` check; the snapshots of the warehouse's health and table statistics
(``schedules/snapshots.py``, stored by the IO manager). What only makes sense for the local DuckDB file (backups,
MotherDuck publishing, the file's health) is registered only in the local deployment; on
Databricks, Delta time travel and DEEP CLONE replace them, so they do not appear there at
all rather than failing when run. The landing-folder sensors are built from every domain's
``LANDING_SOURCES`` by ``schedules.landing_sensors.landing_sensor_definitions``, called from
``narr_platform/definitions.py`` once all domains are imported.
"""

from collections.abc import Mapping

import dagster as dg

from resources.deployment import Deployment
from schedules.backup_jobs import (
    DUCKDB_FILE_JOBS,
    EXPORT_JOBS,
    OperationsResource,
    duckdb_file_schedules,
    export_schedules,
)
from schedules.snapshots import table_statistics, warehouse_health_snapshot
from schedules.warehouse_health import (
    warehouse_file,
    warehouse_health,
    warehouse_health_job,
    warehouse_health_schedule,
)


def definitions(deployment: Deployment, environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The operations of ``deployment``, with the ``operations`` resource read from ``environ``."""
    operations = OperationsResource.from_env(environ)
    resources = {"operations": operations}
    if deployment is not Deployment.LOCAL:
        return dg.Definitions(
            assets=[table_statistics],
            jobs=EXPORT_JOBS,
            schedules=export_schedules(operations),
            resources=resources,
        )
    return dg.Definitions(
        assets=[warehouse_file, warehouse_health_snapshot, table_statistics],
        asset_checks=[warehouse_health],
        jobs=[*DUCKDB_FILE_JOBS, *EXPORT_JOBS, warehouse_health_job],
        schedules=[
            *duckdb_file_schedules(operations),
            *export_schedules(operations),
            warehouse_health_schedule,
        ],
        resources=resources,
    )
