"""Engine and file-system failures said in one line, naming what to change.

Commands and assets call :func:`explain` on an exception they did not expect; it returns a
one-line message for the failures an operator can act on (the warehouse busy in another
process, out of memory, MotherDuck unreachable, a folder that cannot be written) and None
for anything else.
"""

from __future__ import annotations

import re

import duckdb

from resources.deployment import PlatformConfigError

_LOCK_HOLDER = re.compile(r"lock is held in (.*?) \(PID (\d+)\)")


class EngineOutOfMemoryError(RuntimeError):
    """The engine ran out of memory; the message names the settings to change."""


def out_of_memory_message(exc: BaseException, what: str = "") -> str:
    doing = f" while {what}" if what else ""
    return (
        f"DuckDB ran out of memory{doing} ({first_line(exc)}). Raise DUCKDB_MEMORY_LIMIT or "
        "DUCKDB_MAX_MEMORY_PERCENTAGE, or set DUCKDB_TEMP_DIRECTORY to a folder with free disk "
        "so it can spill."
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.Error) and "out of memory" in str(exc).lower()
    )


def is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def busy_message(path: str, exc: BaseException, waited_seconds: float) -> str:
    match = _LOCK_HOLDER.search(str(exc))
    holder = f" ({match.group(1)}, PID {match.group(2)})" if match else ""
    return (
        f"The warehouse {path} is locked by another process{holder}; waited "
        f"{waited_seconds:g} s (DUCKDB_LOCK_TIMEOUT). Retry when that run or session ends."
    )


def explain(exc: BaseException) -> str | None:
    """A one-line explanation of a failure an operator can act on, or None."""
    from resources.warehouse import (
        MotherDuckUnavailableError,
        WarehouseBusyError,
        WarehouseMissingError,
    )

    known = (
        PlatformConfigError,
        WarehouseBusyError,
        WarehouseMissingError,
        MotherDuckUnavailableError,
        EngineOutOfMemoryError,
    )
    if isinstance(exc, known):
        return first_line(exc)
    if is_out_of_memory(exc):
        return out_of_memory_message(exc)
    text = str(exc)
    if isinstance(exc, duckdb.Error) and (
        "motherduck" in text.lower() or "options were not recognized" in text
    ):
        return (
            "MotherDuck is unreachable (md: needs the motherduck extension, network access and "
            f"MOTHERDUCK_TOKEN): {first_line(exc)}"
        )
    if is_lock_conflict(exc):
        return f"The warehouse is in use by another process: {first_line(exc)}"
    if isinstance(exc, duckdb.Error):
        return f"DuckDB: {first_line(exc)}"
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError | FileExistsError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"Cannot write or read{where}: {exc.strerror or first_line(exc)}."
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" {exc.filename}" if exc.filename else ""
        return f"File system error at{where}: {exc.strerror or first_line(exc)}."
    return None
