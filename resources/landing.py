"""The landing zone: the folder where source files arrive, one sub-folder per source."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

LANDING_DIR_ENV_VAR = "PLATFORM_LANDING_DIR"
DEFAULT_LANDING_DIR = "data/landing"


class LandingZone(dg.ConfigurableResource):
    """Source files land in ``<root>/<source>/`` (e.g. ``data/landing/patients/``)."""

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
