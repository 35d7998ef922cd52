"""DuckDB settings for the local deployment, read from the environment operators already use.

Every value is validated when the code location loads; a malformed value raises
:class:`PlatformConfigError` naming the variable, so a typo never reaches a run.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path

from resources.deployment import PlatformConfigError

DEFAULT_DATABASE_PATH = "data/warehouse.duckdb"
DEFAULT_MAX_MEMORY_PERCENTAGE = 80.0
#: How long a connection waits for another process to release the warehouse file.
DEFAULT_LOCK_TIMEOUT_SECONDS = 120.0
PARQUET_CODECS = ("ZSTD", "SNAPPY", "GZIP", "LZ4", "BROTLI", "UNCOMPRESSED")

_SIZE_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)\s*$", re.IGNORECASE)


def parse_size(name: str, raw: str) -> int:
    """Parse a DuckDB-style size such as ``4GB`` or ``512MiB`` into bytes."""
    match = _SIZE_RE.match(raw)
    if not match:
        raise PlatformConfigError(
            f"{name}={raw!r} is not a size; use a number and a unit such as 512MB, 4GB or 2GiB."
        )
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.upper()])


def _parse_int(name: str, raw: str, minimum: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise PlatformConfigError(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise PlatformConfigError(f"{name}={raw!r} must be at least {minimum}.")
    return value


def _parse_percentage(name: str, raw: str) -> float:
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise PlatformConfigError(f"{name}={raw!r} is not a percentage (e.g. 80).") from None
    if not 0 < value <= 100:
        raise PlatformConfigError(f"{name}={raw!r} must be between 0 (exclusive) and 100.")
    return value


def _parse_seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise PlatformConfigError(f"{name}={raw!r} is not a number of seconds.") from None
    if not 0 <= value < float("inf"):
        raise PlatformConfigError(f"{name}={raw!r} must be zero or more seconds.")
    return value


def _check_database_path(raw: str) -> str:
    """A DuckDB file path (or md:<db>): never an existing folder or a path under a file."""
    if raw.startswith("md:") or raw == ":memory:":
        return raw
    path = Path(raw).expanduser()
    if path.is_dir():
        raise PlatformConfigError(
            f"DUCKDB_DATABASE_PATH={raw!r} is a folder; give a file such as "
            f"{path / 'warehouse.duckdb'}."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise PlatformConfigError(
                    f"DUCKDB_DATABASE_PATH={raw!r}: {parent} is a file, not a folder."
                )
            break
    return raw


def total_memory_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_size(num_bytes: int) -> str:
    """Render bytes the way DuckDB's ``memory_limit`` setting accepts them."""
    return f"{max(num_bytes // 1024**2, 1)}MiB"


@dataclasses.dataclass(frozen=True)
class DuckDBSettings:
    """Validated settings for the embedded warehouse."""

    database_path: str = DEFAULT_DATABASE_PATH
    memory_limit_bytes: int | None = None
    max_memory_percentage: float = DEFAULT_MAX_MEMORY_PERCENTAGE
    threads: int | None = None
    temp_directory: str | None = None
    parquet_compression: str = "ZSTD"
    parquet_row_group_size: int = 122_880
    extensions: tuple[str, ...] = ()
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    @property
    def is_motherduck(self) -> bool:
        return self.database_path.startswith("md:")

    @property
    def effective_memory_limit_bytes(self) -> int:
        """The smaller of the configured limit and the allowed share of physical RAM."""
        share = int(total_memory_bytes() * self.max_memory_percentage / 100)
        if self.memory_limit_bytes is None:
            return share
        return min(self.memory_limit_bytes, share)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DuckDBSettings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        kwargs: dict[str, object] = {}
        if (path := get("DUCKDB_DATABASE_PATH")) is not None:
            kwargs["database_path"] = _check_database_path(path)
        if (raw := get("DUCKDB_MEMORY_LIMIT")) is not None:
            kwargs["memory_limit_bytes"] = parse_size("DUCKDB_MEMORY_LIMIT", raw)
            if kwargs["memory_limit_bytes"] < 1024**2:
                raise PlatformConfigError(
                    f"DUCKDB_MEMORY_LIMIT={raw!r} is below 1 MiB; DuckDB cannot run in it "
                    "(e.g. 512MB, 4GB)."
                )
        if (raw := get("DUCKDB_LOCK_TIMEOUT")) is not None:
            kwargs["lock_timeout_seconds"] = _parse_seconds("DUCKDB_LOCK_TIMEOUT", raw)
        if (raw := get("DUCKDB_MAX_MEMORY_PERCENTAGE")) is not None:
            kwargs["max_memory_percentage"] = _parse_percentage("DUCKDB_MAX_MEMORY_PERCENTAGE", raw)
        if (raw := get("DUCKDB_WORKER_THREADS")) is not None:
            kwargs["threads"] = _parse_int("DUCKDB_WORKER_THREADS", raw)
        if (raw := get("DUCKDB_TEMP_DIRECTORY")) is not None:
            if Path(raw).expanduser().exists() and not Path(raw).expanduser().is_dir():
                raise PlatformConfigError(
                    f"DUCKDB_TEMP_DIRECTORY={raw!r} is a file; give a folder DuckDB may spill to."
                )
            kwargs["temp_directory"] = raw
        if (raw := get("PARQUET_COMPRESSION")) is not None:
            codec = raw.upper()
            if codec not in PARQUET_CODECS:
                raise PlatformConfigError(
                    f"PARQUET_COMPRESSION={raw!r} is not supported; use one of {', '.join(PARQUET_CODECS)}."
                )
            kwargs["parquet_compression"] = codec
        if (raw := get("PARQUET_ROW_GROUP_SIZE")) is not None:
            kwargs["parquet_row_group_size"] = _parse_int("PARQUET_ROW_GROUP_SIZE", raw)
        if (raw := get("DUCKDB_EXTENSIONS")) is not None:
            kwargs["extensions"] = tuple(e.strip() for e in raw.split(",") if e.strip())
        return cls(**kwargs)  # type: ignore[arg-type]

    def resolved_database_path(self) -> str:
        """The database path, absolute for files; MotherDuck URIs are returned as they are."""
        if self.is_motherduck:
            return self.database_path
        return str(Path(self.database_path).expanduser().resolve())
