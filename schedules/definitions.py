"""Everything the operations domain contributes to the code location.

Jobs and schedules for backups, Parquet exports, MotherDuck publishing and the hourly
``warehouse_health`` check. The landing-folder sensors are built from every domain's
``LANDING_SOURCES`` by ``schedules.landing_sensors.landing_sensor_definitions``, called from
``narr_platform/definitions.py`` once all domains are imported.
"""

import dagster as dg

from schedules.backup_jobs import BACKUP_JOBS, BACKUP_SCHEDULES
from schedules.warehouse_health import (
    warehouse_file,
    warehouse_health,
    warehouse_health_job,
    warehouse_health_schedule,
)

defs = dg.Definitions(
    assets=[warehouse_file],
    asset_checks=[warehouse_health],
    jobs=[*BACKUP_JOBS, warehouse_health_job],
    schedules=[*BACKUP_SCHEDULES, warehouse_health_schedule],
)
