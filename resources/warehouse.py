"""The warehouse seam: every asset talks to the engine through this resource.

Assets declare their SQL once (DuckDB dialect, in ``.sql`` files or named constants) and
ask the warehouse to run it: ``create_table_as``, ``create_view_as``, ``execute``,
``fetch_rows``. The local deployment runs it in an embedded DuckDB file; the Databricks
deployment (``resources/spark_warehouse.py``) translates the same SQL to Spark. No asset
body branches on the deployment.

Connections live for one ``session()`` and are closed in ``finally`` blocks: DuckDB allows
one writing process per file, so nothing holds the file longer than a step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import Field

from resources.duckdb_settings import DuckDBSettings, format_size
from resources.errors import busy_message, explain

if TYPE_CHECKING:
    from resources.publish import Audit, Publication

#: The Dagster pool every step that writes the warehouse belongs to (limit 1, see dagster_home).
WAREHOUSE_POOL = "duckdb"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
SqlParams = Sequence[Any] | Mapping[str, Any] | None


#: ``malformed_rows_sql`` of a view without malformed rows.
NO_MALFORMED_ROWS_SQL = (
    "SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, "
    "CAST(NULL AS VARCHAR) AS error, CAST(NULL AS VARCHAR) AS raw_record WHERE 1 = 0"
)


def check_table_name(table: str) -> str:
    """Accept ``table`` or ``schema.table`` identifiers only; never user text."""
    if not _IDENTIFIER.match(table):
        raise ValueError(f"{table!r} is not a valid table name (expected schema.table).")
    return table


def preview_cell(value: Any) -> str:
    """A cell as a reader expects it: empty for NULL (never None, NaN or NaT), lists as
    comma-separated values (never Python list text), whole dates without a midnight time."""
    if isinstance(value, list | tuple) or (
        hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0
    ):
        items = value.tolist() if hasattr(value, "tolist") else value
        return ", ".join(preview_cell(v) for v in items)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {preview_cell(v)}" for k, v in value.items())
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tz is None:
        return value.date().isoformat()
    return str(value)


@dataclasses.dataclass(frozen=True)
class TableSummary:
    """What a materialization reports about the table it wrote."""

    table: str
    row_count: int
    columns: tuple[tuple[str, str], ...]
    preview: pd.DataFrame

    def metadata(self) -> dict[str, Any]:
        """Dagster metadata: row count, column schema and a Markdown preview."""
        schema = dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in self.columns]
        )
        preview = self.preview.map(preview_cell).map(
            lambda v: v if len(v) <= 60 else v[:57] + "..."
        )
        return {
            "dagster/row_count": dg.MetadataValue.int(self.row_count),
            "dagster/column_schema": dg.MetadataValue.table_schema(schema),
            "dagster/table_name": dg.MetadataValue.text(self.table),
            "preview": dg.MetadataValue.md(preview.to_markdown(index=False) or "(empty)"),
        }


class WarehouseSession:
    """Engine operations on one open connection. Subclassed per engine."""

    engine: ClassVar[str] = "abstract"

    def execute(self, sql: str, params: SqlParams = None) -> None:
        raise NotImplementedError

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        """A small result as a DataFrame (previews, reports); never for bulk data."""
        raise NotImplementedError

    def fetch_arrow(self, sql: str, params: SqlParams = None) -> pa.Table:
        """A result as an Arrow table: compact columns for in-memory indexes of services."""
        return pa.Table.from_pandas(self.fetch_df(sql, params), preserve_index=False)

    def table_exists(self, table: str) -> bool:
        raise NotImplementedError

    def columns(self, table: str) -> tuple[tuple[str, str], ...]:
        raise NotImplementedError

    def list_tables(self) -> list[tuple[str, str]]:
        """``(schema.table, 'table' | 'view')`` for every user table and view, sorted."""
        from resources.publish import is_staged

        return [(name, kind) for name, kind in self._catalog() if not is_staged(name)]

    def _catalog(self) -> list[tuple[str, str]]:
        """``(schema.table, 'table' | 'view')`` of every table and view, staged ones too."""
        raise NotImplementedError

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")

    def register_file_view(
        self,
        view: str,
        paths: Sequence[str | Path],
        file_format: str,
        columns: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Expose source files as a temporary view for the SQL that follows in this session.

        ``columns`` is an explicit schema (name -> DuckDB type) so nothing is type-guessed;
        a ``source_file`` column holds each row's file path. ``json_document`` reads each
        file's top-level JSON value unparsed into one ``json`` column (one row per file), for
        sources that are one large object (Spark: ``text`` with ``wholetext``). ``text`` reads
        each file's whole text, unparsed, into one ``text`` column (one row per file), for
        sources whose parts are split in SQL (NDJSON lines that may be malformed).
        """
        raise NotImplementedError

    def malformed_rows_sql(self, view: str) -> str:
        """After ``view`` (registered with ``options={"store_rejects": True}``) was read: a
        SELECT of its malformed CSV rows, ``(source_file, source_line, error, raw_record)``.

        Malformed rows (too few or too many fields, bad quoting) are left out of the view
        instead of failing the read; this is where they are kept, with file and line.
        """
        return NO_MALFORMED_ROWS_SQL

    def copy_to_file(
        self,
        select_sql: str,
        path: str | Path,
        file_format: str,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        """Write a query's result to one local file (``parquet`` or ``csv``; NDJSON is one
        text column written as ``csv`` with ``header false, quote '', delimiter '\\x01'``).

        Returns the number of rows written. Parquet uses the configured compression and
        row-group size unless ``options`` says otherwise.
        """
        raise NotImplementedError

    def create_table_as(
        self, table: str, select_sql: str, params: SqlParams = None
    ) -> TableSummary:
        """Atomically replace ``table`` with the result of ``select_sql``, inside the engine."""
        check_table_name(table)
        self._ensure_parent_schema(table)
        self.execute(f"CREATE OR REPLACE TABLE {table} AS\n{select_sql}", params)
        return self.summarize(table)

    def create_view_as(self, view: str, select_sql: str) -> TableSummary:
        check_table_name(view)
        self._ensure_parent_schema(view)
        self.execute(f"CREATE OR REPLACE VIEW {view} AS\n{select_sql}")
        return self.summarize(view)

    # Engine-native SQL: for compilers that render each engine's dialect themselves (the
    # SQL on FHIR view compiler); DuckDB's native SQL is the declared SQL.
    def fetch_rows_native(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query written in this engine's own dialect (not translated)."""
        return self.fetch_rows(sql)

    def create_table_as_native(self, table: str, select_sql: str) -> TableSummary:
        """``create_table_as`` for a SELECT written in this engine's own dialect."""
        return self.create_table_as(table, select_sql)

    def qualified_name(self, table: str) -> str:
        """How native SQL names the logical ``schema.table`` in this engine."""
        return check_table_name(table)

    def publish(
        self,
        table: str,
        select_sql: str,
        audits: Sequence[Audit] = (),
        params: SqlParams = None,
        sources: Sequence[str | Path] = (),
        facts: Mapping[str, Any] | None = None,
        document_columns: Sequence[str] = (),
    ) -> Publication:
        """Write-audit-publish ``table`` (see :mod:`resources.publish`).

        The result is built as ``<schema>._staged_<table>``, every audit runs on it, and
        it replaces ``table`` in one transaction only when no blocking audit failed;
        otherwise :class:`resources.publish.AuditFailed` is raised and the staged table
        is kept until the next publish of ``table``. ``sources`` are the files read (named
        by a failure when rows carry no lineage); ``facts`` are figures audits compare with.
        ``document_columns`` hold a whole document per row (a resource's JSON text): see
        :meth:`create_staged_table`.
        """
        from resources.publish import AuditContext, AuditFailed, Publication, staged_name

        check_table_name(table)
        self._ensure_parent_schema(table)
        staged = staged_name(table)
        started = time.perf_counter()
        self.drop_table(staged)  # the previous run's staged table, kept for inspection
        self.create_staged_table(staged, select_sql, params, document_columns)
        staged_at = time.perf_counter()
        context = AuditContext(
            session=self,
            table=staged,
            published=table,
            inputs=tuple(str(s) for s in sources),
            facts=dict(facts or {}),
        )
        results = [audit.evaluate(context) for audit in audits]
        audited_at = time.perf_counter()
        blocking = {audit.name for audit in audits if audit.blocking}
        if any(not r.passed for r in results if r.check_name in blocking):
            raise AuditFailed(table, staged, results, blocking)
        self.swap_in(staged, table)
        seconds = {
            "stage": staged_at - started,
            "audit": audited_at - staged_at,
            "swap": time.perf_counter() - audited_at,
        }
        return Publication(self.summarize(table), tuple(results), seconds)

    def create_staged_table(
        self,
        staged: str,
        select_sql: str,
        params: SqlParams = None,
        document_columns: Sequence[str] = (),
    ) -> None:
        """Build ``staged`` (a name nobody reads) from ``select_sql``.

        ``document_columns`` (kB-size text per row, e.g. JSON resources) may be stored by
        the engine in a form suited to documents; the rows are the same.
        """
        check_table_name(staged)
        self.execute(f"CREATE TABLE {staged} AS\n{select_sql}", params)

    def swap_in(self, staged: str, table: str) -> None:
        """Replace ``table`` by ``staged`` atomically; ``staged`` is gone afterwards."""
        raise NotImplementedError

    def drop_table(self, table: str) -> None:
        check_table_name(table)
        self.execute(f"DROP TABLE IF EXISTS {table}")

    def list_staged_tables(self) -> list[str]:
        """Staged tables kept by a failed audit (``schema._staged_table``), sorted."""
        from resources.publish import is_staged

        return [name for name, kind in self._catalog() if kind == "table" and is_staged(name)]

    def row_count(self, table: str) -> int:
        check_table_name(table)
        return int(self.fetch_rows(f"SELECT count(*) FROM {table}")[0][0])

    def summarize(self, table: str, preview_rows: int = 5) -> TableSummary:
        check_table_name(table)
        return TableSummary(
            table=table,
            row_count=self.row_count(table),
            columns=self.columns(table),
            preview=self.fetch_df(f"SELECT * FROM {table} LIMIT {int(preview_rows)}"),
        )

    def _ensure_parent_schema(self, table: str) -> None:
        if "." in table:
            self.ensure_schema(table.split(".", 1)[0])


class DuckDBSession(WarehouseSession):
    engine: ClassVar[str] = "duckdb"

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        parquet_compression: str = "ZSTD",
        parquet_row_group_size: int = 122_880,
    ) -> None:
        self.connection = connection
        self.parquet_compression = parquet_compression
        self.parquet_row_group_size = parquet_row_group_size
        self._rejects: dict[str, list[tuple[str, str]]] = {}  # view -> [(rejects table, path)]

    def copy_to_file(
        self,
        select_sql: str,
        path: str | Path,
        file_format: str,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        if file_format not in ("parquet", "csv"):
            raise ValueError(f"Unsupported export format {file_format!r}.")
        settings: dict[str, Any] = {"format": file_format}
        if file_format == "parquet":
            settings["compression"] = self.parquet_compression
            settings["row_group_size"] = self.parquet_row_group_size
        settings.update(options or {})
        rendered = []
        for key, value in settings.items():
            check_table_name(key)
            rendered.append(f"{key} {sql_literal(value) if isinstance(value, str) else value}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        result = self.connection.execute(
            f"COPY ({select_sql}) TO {sql_literal(str(path))} ({', '.join(rendered)})"
        ).fetchone()
        return int(result[0]) if result else 0

    def execute(self, sql: str, params: SqlParams = None) -> None:
        self.connection.execute(sql, params)

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        return self.connection.execute(sql, params).df()

    def fetch_arrow(self, sql: str, params: SqlParams = None) -> pa.Table:
        return self.connection.sql(sql, params=params).to_arrow_table()

    def table_exists(self, table: str) -> bool:
        schema, _, name = table.rpartition(".")
        rows = self.fetch_rows(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema or "main", name],
        )
        return bool(rows)

    def register_file_view(
        self,
        view: str,
        paths: Sequence[str | Path],
        file_format: str,
        columns: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        check_table_name(view)
        if not paths:
            raise ValueError(f"No files to register as {view}.")
        if file_format == "text":
            files = ", ".join(sql_literal(str(p)) for p in paths)
            self.execute(
                f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT content AS text, "
                f"filename AS source_file FROM read_text([{files}])"
            )
            return
        readers = {
            "csv": "read_csv",
            "parquet": "read_parquet",
            "json": "read_json",
            "json_document": "read_json_objects",
        }
        if file_format not in readers:
            raise ValueError(
                f"Unsupported file format {file_format!r}; use one of {sorted(readers)}."
            )
        if file_format == "json_document" and columns:
            raise ValueError("json_document views have one column, json; no schema applies.")
        options = dict(options or {})
        store_rejects = bool(options.pop("store_rejects", False)) and file_format == "csv"
        shared_args = ["filename = 'source_file'"]
        if columns:
            struct = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in columns.items())
            shared_args.append(f"columns = {{{struct}}}")
        for key, value in options.items():
            check_table_name(key)
            literal = sql_literal(value) if isinstance(value, str) else str(value).lower()
            shared_args.append(f"{key} = {literal}")
        reader = readers[file_format]
        # One reader per file: DuckDB sniffs a multi-file CSV scan from the first file only,
        # and silently yields no rows for a later file whose dialect (e.g. CRLF) differs.
        selects = []
        rejects: list[tuple[str, str]] = []
        for path in paths:
            args = [sql_literal(str(path)), *shared_args]
            if store_rejects:
                # Malformed rows go to a per-file temp table (with their line) instead of
                # failing the scan; malformed_rows_sql reads them.
                table = f"{view}_rejects_{len(self._rejects)}_{len(rejects)}"
                args += [
                    "store_rejects = true",
                    f"rejects_table = {sql_literal(table)}",
                    f"rejects_scan = {sql_literal(table + '_scan')}",
                ]
                rejects.append((table, str(path)))
            selects.append(f"SELECT * FROM {reader}({', '.join(args)})")
        if store_rejects:
            self._rejects[view] = rejects
        self.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS " + "\nUNION ALL BY NAME\n".join(selects)
        )

    def malformed_rows_sql(self, view: str) -> str:
        selects = []
        for table, path in self._rejects.get(view, []):
            exists = self.fetch_rows(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary",
                [table],
            )[0][0]
            if not exists:
                self.fetch_rows(f"SELECT count(*) FROM {view}")  # the scan fills the table
            # Each scan of the view appends its rejects again: one row per line.
            selects.append(
                f"SELECT {sql_literal(path)} AS source_file, CAST(line AS BIGINT) AS source_line, "
                f"min(CAST(error_type AS VARCHAR) || ': ' || error_message) AS error, "
                f"min(csv_line) AS raw_record FROM {table} GROUP BY line"
            )
        return "\nUNION ALL\n".join(selects) or super().malformed_rows_sql(view)

    def _catalog(self) -> list[tuple[str, str]]:
        rows = self.fetch_rows(
            "SELECT table_schema || '.' || table_name, "
            "CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END "
            "FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema NOT IN ('information_schema', 'pg_catalog') "
            "ORDER BY 1"
        )
        return [(str(name), str(kind)) for name, kind in rows]

    def create_staged_table(
        self,
        staged: str,
        select_sql: str,
        params: SqlParams = None,
        document_columns: Sequence[str] = (),
    ) -> None:
        """``CREATE TABLE AS``; document columns declared ``USING COMPRESSION zstd`` first.

        DuckDB's own string compressors (dictionary, FSST) are chosen for short values: on
        kB-size JSON documents, analysing and compressing them costs about half of the
        table's write and the result is 5x larger than ZSTD's (1 M Patient resources: 96
        against 19 MB per 300,000 rows, benchmarks/fhir_mapping_breakdown.py). The column
        types are those of ``select_sql``; only the documents' storage differs.
        """
        if not document_columns:
            super().create_staged_table(staged, select_sql, params)
            return
        check_table_name(staged)
        described = self.connection.execute(f"DESCRIBE {select_sql}", params).fetchall()
        names = [str(row[0]) for row in described]
        missing = sorted(set(document_columns) - set(names))
        if missing:
            raise ValueError(f"Document columns {missing} are not columns of the SELECT.")
        columns = ",\n    ".join(
            f"{quote_identifier(name)} {dtype}"
            + (" USING COMPRESSION zstd" if name in document_columns else "")
            for name, dtype, *_ in described
        )
        self.execute(f"CREATE TABLE {staged} (\n    {columns}\n)")
        self.execute(f"INSERT INTO {staged}\n{select_sql}", params)

    def swap_in(self, staged: str, table: str) -> None:
        # DuckDB DDL is transactional: readers see the old table or the new one. Views
        # (v_*) name the table and are bound when queried, so they follow the swap.
        check_table_name(staged)
        check_table_name(table)
        kinds = dict(self._catalog())
        drop = {"table": f"DROP TABLE {table}; ", "view": f"DROP VIEW {table}; "}.get(
            kinds.get(table if "." in table else f"main.{table}", ""), ""
        )
        name = table.rpartition(".")[2]
        self.execute("BEGIN TRANSACTION")
        try:
            self.execute(f"{drop}ALTER TABLE {staged} RENAME TO {name}")
            self.execute("COMMIT")
        except BaseException:
            self.execute("ROLLBACK")
            raise

    def columns(self, table: str) -> tuple[tuple[str, str], ...]:
        check_table_name(table)
        rows = self.fetch_rows(f"DESCRIBE {table}")
        return tuple((str(r[0]), str(r[1])) for r in rows)


class Warehouse(dg.ConfigurableResource):
    """Base class of the warehouse resources; assets annotate their parameter with it."""

    def session(self) -> contextlib.AbstractContextManager[WarehouseSession]:
        raise NotImplementedError

    @property
    def engine(self) -> str:
        raise NotImplementedError

    def describe_target(self) -> str:
        """Where data lands, for logs and summaries (never includes secrets)."""
        raise NotImplementedError

    # One-shot conveniences: each opens and closes its own session.
    def create_table_as(
        self, table: str, select_sql: str, params: SqlParams = None
    ) -> TableSummary:
        with self.session() as s:
            return s.create_table_as(table, select_sql, params)

    def create_view_as(self, view: str, select_sql: str) -> TableSummary:
        with self.session() as s:
            return s.create_view_as(view, select_sql)

    def publish(
        self,
        table: str,
        select_sql: str,
        audits: Sequence[Audit] = (),
        params: SqlParams = None,
        sources: Sequence[str | Path] = (),
        facts: Mapping[str, Any] | None = None,
        document_columns: Sequence[str] = (),
    ) -> Publication:
        with self.session() as s:
            return s.publish(table, select_sql, audits, params, sources, facts, document_columns)

    def execute(self, sql: str, params: SqlParams = None) -> None:
        with self.session() as s:
            s.execute(sql, params)

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        with self.session() as s:
            return s.fetch_rows(sql, params)

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        with self.session() as s:
            return s.fetch_df(sql, params)

    def table_exists(self, table: str) -> bool:
        with self.session() as s:
            return s.table_exists(table)

    def summarize(self, table: str) -> TableSummary:
        with self.session() as s:
            return s.summarize(table)


class WarehouseBusyError(duckdb.IOException):
    """Another process kept the warehouse file locked past ``lock_timeout_seconds``."""


class MotherDuckUnavailableError(duckdb.IOException):
    """``md:`` could not be opened (no network, no extension, no token); one line says so."""


class WarehouseMissingError(duckdb.IOException):
    """A reader asked for a warehouse file that does not exist."""


class DuckDBWarehouse(Warehouse):
    """The embedded DuckDB warehouse of the local deployment (one file, no server)."""

    database_path: str = Field(description="DuckDB file, or md:<db> for MotherDuck.")
    memory_limit: str | None = Field(default=None, description="DuckDB memory_limit, e.g. 4GiB.")
    threads: int | None = Field(default=None, description="DuckDB worker threads.")
    temp_directory: str | None = Field(default=None, description="Where DuckDB spills.")
    extensions: list[str] = Field(
        default_factory=list, description="Extensions to load if available."
    )
    parquet_compression: str = "ZSTD"
    parquet_row_group_size: int = 122_880
    read_only: bool = False
    lock_timeout_seconds: float = Field(
        default=120.0, description="How long to wait for another process to release the file."
    )

    @classmethod
    def from_settings(cls, settings: DuckDBSettings, **overrides: Any) -> DuckDBWarehouse:
        kwargs: dict[str, Any] = {
            "database_path": settings.resolved_database_path(),
            "memory_limit": format_size(settings.effective_memory_limit_bytes),
            "lock_timeout_seconds": settings.lock_timeout_seconds,
            "threads": settings.threads,
            "temp_directory": settings.temp_directory,
            "extensions": list(settings.extensions),
            "parquet_compression": settings.parquet_compression,
            "parquet_row_group_size": settings.parquet_row_group_size,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def engine(self) -> str:
        return "duckdb"

    def describe_target(self) -> str:
        return self.database_path

    def connection_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        if self.threads:
            config["threads"] = self.threads
        if self.temp_directory:
            config["temp_directory"] = self.temp_directory
        return config

    def _open(self) -> duckdb.DuckDBPyConnection:
        is_file = not self.database_path.startswith("md:") and self.database_path != ":memory:"
        if is_file and self.read_only and not Path(self.database_path).is_file():
            # A reader never creates folders or files; it says what is missing.
            raise WarehouseMissingError(
                f"No warehouse at {self.database_path} (it does not exist); run `make run` "
                "or point DUCKDB_DATABASE_PATH at the warehouse file."
            )
        if is_file and not self.read_only:
            Path(self.database_path).parent.mkdir(parents=True, exist_ok=True)
        if self.temp_directory and not self.read_only:
            Path(self.temp_directory).mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                return duckdb.connect(
                    self.database_path, read_only=self.read_only, config=self.connection_config()
                )
            except duckdb.Error as exc:
                if self.database_path.startswith("md:"):
                    raise MotherDuckUnavailableError(explain(exc) or str(exc)) from exc
                # Another process holds the file's lock: wait for it, within a bound.
                if not isinstance(exc, duckdb.IOException) or "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        busy_message(self.database_path, exc, self.lock_timeout_seconds)
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def load_extensions(self, connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """Load the configured extensions; return ``{name: 'loaded' | reason}``."""
        status: dict[str, str] = {}
        for name in self.extensions:
            try:
                connection.execute(f"LOAD {check_table_name(name)}")
                status[name] = "loaded"
            except duckdb.Error as exc:
                status[name] = f"unavailable ({str(exc).splitlines()[0]})"
        return status

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A raw DuckDB connection for engine-specific work (file IO, COPY); closed on exit."""
        connection = self._open()
        try:
            self.load_extensions(connection)
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def session(self) -> Iterator[DuckDBSession]:
        with self.connect() as connection:
            yield DuckDBSession(connection, self.parquet_compression, self.parquet_row_group_size)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.extensions and context.log is not None:
            with self.connect() as connection:
                for name, state in self.load_extensions(connection).items():
                    log = context.log.info if state == "loaded" else context.log.warning
                    log(f"DuckDB extension {name}: {state}")


def sql_literal(value: str) -> str:
    """Quote a path or other engine-side constant as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """Quote a column or table name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
