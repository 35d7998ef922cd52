"""The scenario tables as an asset, and the legacy-scenario migration job."""

import datetime as dt
import json
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from fhir_assets.healthsim.canonical import HEALTHSIM
from fhir_assets.healthsim.scenarios.capture import capture_patients
from fhir_assets.healthsim.scenarios.legacy import migrate_legacy_folder
from fhir_assets.healthsim.scenarios.schema import current_version
from fhir_assets.healthsim.scenarios.store import ScenarioStore, compact_json
from resources import WAREHOUSE_POOL, LandingZone, Warehouse

#: Landing folder of legacy scenario files (one JSON file per scenario).
LEGACY_SCENARIOS_SOURCE = "scenarios_legacy"
DEMO_SCENARIO = "demo-30-day-readmissions"
DEMO_SCENARIO_NAMESPACE = uuid.UUID("0b6f3c1e-8a52-4d2e-9a3c-5f1d2e7b9c40")

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


CAPTURE_KEY = dg.AssetKey(["healthsim", "readmission_capture"])
CAPTURE_COLUMNS = ("entity_type", "entity_id", "data")


@HEALTHSIM.asset(
    CAPTURE_KEY,
    sql=READMITTED_PATIENTS_SQL,
    # Made in Python (one JSON document per entity) and returned as a DataFrame: the
    # deployment's IO manager stores it. See docs/architecture.md.
    kinds=["pandas"],
    deps=[
        dg.AssetKey(["healthsim", t]) for t in ("patients", "encounters", "conditions", "claims")
    ],
    description=(
        "The capture of the demo scenario: up to five patients readmitted as inpatients within "
        "30 days of a discharge, and every clinical row of theirs, one row per entity "
        "(entity_type, entity_id, data = the canonical row as JSON with sorted keys)."
    ),
)
def readmission_capture(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    with warehouse.session() as session:
        patient_ids = [r[0] for r in session.fetch_rows(READMITTED_PATIENTS_SQL)]
        entities = capture_patients(session, patient_ids) if patient_ids else []
    context.log.info(f"{len(patient_ids)} readmitted patient(s), {len(entities)} entities")
    return pd.DataFrame(
        [(kind, entity_id, compact_json(data)) for kind, entity_id, data in entities],
        columns=list(CAPTURE_COLUMNS),
    ).astype("string")


@HEALTHSIM.asset(
    ["healthsim", "scenarios"],
    ins={"capture": dg.AssetIn(key=CAPTURE_KEY)},
    description=(
        "Saved scenarios: named, tagged sets of patients and their clinical entities that "
        "analysts reload, export as JSON and share (healthsim.scenarios, scenario_entities, "
        "scenario_tags, at the latest schema_version). Materializing upgrades the tables and "
        "refreshes the demo scenario from readmission_capture. Built in the engine: analysts "
        "also save scenarios here from the command line, so no step may overwrite the tables."
    ),
    code_version="3",  # bump when the demo scenario's name, tags or metadata change
)
def healthsim_scenarios(
    context: dg.AssetExecutionContext, warehouse: Warehouse, capture: pd.DataFrame
) -> dg.MaterializeResult:
    entities = [
        (str(row.entity_type), str(row.entity_id), json.loads(str(row.data)))
        for row in capture.itertuples(index=False)
    ]
    patients = sum(1 for kind, _, _ in entities if kind == "patient")
    with warehouse.session() as session:
        store = ScenarioStore(session)
        as_of = None
        if patients:
            # Keys and timestamps from the data, never from the clock or a random source:
            # the same encounters save the same rows (the wall clock goes to run metadata).
            as_of = session.fetch_rows(
                "SELECT max(start_at) FROM healthsim.encounters WHERE patient_id IN "
                f"(SELECT patient_id FROM ({READMITTED_PATIENTS_SQL}) AS readmitted)"
            )[0][0]
            store.save(
                DEMO_SCENARIO,
                entities,
                description="Patients with an inpatient readmission within 30 days of discharge.",
                metadata={"built_by": "healthsim/scenarios"},
                tags=["demo", "readmission"],
                replace=True,
                now=as_of,
                scenario_id=str(uuid.uuid5(DEMO_SCENARIO_NAMESPACE, DEMO_SCENARIO)),
            )
            context.log.info(f"Saved {DEMO_SCENARIO} with {patients} patient(s)")
        summary = session.summarize("healthsim.scenarios")
        entity_count = session.row_count("healthsim.scenario_entities")
        version = current_version(session)
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            "scenario_entities": entity_count,
            "schema_version": version,
            "demo_scenario_as_of": str(as_of),
            "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        }
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
