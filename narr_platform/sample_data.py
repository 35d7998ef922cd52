"""`narr-platform sample-data`: deterministic sample source files for every domain.

Each domain contributes a generator: a function taking a :class:`SampleDataRequest` and
returning the files it wrote under ``<out>/<source>/``. Files are written atomically
(temporary name, then rename) so a sensor never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

DEFAULT_SEED = 42


@dataclasses.dataclass(frozen=True)
class SampleDataRequest:
    """What the user asked `sample-data` for; each generator reads the fields it needs."""

    out: Path
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    patients: int = 100_000
    reference: str = "default"  # "default" or "national"
    healthsim_patients: int = 1_000


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
    "directory": "narr_platform.directory.sample:write_directory",
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


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "w", **open_kwargs: object) -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with open(tmp_name, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for writers that take a file name (Parquet, XLSX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
