"""Sample sources of the HealthSim domain, registered in ``narr_platform.sample_data``.

- ``synthea``: copies the read-only Synthea sample (``../shared/data/synthea/*.csv``,
  relative to the project root) into ``<out>/synthea/`` when that folder exists; writes
  nothing otherwise. The sample is a reference, never committed to the project.
- ``healthsim``: the deterministic batch generator (``--healthsim-patients``, default
  1,000) in the same Synthea CSV layout, in ``<out>/healthsim/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fhir_assets.healthsim.generator import generate_tables, write_tables
from fhir_assets.healthsim.layout import HEALTHSIM_SOURCE, SYNTHEA_SOURCE
from narr_platform.sample_data import SampleDataRequest, atomic_path

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
