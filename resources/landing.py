"""The landing zone: the folder where source files arrive, one sub-folder per source."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
from pydantic import Field

LANDING_DIR_ENV_VAR = "PLATFORM_LANDING_DIR"
DEFAULT_LANDING_DIR = "data/landing"


class LandingZone(dg.ConfigurableResource):
    """Where source files land: one folder per source under the root, e.g.
    data/landing/patients/ (PLATFORM_LANDING_DIR sets the root).
    """

    root: str = Field(
        default=DEFAULT_LANDING_DIR, description="Folder holding one folder per source."
    )

    def folder(self, source: str) -> Path:
        return Path(self.root).expanduser().resolve() / source

    def files(self, source: str, *patterns: str) -> list[Path]:
        """Files of a source matching any of the glob patterns, sorted by name (deterministic)."""
        folder = self.folder(source)
        found = {p for pattern in patterns or ("*",) for p in folder.glob(pattern) if p.is_file()}
        return sorted(p for p in found if not p.name.startswith("."))


#: Materialization metadata key under which a reader records the files it read.
SOURCE_FILES_METADATA_KEY = "source_files_sha256"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 4 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def source_files_metadata(paths: list[Path]) -> dict[str, dg.MetadataValue]:
    """The content hash of every file a reader read, for its materialization metadata.

    The landing sensors read it back: a file whose content a reader has already loaded is
    not loaded again (after ``make run``, starting the daemon launches nothing).
    """
    return {
        SOURCE_FILES_METADATA_KEY: dg.MetadataValue.json(
            {str(Path(p).resolve()): file_sha256(Path(p)) for p in sorted(paths)}
        )
    }


def recorded_source_hashes(metadata: dict) -> set[str]:
    """The content hashes a reader's materialization recorded (empty when none)."""
    value = metadata.get(SOURCE_FILES_METADATA_KEY)
    data = getattr(value, "data", None) if value is not None else None
    return set(data.values()) if isinstance(data, dict) else set()
