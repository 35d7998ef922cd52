"""The published directory snapshot: what the API and the CLI `search` read, never the warehouse.

DuckDB lets one process write a database file; a server holding a connection to the
warehouse would block (or be blocked by) every materialization. So each publish of the
directory writes a self-contained, immutable snapshot folder beside the warehouse:

    <DIRECTORY_SNAPSHOT_DIR>/versions/<version>/tables/<table>.parquet   (engine export)
    <DIRECTORY_SNAPSHOT_DIR>/versions/<version>/snapshot.duckdb          (read-only copy)
    <DIRECTORY_SNAPSHOT_DIR>/versions/<version>/search/                  (tantivy index)
    <DIRECTORY_SNAPSHOT_DIR>/current.json                                (the pointer)

The tables leave the warehouse through ``WarehouseSession.copy_to_file`` (DuckDB ``COPY``
locally, Spark's writer on Databricks), so the same asset publishes from both engines; the
DuckDB copy and the search index are then built from those Parquet files by a private
in-process DuckDB, outside the warehouse. ``current.json`` is replaced atomically
(``os.replace``) only once the folder is complete: readers see the old snapshot or the new
one, never half of one. Readers poll the pointer and swap (``directory_assets.api``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from directory_assets import search_index
from resources.warehouse import WarehouseSession

SNAPSHOT_DIR_ENV_VAR = "DIRECTORY_SNAPSHOT_DIR"
DEFAULT_SNAPSHOT_DIR = "data/directory_snapshot"
DATABASE_ENV_VAR = "DUCKDB_DATABASE_PATH"
DEFAULT_DATABASE = "data/warehouse.duckdb"
POINTER = "current.json"
KEEP_VERSIONS = 3
#: The published schema: every table and view the API serves (views land as tables).
TABLES = (
    "organizations",
    "treatment_centers",
    "narr_residences",
    "recovery_centers",
    "recovery_organizations",
    "network_relationships",
    "v_organization_summary",
    "v_mat_providers",
    "v_recovery_ecosystem",
    "v_services_by_location",
    "v_data_quality",
)
PUBLISHED_SCHEMA = "directory"
SUBTYPE_TABLES = (
    "treatment_centers",
    "narr_residences",
    "recovery_centers",
    "recovery_organizations",
)
#: Columns of organizations the snapshot leaves out (lineage and internal search keys).
_INTERNAL_COLUMNS = ("source_file", "record_position", "name_key", "address_key",
                     "search_names", "search_dba_names", "search_address")  # fmt: skip


def snapshot_root(
    environ: Mapping[str, str] | None = None, warehouse_path: str | None = None
) -> Path:
    """``DIRECTORY_SNAPSHOT_DIR``, else ``directory_snapshot/`` beside the local warehouse file.

    The warehouse file is ``warehouse_path`` (the asset passes its resource's) or
    ``DUCKDB_DATABASE_PATH`` (default ``data/warehouse.duckdb``); a MotherDuck or Spark
    warehouse has no local folder, so the default is then a folder of its own under
    ``data/`` (``data/directory_snapshot_md_<name>``): never the snapshot of another
    warehouse, such as the default local one's ``data/directory_snapshot``.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(SNAPSHOT_DIR_ENV_VAR, "").strip()
    if explicit:
        return Path(explicit).resolve()
    database = warehouse_path or env.get(DATABASE_ENV_VAR, "").strip() or DEFAULT_DATABASE
    if database.startswith("md:") or database == ":memory:":
        # The database's name only: a MotherDuck path may carry options (a token) after '?'.
        name = re.sub(r"[^A-Za-z0-9]+", "_", database.split("?", 1)[0]).strip("_") or "memory"
        return Path(f"{DEFAULT_SNAPSHOT_DIR}_{name}").resolve()
    return (Path(database).parent / "directory_snapshot").resolve()


@dataclasses.dataclass(frozen=True)
class Manifest:
    version: str
    published_at: str
    folder: Path
    tables: dict[str, int]
    search_documents: int

    @property
    def database(self) -> Path:
        return self.folder / "snapshot.duckdb"

    @property
    def search_folder(self) -> Path:
        return self.folder / "search"

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "published_at": self.published_at,
            "folder": str(self.folder),
            "tables": self.tables,
            "search_documents": self.search_documents,
        }


class SnapshotMissingError(RuntimeError):
    """No snapshot has been published yet."""


def current(root: Path | None = None) -> Manifest:
    """The manifest ``current.json`` points at; SnapshotMissingError when there is none."""
    root = root or snapshot_root()
    pointer = root / POINTER
    try:
        data = json.loads(pointer.read_text())
    except FileNotFoundError as exc:
        raise SnapshotMissingError(
            f"No directory snapshot at {pointer}: materialize directory/search_index "
            "(`make run` does) to publish one."
        ) from exc
    return Manifest(
        version=data["version"],
        published_at=data["published_at"],
        folder=Path(data["folder"]),
        tables={k: int(v) for k, v in data["tables"].items()},
        search_documents=int(data["search_documents"]),
    )


def pointer_stamp(root: Path) -> tuple[int, int] | None:
    """A cheap change marker of the pointer (inode, mtime ns), None when absent."""
    try:
        stat = (root / POINTER).stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


def open_database(manifest: Manifest) -> duckdb.DuckDBPyConnection:
    """The snapshot's DuckDB copy, read-only, with every file/URL access disabled."""
    return duckdb.connect(
        str(manifest.database),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "lock_configuration": True,
        },
    )


def publish(
    session: WarehouseSession,
    root: Path | None = None,
    warehouse_path: str | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Manifest:
    """Export the directory from the warehouse, build the copy and index, swap the pointer."""
    root = root or snapshot_root(warehouse_path=warehouse_path)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    folder = root / "versions" / version
    tables_folder = folder / "tables"
    tables_folder.mkdir(parents=True)
    try:
        exported, documents = _export_and_build(session, tables_folder, folder, log)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # never leave half a version behind
        raise
    manifest = Manifest(version, now.isoformat(timespec="seconds"), folder, exported, documents)
    tmp = root / f".{POINTER}.{version}.tmp"
    tmp.write_text(json.dumps(manifest.as_json(), indent=2))
    os.replace(tmp, root / POINTER)
    prune(root, keep=KEEP_VERSIONS)
    return manifest


def _export_and_build(
    session: WarehouseSession, tables_folder: Path, folder: Path, log: Callable[[str], None]
) -> tuple[dict[str, int], int]:
    exported: dict[str, int] = {}
    for table in TABLES:
        columns = "*"
        if table == "organizations":
            names = [c for c, _ in session.columns(f"directory.{table}")]
            columns = ", ".join(c for c in names if c not in _INTERNAL_COLUMNS)
        exported[table] = session.copy_to_file(
            f"SELECT {columns} FROM directory.{table}",
            tables_folder / f"{table}.parquet",
            "parquet",
        )
        log(f"exported directory.{table}: {exported[table]} rows")
    documents = build_local_copy(tables_folder, folder)
    log(f"built the DuckDB copy and the search index ({documents} documents)")
    return exported, documents


def build_local_copy(tables_folder: Path, folder: Path) -> int:
    """directory.duckdb from the Parquet exports, then the search index from it."""
    database = folder / "snapshot.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE SCHEMA {PUBLISHED_SCHEMA}")
        for table in TABLES:
            path = str(tables_folder / f"{table}.parquet").replace("'", "''")
            order = " ORDER BY org_id" if table == "organizations" else ""
            if table == "network_relationships":
                order = " ORDER BY org_id, neighbour_rank"
            con.execute(
                f"CREATE TABLE {PUBLISHED_SCHEMA}.{table} AS "
                f"SELECT * FROM read_parquet('{path}'){order}"
            )
        # Point reads by org_id (the API's organization endpoint) use an ART index.
        for table in ("organizations", *SUBTYPE_TABLES):
            con.execute(f"CREATE INDEX {table}_org_id ON {PUBLISHED_SCHEMA}.{table} (org_id)")
        cursor = con.execute(search_index.SOURCE_SQL)
        names = [d[0] for d in cursor.description]

        def rows():
            while batch := cursor.fetchmany(10_000):
                for values in batch:
                    yield dict(zip(names, values, strict=True))

        documents = search_index.build(rows(), folder / "search")
        con.execute("CHECKPOINT")
    return documents


def prune(root: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` versions (never the current one).

    A reader still holding an older version keeps its open files (POSIX unlink semantics);
    ``keep`` > 1 leaves a poll interval's grace for readers to swap.
    """
    try:
        live = current(root).folder.name
    except SnapshotMissingError:
        live = None
    versions = sorted(p for p in (root / "versions").iterdir() if p.is_dir())
    for old in versions[:-keep]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)
