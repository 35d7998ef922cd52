"""The code location: one ``dg.Definitions`` gathering every domain.

Loaded lazily by Dagster (``@dg.definitions``), so reading and validating the deployment
settings happens when the code location loads, not when this module is imported.
"""

import dagster as dg

import directory_assets.definitions
import fhir_assets.definitions
import fhir_assets.healthsim.definitions
import fhir_assets.views.assets
import reference_assets.definitions
import schedules.definitions
from resources import build_resources, current_deployment
from resources.assets import with_engine_kinds
from resources.automation import automation_sensor, with_downstream_automation
from resources.columns import load_catalog, with_column_schemas
from resources.platform_executor import lower_priority, platform_executor, run_niceness
from schedules.landing_sensors import landing_sensor_definitions, merge_landing_sources

DOMAIN_DEFINITIONS = (
    directory_assets.definitions.defs,
    fhir_assets.definitions.defs,
    fhir_assets.healthsim.definitions.defs,
    reference_assets.definitions.defs,
)

# Every asset and check writes the warehouse, so the duckdb pool (limit 1) runs them one at
# a time whatever the executor. In one process the run skips a Python start and a slot poll
# per step: `make run` went from 21 min (multiprocess, 132 steps) to about one. The
# pool still applies, so the run waits for (and blocks) steps of other runs on the file.
# Every job runs on the platform executor: in-process, plus dead-run recovery and a pool
# wait that sleeps and stops on SIGTERM (resources/platform_executor.py).
materialize_all = dg.define_asset_job(
    name="materialize_all",
    selection=dg.AssetSelection.all(),
    executor_def=platform_executor,
    description="Every asset of every domain, with their checks, in dependency order, "
    "one step at a time in one process (they all share the warehouse pool).",
)


#: Domain packages holding a columns.json (narr_platform/column_catalog.py refreshes them).
COLUMN_CATALOG_PACKAGES = (
    "directory_assets",
    "fhir_assets",
    "fhir_assets.healthsim",
    "reference_assets",
)

LANDING_DOMAINS = (
    directory_assets.definitions,
    fhir_assets.definitions,
    fhir_assets.healthsim.definitions,
    reference_assets.definitions,
)


@dg.definitions
def defs() -> dg.Definitions:
    deployment = current_deployment()
    # A process that loads the code location is a run (or the code server that evaluates
    # sensors and schedules): batch work, so it takes the run niceness here rather than at
    # its first step, before Dagster builds the job and the run (~1.2 CPU s per run). A
    # malformed PLATFORM_RUN_NICENESS fails here, at load, not in a run.
    lower_priority(run_niceness())
    landing_sources = merge_landing_sources(m.LANDING_SOURCES for m in LANDING_DOMAINS)
    readers = dg.AssetSelection.assets()
    for selection in landing_sources.values():
        readers = readers | selection
    merged = dg.Definitions.merge(
        # Every warehouse asset is labelled with this deployment's engine (duckdb or
        # databricks/spark), decided here at load rather than in each domain at import.
        *(with_engine_kinds(domain, deployment) for domain in DOMAIN_DEFINITIONS),
        # SQL on FHIR ViewDefinitions of views/: read here, when the location loads.
        with_engine_kinds(fhir_assets.views.assets.view_definitions(), deployment),
        # Operations differ per deployment: DuckDB-file jobs exist only locally.
        with_engine_kinds(schedules.definitions.definitions(deployment), deployment),
        # One sensor per landing folder of every domain's LANDING_SOURCES.
        landing_sensor_definitions([landing_sources]),
        dg.Definitions(
            jobs=[materialize_all],
            sensors=[automation_sensor()],
            resources=build_resources(),
            executor=platform_executor,
        ),
    )
    # A landing sensor runs the readers; everything downstream follows by automation.
    automated = with_downstream_automation(merged, readers)
    # Column descriptions declared with the assets (each domain's columns.json).
    catalog = {}
    for package in COLUMN_CATALOG_PACKAGES:
        catalog.update(load_catalog(package))
    return with_column_schemas(automated, catalog)
