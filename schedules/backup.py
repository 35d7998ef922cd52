"""Backups of the DuckDB warehouse file: create, verify, list, restore, retention.

DuckDB-specific by nature (they copy the database file), so they live here and not behind
the engine-neutral ``WarehouseSession`` seam; the jobs in ``schedules/`` refuse to run in
the databricks deployment.

A backup is two files in ``<root>/<kind>/``:

- ``warehouse-<UTC timestamp>.duckdb.zst``: the checkpointed database file, compressed
  with zstandard, copied while this process holds DuckDB's write lock (nothing else can
  change the file during the copy);
- ``warehouse-<UTC timestamp>.manifest.json``: timestamp, source path, sizes, SHA-256 of
  the backup file and of the database inside it, every table's row count and content
  fingerprint, the schema version and the platform version. It is written last: a backup
  without a manifest is incomplete and ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import zstandard

from resources.publish import STAGED_PREFIX

BACKUP_DIR_ENV_VAR = "PLATFORM_BACKUP_DIR"
EXPORT_DIR_ENV_VAR = "PLATFORM_EXPORT_DIR"
RPO_ENV_VAR = "BACKUP_RPO_HOURS"
DEFAULT_BACKUP_DIR = "data/backups"
DEFAULT_EXPORT_DIR = "data/exports"
DEFAULT_RPO_HOURS = 24.0

BACKUP_SUFFIX = ".duckdb.zst"
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
#: Days each kind of backup is kept (the jobs apply it after each backup).
RETENTION_DAYS = {"daily": 7, "weekly": 30}
_CHUNK = 8 * 1024 * 1024
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BackupError(RuntimeError):
    """A backup could not be taken; the message says why."""


class RestoreError(RuntimeError):
    """A restore was refused; the live database is untouched. The message says why."""


@dataclasses.dataclass(frozen=True)
class OperationsSettings:
    """Where backups and exports go, and the recovery-point objective, from the environment."""

    backup_root: Path
    export_root: Path
    rpo_hours: float = DEFAULT_RPO_HOURS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperationsSettings:
        from resources.deployment import PlatformConfigError

        env = os.environ if environ is None else environ
        raw_rpo = env.get(RPO_ENV_VAR, "").strip()
        rpo = DEFAULT_RPO_HOURS
        if raw_rpo:
            try:
                rpo = float(raw_rpo)
            except ValueError:
                raise PlatformConfigError(
                    f"{RPO_ENV_VAR}={raw_rpo!r} is not a number of hours."
                ) from None
            if not 0 < rpo < float("inf"):
                raise PlatformConfigError(f"{RPO_ENV_VAR}={raw_rpo!r} must be positive.")
        backup = env.get(BACKUP_DIR_ENV_VAR, "").strip() or DEFAULT_BACKUP_DIR
        export = env.get(EXPORT_DIR_ENV_VAR, "").strip() or DEFAULT_EXPORT_DIR
        for name, value in ((BACKUP_DIR_ENV_VAR, backup), (EXPORT_DIR_ENV_VAR, export)):
            folder = Path(value).expanduser()
            if folder.exists() and not folder.is_dir():
                raise PlatformConfigError(f"{name}={value!r} is a file; give a folder.")
        return cls(
            backup_root=Path(backup).expanduser().resolve(),
            export_root=Path(export).expanduser().resolve(),
            rpo_hours=rpo,
        )


@dataclasses.dataclass(frozen=True)
class Backup:
    """One backup on disk: its file, its manifest and what the manifest says."""

    path: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest["created_at"])

    @property
    def size_bytes(self) -> int:
        return int(self.manifest["backup_size_bytes"])

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or utc_now()) - self.created_at

    def checksum_ok(self) -> bool:
        """True when the file exists, has the recorded size and SHA-256."""
        return verify_backup(self) is None


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    target: Path
    previous: Path | None
    tables: dict[str, int]
    seconds: float


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def quote_table(table: str) -> str:
    """``schema.table`` as quoted identifiers (names come from the catalog, never users)."""
    parts = table.split(".")
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def base_tables(connection: duckdb.DuckDBPyConnection, staged: bool = False) -> list[str]:
    """Every published base table of the open database as ``schema.table``, sorted.

    A staged table (``schema._staged_<table>``, kept by a failed audit, see
    ``resources/publish.py``) is never listed as a published table; ``staged=True`` lists
    those instead.
    """
    rows = connection.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary "
        "AND starts_with(table_name, ?) = ? ORDER BY 1",
        [STAGED_PREFIX, staged],
    ).fetchall()
    return [str(r[0]) for r in rows]


def table_fingerprints(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Row count and an order-independent content hash of every table.

    Hashing every row reads every column, so DuckDB verifies the checksum of every block
    on the way: this doubles as the integrity check of a restored file.
    """
    result: dict[str, dict[str, Any]] = {}
    for table in base_tables(connection):
        count, fingerprint = connection.execute(
            f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {quote_table(table)} AS t"
        ).fetchone()  # type: ignore[misc]
        result[table] = {"rows": int(count), "fingerprint": str(fingerprint)}
    return result


def schema_version(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The newest version recorded in a ``schema_version`` table, if any schema has one."""
    rows = connection.execute(
        "SELECT schema_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name = 'schema_version' ORDER BY schema_name = 'main' DESC, schema_name LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    table = quote_table(f"{rows[0][0]}.schema_version")
    columns = [str(r[0]) for r in connection.execute(f"DESCRIBE {table}").fetchall()]
    if not columns:
        return None
    column = "version" if "version" in columns else columns[0]
    value = connection.execute(f'SELECT max("{column}") FROM {table}').fetchone()
    return None if value is None or value[0] is None else str(value[0])


def _platform_version() -> str:
    try:
        return importlib.metadata.version("narr-platform")
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+local"


def _copy_compressed(source: Path, destination: Path, level: int) -> tuple[str, str, int]:
    """Compress ``source`` into ``destination``; return (sha of source, sha of output, size)."""
    source_digest = hashlib.sha256()
    compressor = zstandard.ZstdCompressor(level=level, threads=-1)
    with open(source, "rb") as src, open(destination, "wb") as raw_out:
        hashing_out = _HashingWriter(raw_out)
        with compressor.stream_writer(hashing_out, closefd=False) as writer:
            while chunk := src.read(_CHUNK):
                source_digest.update(chunk)
                writer.write(chunk)
        raw_out.flush()
        os.fsync(raw_out.fileno())
    return source_digest.hexdigest(), hashing_out.digest.hexdigest(), hashing_out.size


class _HashingWriter:
    """A file wrapper that hashes what is written through it."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def create_backup(
    connect: Callable[[], contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]],
    database_path: str | Path,
    backup_root: Path,
    kind: str,
    now: dt.datetime | None = None,
    compression_level: int = 3,
    log: Callable[[str], None] | None = None,
) -> Backup:
    """Take a consistent compressed copy of the warehouse file with its manifest.

    ``connect`` opens a read-write connection to ``database_path`` (the warehouse
    resource's ``connect``). While it is open this process holds DuckDB's file lock, so
    no other process can write; ``CHECKPOINT`` folds the write-ahead log into the file,
    and the file is copied before the connection closes.
    """
    say = log or (lambda _msg: None)
    if not _IDENT.match(kind):
        raise BackupError(f"Backup kind {kind!r} must be a simple name such as 'daily'.")
    source = Path(str(database_path))
    if str(database_path).startswith("md:"):
        raise BackupError("The warehouse is on MotherDuck (md:); back it up on MotherDuck's side.")
    if not source.is_file():
        raise BackupError(f"No warehouse file at {source}; nothing to back up.")
    created = (now or utc_now()).astimezone(dt.UTC)
    folder = backup_root / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot create the backup folder {folder}: {exc.strerror}.") from exc
    tmp_path: Path | None = None
    started = time.monotonic()
    try:
        with connect() as connection:
            # Everything below happens under DuckDB's write lock on the warehouse, which one
            # process holds at a time: a partial file seen now was left by a killed backup,
            # and a name is free unless a finished backup took it.
            for stale in removable_partials(folder):
                stale.unlink(missing_ok=True)
                say(f"Removed {stale.name}, left by a backup that did not finish")
            stem = _free_stem(folder, created)
            backup_path = folder / f"{stem}{BACKUP_SUFFIX}"
            manifest_path = folder / f"{stem}{MANIFEST_SUFFIX}"
            tmp_path = folder / f".{stem}{BACKUP_SUFFIX}.partial"
            connection.execute("CHECKPOINT")
            tables = table_fingerprints(connection)
            version = schema_version(connection)
            say(f"Checkpointed {source}; {len(tables)} tables; copying under the write lock")
            database_size = source.stat().st_size
            database_sha, backup_sha, backup_size = _copy_compressed(
                source, tmp_path, compression_level
            )
            os.replace(tmp_path, backup_path)
            seconds = time.monotonic() - started
            manifest = {
                "format": MANIFEST_FORMAT,
                "kind": kind,
                "created_at": created.isoformat(),
                "source_path": str(source),
                "backup_file": backup_path.name,
                "backup_size_bytes": backup_size,
                "backup_sha256": backup_sha,
                "compression": f"zstd level {compression_level}",
                "database_size_bytes": database_size,
                "database_sha256": database_sha,
                "duckdb_version": duckdb.__version__,
                "schema_version": version,
                "platform_version": _platform_version(),
                "tables": tables,
                # In the file, never as published tables: audits that failed (resources/publish.py).
                "staged_tables": base_tables(connection, staged=True),
                "seconds": round(seconds, 3),
            }
            _write_json_atomically(manifest_path, manifest)
    except duckdb.IOException as exc:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        if "lock" not in str(exc).lower():
            raise BackupError(f"Reading {source} failed: {str(exc).splitlines()[0]}") from exc
        raise BackupError(
            f"Another process kept {source} locked past the wait limit; no backup was taken. "
            f"DuckDB says: {str(exc).splitlines()[0]}"
        ) from exc
    except OSError as exc:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        raise BackupError(
            f"Writing the backup into {folder} failed: {exc.strerror or exc}; no backup was taken."
        ) from exc
    except BaseException:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        raise
    say(
        f"Backup {backup_path.name}: {database_size / 1e6:.1f} MB -> {backup_size / 1e6:.1f} MB "
        f"in {seconds:.1f} s"
    )
    return Backup(backup_path, manifest_path, manifest)


def removable_partials(folder: Path) -> list[Path]:
    """Hidden ``*.partial`` files of backups (and their manifests) in a kind's folder."""
    return sorted(folder.glob(".warehouse-*.partial"))


def _free_stem(folder: Path, created: dt.datetime) -> str:
    """``warehouse-<stamp>``, or ``warehouse-<stamp>-2``, ... when that second is taken."""
    base = f"warehouse-{created.strftime(_STAMP_FORMAT)}"
    for n in range(1, 10_000):
        stem = base if n == 1 else f"{base}-{n}"
        if not any(
            (folder / f"{stem}{suffix}").exists() for suffix in (BACKUP_SUFFIX, MANIFEST_SUFFIX)
        ):
            return stem
    raise BackupError(f"Too many backups named {base}-* in {folder}.")


def _write_json_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def load_backup(path: Path) -> Backup:
    """The backup named by its ``.duckdb.zst`` file or its manifest."""
    path = Path(path).expanduser().resolve()
    if path.name.endswith(MANIFEST_SUFFIX):
        manifest_path = path
        backup_path = path.with_name(path.name[: -len(MANIFEST_SUFFIX)] + BACKUP_SUFFIX)
    elif path.name.endswith(BACKUP_SUFFIX):
        backup_path = path
        manifest_path = path.with_name(path.name[: -len(BACKUP_SUFFIX)] + MANIFEST_SUFFIX)
    else:
        raise RestoreError(
            f"{path} is not a backup: expected a *{BACKUP_SUFFIX} file or its *{MANIFEST_SUFFIX}."
        )
    if not manifest_path.is_file():
        raise RestoreError(f"No manifest {manifest_path.name} beside {backup_path}; refusing it.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise RestoreError(
            f"Manifest {manifest_path.name} is damaged: not readable JSON ({exc})."
        ) from exc
    if problem := manifest_problem(manifest):
        raise RestoreError(f"Manifest {manifest_path.name} is damaged: {problem}.")
    return Backup(backup_path, manifest_path, manifest)


#: Keys every manifest has, with the type each must parse as.
REQUIRED_KEYS: dict[str, type] = {
    "kind": str,
    "created_at": str,
    "backup_size_bytes": int,
    "backup_sha256": str,
    "database_size_bytes": int,
    "database_sha256": str,
    "tables": dict,
}


def manifest_problem(manifest: object) -> str | None:
    """Why a parsed manifest cannot be trusted, or None when it is complete."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        return f"missing {', '.join(missing)}"
    wrong = [k for k, t in REQUIRED_KEYS.items() if not isinstance(manifest[k], t)]
    if wrong:
        return f"wrong type for {', '.join(wrong)}"
    try:
        created = dt.datetime.fromisoformat(manifest["created_at"])
    except ValueError:
        return f"created_at {manifest['created_at']!r} is not a timestamp"
    if created.tzinfo is None:
        return f"created_at {manifest['created_at']!r} has no time zone"
    return None


def list_backups(backup_root: Path) -> list[Backup]:
    """Every backup under the root (all kinds) whose manifest is complete, newest first.

    Damaged manifests, backups without one and partial files are left out here (restore
    and retention never use them); :func:`inspect_backups` lists them.
    """
    found = []
    for manifest_path in backup_root.glob(f"*/*{MANIFEST_SUFFIX}"):
        if manifest_path.name.startswith("."):
            continue
        with contextlib.suppress(RestoreError):
            found.append(load_backup(manifest_path))
    return sorted(found, key=lambda b: b.created_at, reverse=True)


@dataclasses.dataclass(frozen=True)
class BackupStatus:
    """One entry of `backup status`: a backup, a damaged one, or a partial file."""

    kind: str
    path: Path
    created_at: dt.datetime | None
    size_bytes: int
    state: str  # ok | not checked | damaged | partial
    problem: str | None = None
    backup: Backup | None = None

    def as_dict(self, now: dt.datetime) -> dict[str, Any]:
        age = None if self.created_at is None else (now - self.created_at).total_seconds() / 3600
        return {
            "kind": self.kind,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "age_hours": None if age is None else round(age, 2),
            "size_bytes": self.size_bytes,
            "state": self.state,
            "checksum": {"ok": "ok", "damaged": "FAILED"}.get(self.state),
            "problem": self.problem,
            "path": str(self.path),
        }


_NAME_STAMP = re.compile(r"warehouse-(\d{8}T\d{6}Z)")


def _stamp_time(name: str) -> dt.datetime | None:
    match = _NAME_STAMP.search(name)
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=dt.UTC)


def verify_backup(backup: Backup) -> str | None:
    """Why the backup file does not match its manifest (missing, size, SHA-256), or None."""
    if not backup.path.is_file():
        return f"backup file {backup.path.name} is missing"
    size = backup.path.stat().st_size
    if size != backup.size_bytes:
        return f"{size} bytes but the manifest says {backup.size_bytes} (truncated or modified)"
    if sha256_file(backup.path) != backup.manifest["backup_sha256"]:
        return "fails its SHA-256 checksum (corrupt)"
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def inspect_backups(backup_root: Path, verify: bool = True) -> list[BackupStatus]:
    """Every backup, damaged backup and partial file under the root, newest first.

    The one verification behind both `backup status` and `health`: a complete manifest
    whose file has the recorded size and SHA-256 is ``ok`` (``not checked`` without
    ``verify``); a manifest that is missing, not JSON or lacks keys, or a file that fails
    the check, is ``damaged`` with the reason; a hidden ``*.partial`` file left by a killed
    backup is ``partial`` (the next backup removes it).
    """
    entries: list[BackupStatus] = []
    if not backup_root.is_dir():
        return entries
    for folder in sorted(p for p in backup_root.iterdir() if p.is_dir()):
        kind = folder.name
        seen: set[str] = set()
        for manifest_path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
            if manifest_path.name.startswith("."):
                continue
            stem = manifest_path.name[: -len(MANIFEST_SUFFIX)]
            seen.add(stem)
            backup_path = folder / f"{stem}{BACKUP_SUFFIX}"
            try:
                backup = load_backup(manifest_path)
            except RestoreError as exc:
                entries.append(
                    BackupStatus(
                        kind,
                        backup_path,
                        _stamp_time(stem),
                        _size(backup_path),
                        "damaged",
                        str(exc),
                    )
                )
                continue
            problem = (
                verify_backup(backup)
                if verify
                else (
                    None if backup.path.is_file() else f"backup file {backup.path.name} is missing"
                )
            )
            state = "damaged" if problem else ("ok" if verify else "not checked")
            entries.append(
                BackupStatus(
                    backup.kind,
                    backup.path,
                    backup.created_at,
                    _size(backup.path),
                    state,
                    problem,
                    backup,
                )
            )
        for backup_path in sorted(folder.glob(f"*{BACKUP_SUFFIX}")):
            stem = backup_path.name[: -len(BACKUP_SUFFIX)]
            if backup_path.name.startswith(".") or stem in seen:
                continue
            entries.append(
                BackupStatus(
                    kind,
                    backup_path,
                    _stamp_time(stem),
                    _size(backup_path),
                    "damaged",
                    f"no manifest {stem}{MANIFEST_SUFFIX} beside it (incomplete backup)",
                )
            )
        for partial in sorted(folder.glob(".*.partial")):
            entries.append(
                BackupStatus(
                    kind,
                    partial,
                    _stamp_time(partial.name),
                    _size(partial),
                    "partial",
                    "left by a backup that did not finish; the next backup removes it",
                )
            )
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: e.created_at or oldest, reverse=True)


def newest_backup_problems(
    entries: list[BackupStatus], rpo_hours: float, backup_root: Path, now: dt.datetime
) -> list[str]:
    """The problems `backup status` and `health` both report about a set of backups."""
    problems = []
    complete = [e for e in entries if e.state != "partial"]
    if not complete:
        problems.append(f"No backups in {backup_root}.")
    else:
        newest = complete[0]
        if newest.state == "damaged":
            problems.append(f"The newest backup {newest.path.name} is damaged: {newest.problem}")
        elif newest.created_at is not None:
            age = (now - newest.created_at).total_seconds() / 3600
            if age > rpo_hours:
                problems.append(
                    f"The newest backup is {age:.1f} h old, beyond the {rpo_hours:g} h "
                    "recovery-point objective."
                )
    damaged = [e for e in complete[1:] if e.state == "damaged"]
    if damaged:
        problems.append(
            f"{len(damaged)} older backup(s) damaged: "
            + "; ".join(f"{e.path.name}: {e.problem}" for e in damaged)
        )
    return problems


def apply_retention(
    backup_root: Path, kind: str, keep_days: float, now: dt.datetime | None = None
) -> list[Path]:
    """Delete backups of ``kind`` older than ``keep_days``; the newest is always kept."""
    now = now or utc_now()
    backups = [b for b in list_backups(backup_root) if b.kind == kind]
    removed = []
    for backup in backups[1:]:
        if backup.age(now) > dt.timedelta(days=keep_days):
            backup.path.unlink(missing_ok=True)
            backup.manifest_path.unlink(missing_ok=True)
            removed.append(backup.path)
    return removed


# --- Restore ---------------------------------------------------------------------------


def _decompress_verified(backup: Backup, destination: Path) -> None:
    """Decompress into ``destination`` and check size and SHA-256 of the database file."""
    digest = hashlib.sha256()
    size = 0
    decompressor = zstandard.ZstdDecompressor()
    try:
        with open(backup.path, "rb") as src, open(destination, "wb") as out:
            with decompressor.stream_reader(src) as reader:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except zstandard.ZstdError as exc:
        raise RestoreError(
            f"{backup.path.name} does not decompress ({exc}); it is corrupt."
        ) from exc
    expected_size = int(backup.manifest["database_size_bytes"])
    if size != expected_size or digest.hexdigest() != backup.manifest["database_sha256"]:
        raise RestoreError(
            f"{backup.path.name} decompresses to {size} bytes that do not match the manifest "
            f"({expected_size} bytes, SHA-256 {backup.manifest['database_sha256'][:12]}...); "
            "it is truncated or corrupt."
        )


def verify_database_file(path: Path, manifest: Mapping[str, Any]) -> dict[str, int]:
    """Open a restored file read-only and compare every table with the manifest."""
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise RestoreError(f"The restored file does not open as a DuckDB database: {exc}") from exc
    try:
        try:
            actual = table_fingerprints(connection)
        except duckdb.Error as exc:
            raise RestoreError(f"Reading the restored tables failed (integrity): {exc}") from exc
    finally:
        connection.close()
    expected = manifest["tables"]
    if sorted(actual) != sorted(expected):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        raise RestoreError(
            f"Restored tables differ from the manifest: missing {missing}, extra {extra}."
        )
    for table, recorded in expected.items():
        if actual[table] != recorded:
            raise RestoreError(
                f"Table {table} differs from the manifest: {actual[table]['rows']} rows "
                f"(fingerprint {actual[table]['fingerprint']}) instead of {recorded['rows']} "
                f"(fingerprint {recorded['fingerprint']})."
            )
    return {table: int(v["rows"]) for table, v in actual.items()}


@contextlib.contextmanager
def exclusive_lock(
    path: Path, timeout_seconds: float
) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """Hold DuckDB's write lock on ``path`` (if it exists) so no process opens it meanwhile.

    Waits up to ``timeout_seconds`` for another process to release it, then raises
    :class:`RestoreError` naming the holder DuckDB reports.
    """
    if not path.exists():
        yield None
        return
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            connection = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise RestoreError(f"The live database {path} does not open: {exc}") from exc
            if time.monotonic() >= deadline:
                match = re.search(r"lock is held in (.*?) \(PID (\d+)\)", str(exc))
                holder = (
                    f"{match.group(1)}, PID {match.group(2)}" if match else "see DuckDB's message"
                )
                raise RestoreError(
                    f"The live database {path} is open in another process ({holder}); "
                    f"waited {timeout_seconds:.0f} s. Stop it (Dagster runs, the UI, notebooks) "
                    "and retry. The live database is untouched."
                ) from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise RestoreError(f"The live database {path} does not open: {exc}") from exc
    try:
        connection.execute("CHECKPOINT")
        yield connection
    finally:
        connection.close()


def restore_backup(
    backup_path: Path,
    target: Path,
    lock_timeout_seconds: float = 30.0,
    now: dt.datetime | None = None,
    log: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Restore a backup over ``target`` only after it verifies; keep the previous file aside.

    Order: manifest and backup checksum, decompress beside the target into a temporary
    file, database checksum, open read-only and compare every table's row count and
    content fingerprint with the manifest (reading every block, which verifies DuckDB's
    block checksums), then take the target's write lock and ``os.replace`` the verified
    file into place (atomic on one filesystem). The previous database stays as
    ``<name>.pre-restore-<timestamp>``. On any failure the target is untouched.
    """
    say = log or (lambda _msg: None)
    started = time.monotonic()
    target = Path(target).expanduser().resolve()
    if str(target).startswith("md:"):
        raise RestoreError("Restores write a local DuckDB file; md: targets are not supported.")
    backup = load_backup(backup_path)
    if not backup.path.is_file():
        raise RestoreError(f"Backup file {backup.path} is missing.")
    actual_size = backup.path.stat().st_size
    if actual_size != backup.size_bytes:
        raise RestoreError(
            f"{backup.path.name} is {actual_size} bytes but the manifest says {backup.size_bytes}: "
            "the backup is truncated or was modified. Refusing it; the live database is untouched."
        )
    if sha256_file(backup.path) != backup.manifest["backup_sha256"]:
        raise RestoreError(
            f"{backup.path.name} fails its SHA-256 checksum: the backup is corrupt. Refusing it; "
            "the live database is untouched."
        )
    say(f"Checksum of {backup.path.name} verified")
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = (now or utc_now()).astimezone(dt.UTC).strftime(_STAMP_FORMAT)
    staging = target.with_name(f".{target.name}.restore-{stamp}")
    try:
        _decompress_verified(backup, staging)
        say("Decompressed; database checksum verified")
        tables = verify_database_file(staging, backup.manifest)
        say(f"Opened the restored file; {len(tables)} tables match the manifest")
        previous: Path | None = None
        with exclusive_lock(target, lock_timeout_seconds):
            if target.exists():
                previous = target.with_name(f"{target.name}.pre-restore-{stamp}")
                try:
                    os.link(target, previous)
                except OSError:
                    shutil.copy2(target, previous)
            wal = target.with_name(target.name + ".wal")
            if wal.exists() and previous is not None:
                os.replace(wal, previous.with_name(previous.name + ".wal"))
            os.replace(staging, target)
    except RestoreError as exc:
        staging.unlink(missing_ok=True)
        if "untouched" in str(exc):
            raise
        raise RestoreError(f"{exc} Refusing the backup; the live database is untouched.") from exc
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    seconds = time.monotonic() - started
    say(f"Restored {backup.path.name} to {target} in {seconds:.1f} s")
    return RestoreResult(target=target, previous=previous, tables=tables, seconds=seconds)


# --- Parquet exports -------------------------------------------------------------------


def dated_folders(root: Path) -> list[tuple[dt.date, Path]]:
    """``<root>/<YYYY-MM-DD>/`` folders, oldest first."""
    found = []
    for child in root.glob("*"):
        if child.is_dir() and not child.name.startswith("."):
            with contextlib.suppress(ValueError):
                found.append((dt.date.fromisoformat(child.name), child))
    return sorted(found)


def apply_export_retention(root: Path, keep_days: int, today: dt.date) -> list[Path]:
    """Delete dated export folders older than ``keep_days``; the newest is always kept."""
    folders = dated_folders(root)
    removed = []
    for day, folder in folders[:-1]:
        if (today - day).days > keep_days:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
