"""`narr-platform sample-data`: deterministic sample source files for every domain.

Each domain contributes a generator: a function taking a :class:`SampleDataRequest` and
returning the files it wrote under ``<out>/<source>/``. Files are written atomically
(temporary name, then rename) so a sensor never sees a half-written file.

The landing folder may hold a user's real exports. ``sample-data`` keeps a manifest
(``<out>/.sample-data-manifest.json``: every file it wrote, with its SHA-256) and only ever
replaces files listed there and unchanged since. A source folder holding anything else (a
user's file, or a sample file edited since) is refused, naming the files, before anything
is written, unless ``force`` is given (then a user's file of the same name as a sample file
is replaced; the user's other files are never removed).
Sample files of an earlier run that this run did not write again are removed, so a folder
never mixes two runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from resources.sample_files import DEFAULT_SEED, SampleDataRequest

__all__ = [
    "DEFAULT_SEED",
    "GENERATORS",
    "MANIFEST_NAME",
    "SampleDataConflict",
    "SampleDataRequest",
    "generate",
    "resolve",
]

MANIFEST_NAME = ".sample-data-manifest.json"

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


class SampleDataConflict(ValueError):
    """The landing folder holds files sample-data did not write; the message names them."""


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def load_manifest(out: Path) -> dict[str, str]:
    """``{path relative to out: sha256}`` of the files earlier runs wrote."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("files", {}))


def _save_manifest(out: Path, files: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    target = out / MANIFEST_NAME
    tmp = target.with_name(target.name + ".tmp")
    payload = {"written_by": "narr-platform sample-data", "files": dict(sorted(files.items()))}
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def _files_under(out: Path, sources: Iterable[str]) -> list[Path]:
    found = []
    for source in sources:
        folder = out / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(out)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                found.append(path)
    return found


def foreign_files(out: Path, sources: Iterable[str]) -> list[Path]:
    """Files in the sources' folders that sample-data did not write (or that changed since)."""
    manifest = load_manifest(out)
    return [
        path
        for path in _files_under(out, sources)
        if manifest.get(path.relative_to(out).as_posix()) != _digest(path)
    ]


def generate(
    request: SampleDataRequest, only: tuple[str, ...] = (), force: bool = False
) -> dict[str, list[Path]]:
    """Run the selected generators (all by default) and return the files each wrote.

    Raises :class:`SampleDataConflict` (nothing written) when a source folder holds files
    the manifest does not list, unless ``force``.
    """
    unknown = [name for name in only if name not in GENERATORS]
    if unknown:
        raise ValueError(f"Unknown sample sources {unknown}; known: {', '.join(GENERATORS)}.")
    selected = only or tuple(GENERATORS)
    out = request.out
    foreign = foreign_files(out, selected)
    if foreign and not force:
        shown = ", ".join(str(p) for p in foreign[:10])
        more = f" and {len(foreign) - 10} more" if len(foreign) > 10 else ""
        raise SampleDataConflict(
            f"{out} holds files sample-data did not write: {shown}{more}. Sample files would "
            "mix with them into an inconsistent export. Move them away, choose another "
            "--out, or pass --force to write the sample anyway (a file of the same name as a "
            "sample file is replaced; the others are left as they are)."
        )
    manifest = load_manifest(out)
    foreign_set = set(foreign)
    written = {name: resolve(GENERATORS[name])(request) for name in selected}
    fresh = {p.resolve() for paths in written.values() for p in paths}
    for source in selected:
        # Sample files of an earlier run that this run did not write again: removed.
        for path in _files_under(out, [source]):
            relative = path.relative_to(out).as_posix()
            if path.resolve() not in fresh and path not in foreign_set and relative in manifest:
                path.unlink()
                del manifest[relative]
    for paths in written.values():
        for path in paths:
            manifest[path.resolve().relative_to(out.resolve()).as_posix()] = _digest(path)
    _save_manifest(out, manifest)
    return written
