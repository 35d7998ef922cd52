"""The scenario tables as an asset, and the legacy-scenario migration job."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from fhir_assets.healthsim.canonical import HEALTHSIM
from fhir_assets.healthsim.scenarios.capture import capture_patients
from fhir_assets.healthsim.scenarios.legacy import migrate_legacy_folder
from fhir_assets.healthsim.scenarios.schema import current_version
from fhir_assets.healthsim.scenarios.store import ScenarioStore
from resources import WAREHOUSE_POOL, LandingZone, Warehouse

#: Landing folder of legacy scenario files (one JSON file per scenario).
LEGACY_SCENARIOS_SOURCE = "scenarios_legacy"
DEMO_SCENARIO = "demo-30-day-readmissions"

# Patients with an inpatient stay followed by another inpatient admission within 30 days.
READMITTED_PATIENTS_SQL = """
SELECT DISTINCT a.patient_id
FROM healthsim.encounters AS a
JOIN healthsim.encounters AS b
    ON b.patient_id = a.patient_id
    AND b.encounter_class = 'inpatient'
    AND b.start_at > a.stop_at
    AND b.start_at <= a.stop_at + INTERVAL 30 DAY
WHERE a.encounter_class = 'inpatient'
ORDER BY a.patient_id
LIMIT 5
"""


@HEALTHSIM.asset(
    ["healthsim", "scenarios"],
    sql=READMITTED_PATIENTS_SQL,
    deps=[
        dg.AssetKey(["healthsim", t]) for t in ("patients", "encounters", "conditions", "claims")
    ],
    description=(
        "Saved scenarios: named, tagged sets of patients and their clinical entities that "
        "analysts reload, export as JSON and share (healthsim.scenarios, scenario_entities, "
        "scenario_tags, at the latest schema_version). Materializing upgrades the tables and "
        "refreshes the demo scenario of patients readmitted within 30 days."
    ),
)
def healthsim_scenarios(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        store = ScenarioStore(session)
        patient_ids = [r[0] for r in session.fetch_rows(READMITTED_PATIENTS_SQL)]
        if patient_ids:
            store.save(
                DEMO_SCENARIO,
                capture_patients(session, patient_ids),
                description="Patients with an inpatient readmission within 30 days of discharge.",
                metadata={"built_by": "healthsim/scenarios"},
                tags=["demo", "readmission"],
                replace=True,
            )
            context.log.info(f"Saved {DEMO_SCENARIO} with {len(patient_ids)} patient(s)")
        summary = session.summarize("healthsim.scenarios")
        entities = session.row_count("healthsim.scenario_entities")
        version = current_version(session)
    return dg.MaterializeResult(
        metadata={**summary.metadata(), "scenario_entities": entities, "schema_version": version}
    )


class LegacyMigrationConfig(dg.Config):
    folder: str = Field(
        default="",
        description="Folder of legacy scenario JSON files; default <landing>/scenarios_legacy.",
    )


@dg.op(
    pool=WAREHOUSE_POOL,
    out=dg.Out(dg.Nothing),
    description="Migrate legacy one-JSON-file-per-scenario folders.",
)
def migrate_legacy_scenarios(
    context: dg.OpExecutionContext,
    config: LegacyMigrationConfig,
    warehouse: Warehouse,
    landing: LandingZone,
) -> dg.Output:
    folder = Path(config.folder) if config.folder else landing.folder(LEGACY_SCENARIOS_SOURCE)
    if not folder.is_dir():
        raise dg.Failure(f"Legacy scenario folder {folder} does not exist.")
    with warehouse.session() as session:
        report = migrate_legacy_folder(ScenarioStore(session), folder)
    for name, reason in report.skipped:
        context.log.warning(f"Skipped malformed legacy scenario {folder / name}: {reason}")
    for name, result in report.migrated:
        context.log.info(f"{name}: {result.summary()}")
    summary = report.summary()
    metadata = {
        k: dg.MetadataValue.json(v) if isinstance(v, list) else v for k, v in summary.items()
    }
    return dg.Output(None, metadata=metadata)


@dg.job(description="Migrate a folder of legacy scenario JSON files into the scenario tables.")
def healthsim_legacy_scenario_migration() -> None:
    migrate_legacy_scenarios()
