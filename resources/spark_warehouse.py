"""The Databricks / Spark deployment of the warehouse seam.

Selected by ``PLATFORM_DEPLOYMENT=databricks``; the connection comes from the environment
(see :mod:`resources.spark_settings`): a Spark Connect endpoint (``SPARK_REMOTE``),
Databricks Connect (``DATABRICKS_HOST`` + token or service principal, cluster or
serverless) or an in-process session (``SPARK_MASTER=local[2]``).

The SQL every asset declares once in DuckDB's dialect is translated by
:mod:`resources.spark_sql`; logical ``schema.table`` names land as
``catalog.schema.table``. Tables are Delta on Databricks and Parquet where Delta is not
available (plain Spark Connect). Each ``session()`` is its own Spark session, stopped on
exit, so temporary views never leak between steps.
"""

import contextlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import pandas as pd
from pydantic import Field

from resources.spark_settings import SparkSettings, spark_settings_from_env
from resources.spark_sql import (
    LENGTH_OF_ARRAY,
    SparkNaming,
    spark_type,
    strftime_to_java,
    translate,
)
from resources.warehouse import SqlParams, Warehouse, WarehouseSession, check_table_name

#: Session settings that make Spark agree with DuckDB (docs/spark.md).
SESSION_CONF: dict[str, str] = {
    # to_json keeps null fields ({"a":null}) as DuckDB does: FHIR JSON is byte-identical.
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    # DuckDB TIMESTAMP has no time zone: Spark's TIMESTAMP_NTZ is the same type.
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
}

_STAGE_SUFFIX = "__narr_stage"
_LOCAL_LOCK = threading.Lock()
_LOCAL_ROOT: dict[str, Any] = {}

#: DuckDB reader option -> Spark reader option, per file format. Anything else is refused
#: with a clear error instead of being silently ignored.
_CSV_OPTIONS = {
    "header": "header",
    "delim": "sep",
    "sep": "sep",
    "delimiter": "sep",
    "quote": "quote",
    "escape": "escape",
    "nullstr": "nullValue",
    "encoding": "encoding",
    "comment": "comment",
}
#: The column a PERMISSIVE CSV read keeps a malformed row in (store_rejects).
_CORRUPT_RECORD = "_corrupt_record"

_IGNORED_OPTIONS = {
    "auto_detect",
    "sample_size",
    "strict_mode",
    "records",
    "maximum_object_size",
    "union_by_name",
    "hive_partitioning",
    "new_line",
    "parallel",
}


def _plain(value: Any) -> Any:
    """Spark result values as DuckDB's Python client returns them (structs as dicts)."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: _plain(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@contextlib.contextmanager
def _quiet_query_context_logger() -> Iterator[None]:
    """Keep pyspark from logging an analysis error as ERROR before it reaches the caller.

    pyspark logs every analysis exception with its JVM stack on the ``SQLQueryContextLogger``
    as it is raised. The ``len()`` retry expects some, and any other error is re-raised
    whole (message and stack) to the step, where Dagster reports it once.
    """
    logger = logging.getLogger("SQLQueryContextLogger")
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled


class SparkWarehouseSession(WarehouseSession):
    """Warehouse operations on one Spark (Connect) session."""

    engine: ClassVar[str] = "spark"

    def __init__(
        self,
        spark: Any,
        naming: SparkNaming,
        table_format: str = "parquet",
        parquet_compression: str = "ZSTD",
        parquet_row_group_size: int = 122_880,
        stage_file: Any = None,
    ) -> None:
        self.spark = spark
        self.naming = naming
        self.table_format = table_format
        self.parquet_compression = parquet_compression
        self.parquet_row_group_size = parquet_row_group_size
        self._stage_file = stage_file or (lambda path: str(path))
        self._array_columns: set[str] = set()
        self._temp_tables: set[str] = set()
        self._rejects: dict[str, Any] = {}  # view -> DataFrame of its malformed rows

    # -- SQL ------------------------------------------------------------------------------
    def translate(self, sql: str) -> list[str]:
        return translate(sql, self.naming, frozenset(self._array_columns))

    def _sql(self, statement_source: str, index: int, args: Any) -> Any:
        """Run statement ``index`` of the translated SQL; retry when ``len()`` met an array.

        DuckDB's ``len()`` takes strings and lists; Spark has ``length()`` and ``size()``.
        Without column types at translation time, Spark's analysis error names the array
        expression, which is then translated to ``size()``.
        """
        from pyspark.errors import AnalysisException

        for _attempt in range(8):
            statement = self.translate(statement_source)[index]
            try:
                with _quiet_query_context_logger():
                    frame = (
                        self.spark.sql(statement, args=args) if args else self.spark.sql(statement)
                    )
                    if _QUERY_START.match(statement):
                        frame.schema  # noqa: B018 - queries are lazy: analyse now, retry here
                return frame
            except AnalysisException as exc:
                match = LENGTH_OF_ARRAY.search(str(exc))
                if not match or match.group("expr").lower() in self._array_columns:
                    raise
                self._array_columns.add(match.group("expr").lower())
        raise RuntimeError("Too many len() retries.")

    def _run(self, sql: str, params: SqlParams = None) -> Any:
        statements = self.translate(sql)
        if not statements:
            raise ValueError("No SQL statement to run.")
        args = None
        if params is not None:
            args = dict(params) if isinstance(params, Mapping) else list(params)
        frame = None
        for index in range(len(statements)):
            frame = self._sql(sql, index, args)
        return frame

    def execute(self, sql: str, params: SqlParams = None) -> None:
        """Run DuckDB statements; the few DuckDB-only statement kinds are mapped here."""
        import sqlglot
        from sqlglot import exp

        args = None
        if params is not None:
            args = dict(params) if isinstance(params, Mapping) else list(params)
        for tree in [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]:
            if isinstance(tree, exp.Transaction | exp.Commit | exp.Rollback):
                # Spark has no multi-statement transactions; each statement (a Delta
                # commit on Databricks) is atomic on its own.
                continue
            if isinstance(tree, exp.Create) and tree.args.get("kind") == "INDEX":
                continue  # no secondary indexes in Spark; the index only speeds DuckDB up
            if isinstance(tree, exp.Create) and tree.find(exp.TemporaryProperty) is not None:
                self._create_temp_table(tree)
                continue
            dropped = tree.args.get("tables") or [] if isinstance(tree, exp.Drop) else []
            if dropped and all(not t.args.get("db") for t in dropped):
                # Unqualified: a session temp table (DuckDB) is a cached temp view here.
                for table in dropped:
                    self.spark.sql(f"DROP VIEW IF EXISTS {table.name}")
                continue
            if isinstance(tree, exp.Create) and tree.args.get("kind") == "TABLE":
                _strip_constraints(tree)
            if isinstance(tree, exp.Insert | exp.Delete) and self._is_temp_target(tree):
                self._change_temp_table(tree, args)
                continue
            if isinstance(tree, exp.Update | exp.Delete) and self.table_format != "delta":
                self._rewrite_dml(tree, args)
                continue
            frame = self._sql(tree.sql(dialect="duckdb"), 0, args)
            # Commands run eagerly; a query passed to execute() is run for its side effects.
            if frame is not None and frame.columns:
                frame.collect()

    def _is_temp_target(self, tree: Any) -> bool:
        from sqlglot import exp

        target = tree.this.find(exp.Table) if tree.this is not None else None
        return bool(
            target is not None
            and not target.args.get("db")
            and target.name.lower() in self._temp_tables
        )

    def _change_temp_table(self, tree: Any, args: Any) -> None:
        """INSERT / DELETE on a session temp table: recompute it and checkpoint it again."""
        from sqlglot import exp

        tree = _inline_placeholders(tree, args or []) if args else tree
        if isinstance(tree, exp.Insert):
            name = tree.this.find(exp.Table).name
            source = tree.expression.sql(dialect="duckdb")
            if isinstance(tree.this, exp.Schema):
                raise ValueError(
                    "INSERT INTO a temp table with a column list is not supported on Spark."
                )
            # DuckDB inserts by position: UNION ALL does the same.
            select = f"SELECT * FROM {name} UNION ALL SELECT * FROM ({source}) AS narr_new"
        else:
            name = tree.this.name
            where = tree.args.get("where")
            condition = where.this.sql(dialect="duckdb") if where is not None else "TRUE"
            select = f"SELECT * FROM {name} WHERE NOT coalesce(({condition}), FALSE)"
        frame = self.spark.sql(self._select(select)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)

    def _create_temp_table(self, tree: Any) -> None:
        """DuckDB ``CREATE TEMP TABLE x AS ...`` as a checkpointed Spark temp view."""
        from sqlglot import exp

        if isinstance(tree.this, exp.Schema):
            # CREATE TEMP TABLE x (col type, ...): an empty table with that schema.
            name = tree.this.this.name
            columns = ", ".join(
                f"CAST(NULL AS {c.args['kind'].sql(dialect='duckdb')}) AS {c.name}"
                for c in tree.this.expressions
                if isinstance(c, exp.ColumnDef)
            )
            tree = exp.Create(
                this=exp.to_table(name),
                kind="TABLE",
                expression=sqlglot_parse(f"SELECT {columns} WHERE FALSE"),
            )
        name = tree.this.name if hasattr(tree.this, "name") else str(tree.this)
        check_table_name(name)
        self._temp_tables.add(name.lower())
        select = self._select(tree.expression.sql(dialect="duckdb"))
        # Computed now and cut from its sources (like a DuckDB temp table), so dropping a
        # source view later does not break it.
        self.spark.sql(select).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def _rewrite_dml(self, tree: Any, args: Any) -> None:
        """UPDATE / DELETE on Parquet tables (no row-level DML): rewrite the table, atomically."""
        from sqlglot import exp

        if isinstance(args, dict):
            raise ValueError(
                "UPDATE/DELETE with named parameters is not supported on Spark Parquet."
            )
        tree = _inline_placeholders(tree, args or [])
        table_node = tree.this
        table = f"{table_node.args['db'].name}.{table_node.name}"
        where = tree.args.get("where")
        condition = where.this if where is not None else exp.true()
        keep = exp.Not(this=exp.func("coalesce", exp.paren(condition.copy()), exp.false()))
        if isinstance(tree, exp.Delete):
            select = exp.select("*").from_(table).where(keep)
        else:
            assignments = {a.this.name.lower(): a.expression for a in tree.expressions}
            projections = []
            for name, _type in self.columns(table):
                value = assignments.get(name.lower())
                if value is None:
                    projections.append(exp.column(name))
                else:
                    projections.append(
                        exp.alias_(
                            exp.Case(
                                ifs=[exp.If(this=condition.copy(), true=value.copy())],
                                default=exp.column(name),
                            ),
                            name,
                        )
                    )
            select = exp.select(*projections).from_(table)
        self.create_table_as(table, select.sql(dialect="duckdb"))

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        return [tuple(_plain(v) for v in row) for row in self._run(sql, params).collect()]

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        return self._run(sql, params).toPandas()

    # -- catalog ----------------------------------------------------------------------------
    def table_exists(self, table: str) -> bool:
        check_table_name(table)
        return bool(self.spark.catalog.tableExists(self.naming.qualified(table)))

    def columns(self, table: str) -> tuple[tuple[str, str], ...]:
        check_table_name(table)
        schema = self.spark.table(self.naming.qualified(table)).schema
        return tuple((field.name, field.dataType.simpleString()) for field in schema.fields)

    def list_tables(self) -> list[tuple[str, str]]:
        from resources.publish import is_staged

        return [(name, kind) for name, kind in self._catalog() if not is_staged(name)]

    def list_staged_tables(self) -> list[str]:
        from resources.publish import is_staged

        return [name for name, kind in self._catalog() if kind == "table" and is_staged(name)]

    def _catalog(self) -> list[tuple[str, str]]:
        catalog = self.naming.catalog
        found: list[tuple[str, str]] = []
        for row in self.spark.sql(f"SHOW SCHEMAS IN {catalog}").collect():
            physical = row[0]
            logical = self.naming.logical_schema(physical)
            if logical is None or physical in ("default", "information_schema"):
                continue
            for table in self.spark.catalog.listTables(f"{catalog}.{physical}"):
                if table.isTemporary or table.name.endswith(_STAGE_SUFFIX):
                    continue
                kind = "view" if (table.tableType or "").upper() == "VIEW" else "table"
                found.append((f"{logical}.{table.name}", kind))
        return sorted(found)

    def ensure_schema(self, schema: str) -> None:
        check_table_name(schema)
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.naming.qualified_schema(schema)}")

    # -- writes -----------------------------------------------------------------------------
    def _select(self, select_sql: str, params: SqlParams = None) -> str:
        """The Spark SQL of one SELECT, analysed first (so ``len()`` of arrays is resolved)."""
        statements = self.translate(select_sql)
        if len(statements) != 1:
            raise ValueError("create_table_as/create_view_as take exactly one SELECT statement.")
        args = None
        if params is not None:
            args = dict(params) if isinstance(params, Mapping) else list(params)
        self._sql(select_sql, 0, args)
        return self.translate(select_sql)[0]

    def fetch_rows_native(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(_plain(v) for v in row) for row in self.spark.sql(sql).collect()]

    def create_table_as_native(self, table: str, select_sql: str):
        check_table_name(table)
        self._ensure_parent_schema(table)
        self.spark.sql(select_sql).schema  # noqa: B018 - analyse before touching the table
        return self._create_table(table, select_sql, None)

    def qualified_name(self, table: str) -> str:
        return self.naming.qualified(check_table_name(table))

    def create_table_as(self, table: str, select_sql: str, params: SqlParams = None):
        check_table_name(table)
        self._ensure_parent_schema(table)
        return self._create_table(table, self._select(select_sql, params), params)

    def _create_table(self, table: str, select: str, params: SqlParams):
        target = self.naming.qualified(table)
        args = None
        if params is not None:
            args = dict(params) if isinstance(params, Mapping) else list(params)

        def run(statement: str) -> None:
            self.spark.sql(statement, args=args) if args else self.spark.sql(statement)

        if self.table_format == "delta":
            # Delta's CREATE OR REPLACE is one atomic commit: readers see old or new.
            run(f"CREATE OR REPLACE TABLE {target} USING DELTA AS\n{select}")
        else:
            # Parquet tables cannot be replaced in place: build a stage, then swap names.
            # A failed SELECT leaves the committed table untouched.
            stage = f"{target}{_STAGE_SUFFIX}"
            self.spark.sql(f"DROP TABLE IF EXISTS {stage}")
            try:
                run(f"CREATE TABLE {stage} USING PARQUET AS\n{select}")
                self._drop_relation(target)
                schema, _, name = target.rpartition(".")
                self.spark.sql(f"ALTER TABLE {stage} RENAME TO {schema.split('.', 1)[1]}.{name}")
            finally:
                self.spark.sql(f"DROP TABLE IF EXISTS {stage}")
        return self.summarize(table)

    def create_staged_table(self, staged: str, select_sql: str, params: SqlParams = None) -> None:
        check_table_name(staged)
        select = self._select(select_sql, params)
        args = None
        if params is not None:
            args = dict(params) if isinstance(params, Mapping) else list(params)
        fmt = "DELTA" if self.table_format == "delta" else "PARQUET"
        statement = f"CREATE TABLE {self.naming.qualified(staged)} USING {fmt} AS\n{select}"
        self.spark.sql(statement, args=args) if args else self.spark.sql(statement)

    def drop_table(self, table: str) -> None:
        check_table_name(table)
        self.spark.sql(f"DROP TABLE IF EXISTS {self.naming.qualified(table)}")

    def swap_in(self, staged: str, table: str) -> None:
        """Delta: one atomic ``CREATE OR REPLACE`` commit; Parquet: drop, then rename."""
        check_table_name(staged)
        check_table_name(table)
        source = self.naming.qualified(staged)
        target = self.naming.qualified(table)
        if self.table_format == "delta":
            existing = (
                self.spark.catalog.tableExists(target)
                and (self.spark.catalog.getTable(target).tableType or "").upper() == "VIEW"
            )
            if existing:
                self.spark.sql(f"DROP VIEW IF EXISTS {target}")
            self.spark.sql(
                f"CREATE OR REPLACE TABLE {target} USING DELTA AS SELECT * FROM {source}"
            )
            self.spark.sql(f"DROP TABLE IF EXISTS {source}")
            return
        self._drop_relation(target)
        schema, _, name = target.rpartition(".")
        self.spark.sql(f"ALTER TABLE {source} RENAME TO {schema.split('.', 1)[1]}.{name}")

    def _drop_relation(self, qualified: str) -> None:
        if not self.spark.catalog.tableExists(qualified):
            return
        table = self.spark.catalog.getTable(qualified)
        if (table.tableType or "").upper() == "VIEW":
            self.spark.sql(f"DROP VIEW IF EXISTS {qualified}")
        else:
            self.spark.sql(f"DROP TABLE IF EXISTS {qualified}")

    def create_view_as(self, view: str, select_sql: str):
        check_table_name(view)
        self._ensure_parent_schema(view)
        target = self.naming.qualified(view)
        if self.spark.catalog.tableExists(target):
            existing = self.spark.catalog.getTable(target)
            if (existing.tableType or "").upper() != "VIEW":
                self.spark.sql(f"DROP TABLE IF EXISTS {target}")
        self.spark.sql(f"CREATE OR REPLACE VIEW {target} AS\n{self._select(select_sql)}")
        return self.summarize(view)

    def create_table_from_df(self, table: str, frame: pd.DataFrame):
        """Store a small pandas DataFrame as ``table`` (the IO manager of small tables)."""
        check_table_name(table)
        view = f"narr_df_{uuid.uuid4().hex[:12]}"
        self.spark.createDataFrame(frame).createOrReplaceTempView(view)
        try:
            return self.create_table_as(table, f"SELECT * FROM {view}")
        finally:
            self.spark.catalog.dropTempView(view)

    # -- files ------------------------------------------------------------------------------
    def register_file_view(
        self,
        view: str,
        paths: Sequence[str | Path],
        file_format: str,
        columns: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        from pyspark.sql import functions as F

        check_table_name(view)
        if not paths:
            raise ValueError(f"No files to register as {view}.")
        if file_format not in ("csv", "parquet", "json", "json_document", "text"):
            raise ValueError(
                f"Unsupported file format {file_format!r}; "
                "use csv, json, json_document, parquet or text."
            )
        if file_format in ("json_document", "text"):
            # Each file's whole text, unparsed, in one column (one row per file).
            column = "json" if file_format == "json_document" else "text"
            if columns:
                raise ValueError(f"{file_format} views have one column, {column}; no schema.")
            documents = [
                self.spark.read.text(self._stage_file(path), wholetext=True).select(
                    F.col("value").alias(column), F.lit(str(path)).alias("source_file")
                )
                for path in paths
            ]
            combined = documents[0]
            for frame in documents[1:]:
                combined = combined.unionByName(frame)
            combined.createOrReplaceTempView(view)
            return
        options = dict(options or {})
        store_rejects = bool(options.pop("store_rejects", False)) and file_format == "csv"
        reader_options, schema = self._reader_options(file_format, columns, options)
        if store_rejects:
            # DuckDB's store_rejects: PERMISSIVE keeps a malformed row (too few or too many
            # fields) whole in a corrupt-record column; it leaves the view for the rejects.
            reader_options["mode"] = "PERMISSIVE"
            reader_options["columnNameOfCorruptRecord"] = _CORRUPT_RECORD
            if schema:
                schema = f"{schema}, `{_CORRUPT_RECORD}` STRING"
        frames = []
        rejects = []
        for path in paths:
            reader = self.spark.read.options(**reader_options)
            if schema and file_format != "parquet":
                reader = reader.schema(schema)
            location = self._stage_file(path)
            if file_format == "csv" and store_rejects:
                # Spark refuses queries on the corrupt column of a raw CSV scan: cache first.
                frame = reader.csv(location).cache()
                rejects.append(
                    frame.where(F.col(_CORRUPT_RECORD).isNotNull()).select(
                        F.lit(str(path)).alias("source_file"),
                        F.lit(None).cast("bigint").alias("source_line"),
                        F.lit("malformed row: the fields do not match the header").alias("error"),
                        F.col(_CORRUPT_RECORD).alias("raw_record"),
                    )
                )
                frame = frame.where(F.col(_CORRUPT_RECORD).isNull()).drop(_CORRUPT_RECORD)
            elif file_format == "csv":
                frame = reader.csv(location)
            elif file_format == "json":
                local_options = dict(reader_options)
                if "multiLine" not in local_options:
                    local_options["multiLine"] = _json_is_array(path)
                frame = reader.options(**local_options).json(location)
            else:
                frame = reader.parquet(location)
                if columns:
                    frame = frame.select(
                        *[
                            F.col(f"`{name}`").cast(spark_type(t)).alias(name)
                            for name, t in columns.items()
                        ]
                    )
            frames.append(frame.withColumn("source_file", F.lit(str(path))))
        combined = frames[0]
        for frame in frames[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        combined.createOrReplaceTempView(view)
        if rejects:
            malformed = rejects[0]
            for frame in rejects[1:]:
                malformed = malformed.unionByName(frame)
            self._rejects[view] = malformed

    def malformed_rows_sql(self, view: str) -> str:
        check_table_name(view)
        malformed = self._rejects.get(view)
        if malformed is None:
            return (
                "SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, "
                "CAST(NULL AS VARCHAR) AS error, CAST(NULL AS VARCHAR) AS raw_record WHERE 1 = 0"
            )
        name = f"{view}__malformed"
        malformed.createOrReplaceTempView(name)
        return f"SELECT source_file, source_line, error, raw_record FROM {name}"

    def _reader_options(
        self, file_format: str, columns: Mapping[str, str] | None, options: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        spark_options: dict[str, Any] = {}
        mode = "FAILFAST"  # DuckDB fails on malformed rows unless told otherwise
        all_varchar = False
        for key, value in options.items():
            lowered = key.lower()
            if lowered == "all_varchar":
                all_varchar = bool(value)
                continue
            if lowered in _IGNORED_OPTIONS:
                continue
            if lowered in ("null_padding", "ignore_errors"):
                if value:
                    mode = "PERMISSIVE" if lowered == "null_padding" else "DROPMALFORMED"
                continue
            if lowered == "format" and file_format == "json":
                if value in ("array", "newline_delimited"):
                    spark_options["multiLine"] = value == "array"
                continue
            if lowered in ("dateformat", "timestampformat") and isinstance(value, str):
                target = "dateFormat" if lowered == "dateformat" else "timestampFormat"
                spark_options[target] = strftime_to_java(value, parsing=True)
                continue
            if lowered == "skip" and file_format == "csv":
                if int(value):
                    raise ValueError("read_csv skip=N has no Spark reader equivalent.")
                continue
            if file_format == "csv" and lowered in _CSV_OPTIONS:
                spark_options[_CSV_OPTIONS[lowered]] = value
                continue
            raise ValueError(
                f"Reader option {key!r} for {file_format} has no Spark equivalent in the "
                "Spark warehouse; add it to resources/spark_warehouse.py."
            )
        if file_format == "csv":
            spark_options.setdefault("header", False)
            spark_options.setdefault("multiLine", True)  # quoted fields may hold newlines
            spark_options.setdefault("escape", '"')  # RFC 4180 doubled quotes, as DuckDB
            spark_options["mode"] = mode
            if columns is None:
                spark_options["inferSchema"] = not all_varchar
        elif file_format == "json":
            spark_options["mode"] = mode
        schema = None
        if columns:
            schema = ", ".join(f"`{name}` {spark_type(t)}" for name, t in columns.items())
        return spark_options, schema

    def copy_to_file(
        self,
        select_sql: str,
        path: str | Path,
        file_format: str,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        if file_format not in ("parquet", "json", "csv"):
            raise ValueError(f"Unsupported export format {file_format!r}.")
        settings = {k.lower(): v for k, v in (options or {}).items()}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        select = self._select(select_sql)
        tmp = target.with_name(f".{target.name}.tmp")
        rows = 0
        try:
            if file_format == "json":
                # One JSON object per line, nulls kept, as DuckDB's COPY ... (FORMAT json).
                frame = self.spark.sql(
                    f"SELECT to_json(struct(*), map('timestampFormat', "
                    f"'yyyy-MM-dd HH:mm:ss[.SSSSSS]')) AS line FROM ({select}) AS narr_export"
                )
                with open(tmp, "w", encoding="utf-8") as handle:
                    for row in frame.toLocalIterator():
                        handle.write(row[0] + "\n")
                        rows += 1
            else:
                table = self.spark.sql(select).toArrow()
                rows = table.num_rows
                if file_format == "parquet":
                    pq.write_table(
                        table,
                        tmp,
                        compression=str(
                            settings.get("compression", self.parquet_compression)
                        ).lower(),
                        row_group_size=int(
                            settings.get("row_group_size", self.parquet_row_group_size)
                        ),
                    )
                else:
                    pa_csv.write_csv(
                        table,
                        tmp,
                        pa_csv.WriteOptions(
                            include_header=bool(settings.get("header", True)),
                            delimiter=str(settings.get("delimiter", settings.get("delim", ","))),
                            quoting_style="needed",
                        ),
                    )
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return rows


#: A statement that is a query (lazy in Spark), possibly after leading comments.
_QUERY_START = re.compile(r"^\s*(/\*.*?\*/\s*)*(SELECT|WITH|VALUES|FROM|TABLE|\()", re.I | re.S)


def sqlglot_parse(sql: str) -> Any:
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


def _strip_constraints(tree: Any) -> None:
    """PRIMARY KEY / UNIQUE / NOT NULL / FOREIGN KEY are not enforced by Spark: dropped."""
    from sqlglot import exp

    kinds = (
        exp.PrimaryKeyColumnConstraint,
        exp.UniqueColumnConstraint,
        exp.NotNullColumnConstraint,
    )
    for constraint in list(tree.find_all(exp.ColumnConstraint)):
        if isinstance(constraint.args.get("kind"), kinds):
            constraint.pop()
    schema = tree.this if isinstance(tree.this, exp.Schema) else None
    if schema is not None:
        for item in list(schema.expressions):
            if isinstance(item, exp.PrimaryKey | exp.UniqueColumnConstraint | exp.ForeignKey):
                item.pop()


def _inline_placeholders(tree: Any, params: Sequence[Any]) -> Any:
    """``?`` parameters as literals, in order (the rewrite repeats expressions)."""
    import datetime as dt

    from sqlglot import exp

    values = list(params)

    def literal(value: Any) -> exp.Expr:
        if value is None:
            return exp.null()
        if isinstance(value, bool):
            return exp.true() if value else exp.false()
        if isinstance(value, int | float):
            return exp.Literal.number(value)
        if isinstance(value, dt.datetime):
            return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
        if isinstance(value, dt.date):
            return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
        return exp.Literal.string(str(value))

    tree = tree.copy()
    placeholders = [p for p in tree.find_all(exp.Placeholder, bfs=False) if p.name in ("", "?")]
    if len(placeholders) != len(values):
        raise ValueError(f"{len(placeholders)} parameters in the SQL, {len(values)} given.")
    for placeholder, value in zip(placeholders, values, strict=True):
        placeholder.replace(literal(value))
    return tree


def _json_is_array(path: str | Path) -> bool:
    """Whether a JSON file is one document (an array or a multi-line object), not NDJSON."""
    with open(path, "rb") as handle:
        head = handle.read(65_536).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return True
    first_line = head.split(b"\n", 1)[0]
    try:
        json.loads(first_line)
    except ValueError:
        return True  # the first object spans several lines
    return False


class SparkWarehouse(Warehouse):
    """Spark SQL warehouse: Databricks (Unity Catalog, Delta), Spark Connect or local Spark."""

    mode: str = Field(default="connect", description="connect | databricks | local")
    spark_remote: str | None = Field(
        default=None, description="Spark Connect URL (sc://host:port)."
    )
    spark_master: str | None = Field(default=None, description="Local master, e.g. local[2].")
    databricks_host: str | None = Field(default=None, description="Databricks workspace URL.")
    databricks_token: str | None = Field(
        default=None, description="Databricks PAT (secret, EnvVar)."
    )
    databricks_client_id: str | None = Field(default=None, description="Service principal id.")
    databricks_client_secret: str | None = Field(
        default=None, description="Service principal secret (secret, EnvVar)."
    )
    databricks_cluster_id: str | None = Field(default=None, description="All-purpose cluster.")
    databricks_serverless: bool = Field(default=False, description="Serverless compute.")
    catalog: str = Field(default="spark_catalog", description="Catalog of every table.")
    schema_map: dict[str, str] = Field(
        default_factory=dict, description="Logical -> physical schema."
    )
    schema_prefix: str = Field(default="", description="Prefix of every physical schema.")
    table_format: str = Field(default="parquet", description="delta | parquet")
    landing_volume: str | None = Field(
        default=None, description="Unity Catalog volume landing files are uploaded to."
    )
    local_warehouse_dir: str = Field(
        default="data/spark-warehouse", description="Table folder of the local Spark session."
    )
    local_driver_memory: str = Field(default="2g", description="JVM heap of the local session.")
    parquet_compression: str = "ZSTD"
    parquet_row_group_size: int = 122_880

    @classmethod
    def from_settings(cls, settings: SparkSettings, **overrides: Any) -> "SparkWarehouse":
        kwargs: dict[str, Any] = {
            "mode": settings.mode,
            "spark_remote": settings.spark_remote,
            "spark_master": settings.spark_master,
            "databricks_host": settings.databricks_host,
            "databricks_cluster_id": settings.databricks_cluster_id,
            "databricks_serverless": settings.databricks_serverless,
            "catalog": settings.catalog,
            "schema_map": dict(settings.schema_map),
            "schema_prefix": settings.schema_prefix,
            "table_format": settings.table_format,
            "landing_volume": settings.landing_volume,
            "local_warehouse_dir": settings.local_warehouse_dir,
            "local_driver_memory": settings.local_driver_memory,
        }
        if settings.databricks_auth == "token":
            kwargs["databricks_token"] = dg.EnvVar("DATABRICKS_TOKEN")
        elif settings.databricks_auth == "service_principal":
            kwargs["databricks_client_id"] = dg.EnvVar("DATABRICKS_CLIENT_ID")
            kwargs["databricks_client_secret"] = dg.EnvVar("DATABRICKS_CLIENT_SECRET")
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def engine(self) -> str:
        return "spark"

    @property
    def naming(self) -> SparkNaming:
        return SparkNaming(self.catalog, dict(self.schema_map), self.schema_prefix)

    def describe_target(self) -> str:
        """Where tables land; never includes a token or secret."""
        where = {
            "connect": f"Spark Connect {self.spark_remote}",
            "databricks": f"Databricks {self.databricks_host} "
            + (
                "serverless"
                if self.databricks_serverless
                else f"cluster {self.databricks_cluster_id}"
            ),
            "local": f"local Spark {self.spark_master}",
        }.get(self.mode, self.mode)
        prefix = f", schema prefix {self.schema_prefix}" if self.schema_prefix else ""
        return f"{where}, catalog {self.catalog} ({self.table_format}{prefix})"

    # -- connections ---------------------------------------------------------------------------
    def _open_spark(self) -> tuple[Any, bool]:
        """A new Spark session and whether closing the session should stop it."""
        if self.mode == "connect":
            from pyspark.sql import SparkSession

            return SparkSession.builder.remote(self.spark_remote).create(), True
        if self.mode == "databricks":
            return self._open_databricks(), True
        if self.mode == "local":
            from pyspark.sql import SparkSession

            with _LOCAL_LOCK:
                root = _LOCAL_ROOT.get(self.spark_master or "local[2]")
                if root is None:
                    warehouse_dir = Path(self.local_warehouse_dir).resolve()
                    warehouse_dir.mkdir(parents=True, exist_ok=True)
                    root = (
                        SparkSession.builder.master(self.spark_master or "local[2]")
                        .appName("narr-platform")
                        .config("spark.ui.enabled", "false")
                        .config("spark.driver.memory", self.local_driver_memory)
                        .config("spark.sql.shuffle.partitions", "8")
                        .config("spark.sql.warehouse.dir", str(warehouse_dir))
                        .config("spark.local.dir", str(warehouse_dir / "_scratch"))
                        .config("spark.driver.host", "127.0.0.1")
                        .config("spark.driver.bindAddress", "127.0.0.1")
                        # long GC pauses on one huge JSON document must not kill the context
                        .config("spark.network.timeout", "600s")
                        .config("spark.executor.heartbeatInterval", "60s")
                        .getOrCreate()
                    )
                    _LOCAL_ROOT[self.spark_master or "local[2]"] = root
            return root.newSession(), False
        raise ValueError(f"Unknown Spark warehouse mode {self.mode!r}.")

    def _databricks_config(self) -> Any:
        from databricks.sdk.core import Config

        if self.databricks_token:
            return Config(host=self.databricks_host, token=self.databricks_token)
        return Config(
            host=self.databricks_host,
            client_id=self.databricks_client_id,
            client_secret=self.databricks_client_secret,
        )

    def _open_databricks(self) -> Any:
        config = self._databricks_config()
        try:
            from databricks.connect import DatabricksSession  # type: ignore[import-not-found]
        except ImportError:
            DatabricksSession = None
        if DatabricksSession is not None:
            builder = DatabricksSession.builder.sdkConfig(config)
            if self.databricks_serverless:
                builder = builder.serverless(True)
            else:
                builder = builder.clusterId(self.databricks_cluster_id)
            return builder.getOrCreate()
        # Without databricks-connect: the Spark Connect protocol Databricks clusters speak.
        if self.databricks_serverless:
            raise RuntimeError(
                "Databricks serverless needs the databricks-connect package "
                "(pip install 'databricks-connect'); a cluster works with plain pyspark."
            )
        from pyspark.sql import SparkSession

        headers = config.authenticate()
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        host = (self.databricks_host or "").removeprefix("https://").rstrip("/")
        url = f"sc://{host}:443/;use_ssl=true;token={token};x-databricks-cluster-id={self.databricks_cluster_id}"
        return SparkSession.builder.remote(url).create()

    def _stage_file(self, spark: Any) -> Any:
        if self.mode != "databricks" or not self.landing_volume:
            return lambda path: str(path)
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient(config=self._databricks_config())
        volume = self.landing_volume.rstrip("/")

        def upload(path: str | Path) -> str:
            local = Path(path)
            remote = f"{volume}/{uuid.uuid5(uuid.NAMESPACE_URL, str(local.parent)).hex[:12]}/{local.name}"
            with open(local, "rb") as handle:
                client.files.upload(remote, handle, overwrite=True)
            return remote

        return upload

    @contextlib.contextmanager
    def session(self) -> Iterator[SparkWarehouseSession]:
        spark, stop = self._open_spark()
        try:
            for key, value in SESSION_CONF.items():
                spark.conf.set(key, value)
            yield SparkWarehouseSession(
                spark,
                self.naming,
                self.table_format,
                self.parquet_compression,
                self.parquet_row_group_size,
                stage_file=self._stage_file(spark),
            )
        finally:
            if stop:
                spark.stop()


def build_spark_warehouse(environ: Mapping[str, str] | None = None) -> SparkWarehouse:
    """The Spark warehouse configured from the environment; raises naming missing variables."""
    return SparkWarehouse.from_settings(spark_settings_from_env(environ))
