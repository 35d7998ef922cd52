"""Sample sources of the HealthSim domain, registered in ``narr_platform.sample_data``.

- ``synthea``: copies the read-only Synthea sample (``../shared/data/synthea/*.csv``,
  relative to the project root) into ``<out>/synthea/`` when that folder exists; writes
  nothing otherwise. The sample is a reference, never committed to the project.
- ``healthsim``: the deterministic batch generator (``--healthsim-patients``, default
  1,000) in the same Synthea CSV layout, in ``<out>/healthsim/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fhir_assets.healthsim.generator import StableIds, generate_tables, write_tables
from fhir_assets.healthsim.layout import HEALTHSIM_SOURCE, SYNTHEA_SOURCE
from resources.sample_files import SampleDataRequest, atomic_output, atomic_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_SYNTHEA = PROJECT_ROOT.parent / "shared" / "data" / "synthea"


def write_synthea(request: SampleDataRequest, source: Path = SHARED_SYNTHEA) -> list[Path]:
    """Copy the Synthea sample export, if present beside the project."""
    if not source.is_dir():
        return []
    written = []
    for file in sorted(source.glob("*.csv")):
        target = request.out / SYNTHEA_SOURCE / file.name
        with atomic_path(target) as tmp:
            shutil.copyfile(file, tmp)
        written.append(target)
    return written


def write_healthsim(request: SampleDataRequest) -> list[Path]:
    """Generate ``request.healthsim_patients`` patients with their clinical history."""
    if request.healthsim_patients < 0:
        raise ValueError("--healthsim-patients must be zero or more.")
    tables = generate_tables(request.healthsim_patients, request.seed)
    return write_tables(request.out / HEALTHSIM_SOURCE, tables)


def write_legacy_scenarios(request: SampleDataRequest) -> list[Path]:
    """Legacy scenario files (the layout in ``scenarios/legacy.py``) for the migration job.

    Two valid scenarios and one malformed file (realistic dirt: a truncated export), so a
    run of ``healthsim_legacy_scenario_migration`` shows both migration and skipping.
    """
    from fhir_assets.healthsim.scenarios.assets import LEGACY_SCENARIOS_SOURCE

    ids = StableIds(request.seed)
    folder = request.out / LEGACY_SCENARIOS_SOURCE
    scenarios = {
        "legacy_diabetes.json": ("legacy-diabetes-cohort", ["diabetes"], 3),
        "legacy_er_frequent.json": ("legacy-frequent-er-visitors", ["emergency", "utilization"], 2),
    }
    written = []
    for file_name, (name, tags, size) in scenarios.items():
        patients = [{"id": ids("legacy", name, i), "first": f"Legacy{i}"} for i in range(size)]
        encounters = [
            {"id": ids("legacy-encounter", name, i), "patient": p["id"], "class": "emergency"}
            for i, p in enumerate(patients)
        ]
        body = {
            "scenario_name": name,
            "description": f"Migrated from the legacy HealthSim file {file_name}",
            "created": "2023-04-01T09:00:00",
            "modified": "2023-05-15T17:30:00",
            "tags": tags,
            "entities": {"patients": patients, "encounters": encounters},
        }
        path = folder / file_name
        with atomic_output(path) as handle:
            handle.write(json.dumps(body, indent=2) + "\n")
        written.append(path)
    broken = folder / "legacy_truncated.json"
    with atomic_output(broken) as handle:
        handle.write('{"scenario_name": "truncated", "entities": {"patients": [')
    return [*written, broken]
