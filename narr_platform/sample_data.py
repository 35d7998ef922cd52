"""`narr-platform sample-data`: deterministic sample source files for every domain.

Each domain contributes a generator: a function taking a :class:`SampleDataRequest` and
returning the files it wrote under ``<out>/<source>/``. Files are written atomically
(temporary name, then rename) so a sensor never sees a half-written file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from resources.sample_files import DEFAULT_SEED, SampleDataRequest

__all__ = ["DEFAULT_SEED", "GENERATORS", "SampleDataRequest", "generate", "resolve"]

SampleGenerator = Callable[[SampleDataRequest], list[Path]]

#: source name -> "module:function". Imported only when sample data is generated.
GENERATORS: dict[str, str] = {
    "reference/states": "reference_assets.states_sample:write_states",
    "patients": "fhir_assets.sample:write_patients",
    "reference/places": "reference_assets.places_adi_sample:write_places",
    "reference/svi": "reference_assets.svi_sample:write_svi",
    "reference/adi": "reference_assets.places_adi_sample:write_adi",
    "synthea": "fhir_assets.healthsim.sample:write_synthea",
    "healthsim": "fhir_assets.healthsim.sample:write_healthsim",
    "scenarios_legacy": "fhir_assets.healthsim.sample:write_legacy_scenarios",
    "directory": "directory_assets.sample:write_directory",
}


def resolve(spec: str) -> SampleGenerator:
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


def generate(request: SampleDataRequest, only: tuple[str, ...] = ()) -> dict[str, list[Path]]:
    """Run the selected generators (all by default) and return the files each wrote."""
    unknown = [name for name in only if name not in GENERATORS]
    if unknown:
        raise ValueError(f"Unknown sample sources {unknown}; known: {', '.join(GENERATORS)}.")
    selected = only or tuple(GENERATORS)
    return {name: resolve(GENERATORS[name])(request) for name in selected}
