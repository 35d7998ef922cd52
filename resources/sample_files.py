"""Sample source files: what a generator was asked for, and atomic writes.

Every domain's sample generator takes a :class:`SampleDataRequest` and writes its files
atomically (temporary name, then rename) so a sensor never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator
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
