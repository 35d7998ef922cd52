"""The Databricks / Spark deployment of the warehouse seam.

Selected by ``PLATFORM_DEPLOYMENT=databricks``; the connection comes from the environment
(:mod:`resources.spark_settings`): a Spark Connect endpoint (a local one comes from
``narr_platform.spark_connect_server``) or Databricks Connect. Each statement is parsed once and
translated once (:mod:`resources.spark_sql`); logical ``schema.table`` names land as
``catalog.schema.table``. Tables are Delta on Databricks and Parquet where Delta is not
available. Each ``session()`` is its own Spark session, so temporary views never leak.
"""

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import pandas as pd
from pydantic import Field
from sqlglot import exp

from resources.spark_settings import SparkSettings, spark_settings_from_env
from resources.spark_sql import SparkNaming, parse, spark_type, strftime_to_java, to_spark
from resources.warehouse import SqlParams, Warehouse, WarehouseSession, check_table_name

#: Session settings that make Spark agree with DuckDB (docs/spark.md).
SESSION_CONF: dict[str, str] = {
    "spark.sql.jsonGenerator.ignoreNullFields": "false",  # to_json keeps {"a":null}
    "spark.sql.timestampType": "TIMESTAMP_NTZ",  # DuckDB's TIMESTAMP has no time zone
    "spark.sql.session.timeZone": "UTC",
}
_STAGE_SUFFIX = "__narr_stage"
#: DuckDB reader option -> Spark's (csv); options that change nothing on Spark; the rest
#: is refused, never silently ignored.
_CSV_OPTIONS = {"header": "header", "delim": "sep", "sep": "sep", "delimiter": "sep"}
_CSV_OPTIONS |= {"quote": "quote", "escape": "escape", "nullstr": "nullValue"}
_CSV_OPTIONS |= {"encoding": "encoding", "comment": "comment"}
_IGNORED_OPTIONS = {"auto_detect", "sample_size", "strict_mode", "records", "new_line"}
_IGNORED_OPTIONS |= {"maximum_object_size", "union_by_name", "hive_partitioning", "parallel"}
#: Keys Spark does not enforce: dropped from CREATE TABLE.
_CONSTRAINTS = (
    exp.PrimaryKeyColumnConstraint,
    exp.UniqueColumnConstraint,
    exp.NotNullColumnConstraint,
)

#: The column a PERMISSIVE CSV read keeps a malformed row in (store_rejects).
_CORRUPT_RECORD = "_corrupt_record"


def _args(params: SqlParams) -> Any:
    """Query parameters as Spark takes them: ``?`` from a list, ``:name`` from a dict."""
    if params is None:
        return None
    return dict(params) if isinstance(params, Mapping) else list(params)


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
        #: view -> (path, read location, DataFrame of its malformed rows) per file
        self._rejects: dict[str, list[tuple[str, str, Any]]] = {}

    # -- SQL ------------------------------------------------------------------------------
    def _sql(self, statement: str, args: Any = None) -> Any:
        return self.spark.sql(statement, args=args) if args else self.spark.sql(statement)

    def _select(self, select_sql: str) -> str:
        """The Spark SQL of exactly one SELECT."""
        trees = parse(select_sql)
        if len(trees) != 1:
            raise ValueError("create_table_as/create_view_as take exactly one SELECT statement.")
        return to_spark(trees[0], self.naming)

    def execute(self, sql: str, params: SqlParams = None) -> None:
        """Run DuckDB statements; the statement kinds Spark lacks are mapped here."""
        args = _args(params)
        for tree in parse(sql):
            kind = tree.args.get("kind") if isinstance(tree, exp.Create) else None
            if isinstance(tree, exp.Transaction | exp.Commit | exp.Rollback) or kind == "INDEX":
                continue  # each Spark statement is atomic on its own; no secondary indexes
            if isinstance(tree, exp.Update | exp.Delete) and self.table_format != "delta":
                raise ValueError("UPDATE/DELETE need Delta; write CREATE TABLE ... AS instead.")
            if kind == "TABLE" and tree.find(exp.TemporaryProperty) and tree.expression:
                # A DuckDB temp table: computed now and cut from its sources, as DuckDB's is.
                frame = self._sql(to_spark(tree.expression, self.naming), args)
                frame.localCheckpoint(eager=True).createOrReplaceTempView(tree.this.name)
            elif kind == "TABLE" and tree.args.get("replace") and tree.expression:
                self.create_table_as(tree.this.sql(), tree.expression.sql("duckdb"), params)
            elif isinstance(tree, exp.Drop) and not any(t.db for t in tree.find_all(exp.Table)):
                for table in tree.find_all(exp.Table):  # a session temp table is a view here
                    self.spark.sql(f"DROP VIEW IF EXISTS {table.name}")
            else:
                for constraint in list(tree.find_all(exp.ColumnConstraint)):
                    if isinstance(constraint.args.get("kind"), _CONSTRAINTS):
                        constraint.pop()  # Spark enforces no keys
                for key in list(tree.find_all(exp.PrimaryKey, exp.UniqueColumnConstraint)):
                    key.pop()
                frame = self._sql(to_spark(tree, self.naming), args)
                if frame.columns:
                    frame.collect()  # a query run for its side effects

    def _run(self, sql: str, params: SqlParams = None) -> Any:
        trees = parse(sql)
        if not trees:
            raise ValueError("No SQL statement to run.")
        frames = [self._sql(to_spark(tree, self.naming), _args(params)) for tree in trees]
        return frames[-1]

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        return [tuple(_plain(v) for v in row) for row in self._run(sql, params).collect()]

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        return self._run(sql, params).toPandas()

    def fetch_rows_native(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(_plain(v) for v in row) for row in self.spark.sql(sql).collect()]

    # -- catalog ----------------------------------------------------------------------------
    def qualified_name(self, table: str) -> str:
        return self.naming.qualified(check_table_name(table))

    def table_exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(self.qualified_name(table)))

    def columns(self, table: str) -> tuple[tuple[str, str], ...]:
        schema = self.spark.table(self.qualified_name(table)).schema
        return tuple((field.name, field.dataType.simpleString()) for field in schema.fields)

    def list_tables(self) -> list[tuple[str, str]]:
        from resources.publish import is_staged

        return [(name, kind) for name, kind in self._catalog() if not is_staged(name)]

    def list_staged_tables(self) -> list[str]:
        from resources.publish import is_staged

        return [name for name, kind in self._catalog() if kind == "table" and is_staged(name)]

    def _catalog(self) -> list[tuple[str, str]]:
        catalog, found = self.naming.catalog, []
        for row in self.spark.sql(f"SHOW SCHEMAS IN {catalog}").collect():
            logical = self.naming.logical_schema(row[0])
            if logical is None or row[0] in ("default", "information_schema"):
                continue
            for table in self.spark.catalog.listTables(f"{catalog}.{row[0]}"):
                if not table.isTemporary and not table.name.endswith(_STAGE_SUFFIX):
                    kind = "view" if (table.tableType or "").upper() == "VIEW" else "table"
                    found.append((f"{logical}.{table.name}", kind))
        return sorted(found)

    def ensure_schema(self, schema: str) -> None:
        check_table_name(schema)
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.naming.qualified_schema(schema)}")

    # -- writes -----------------------------------------------------------------------------
    def create_table_as(self, table: str, select_sql: str, params: SqlParams = None):
        check_table_name(table)
        self._ensure_parent_schema(table)
        return self._replace(table, self._select(select_sql), _args(params))

    def create_table_as_native(self, table: str, select_sql: str):
        check_table_name(table)
        self._ensure_parent_schema(table)
        return self._replace(table, select_sql, None)

    def _replace(self, table: str, select: str, args: Any):
        """Delta: one atomic ``CREATE OR REPLACE``. Parquet cannot be replaced in place:
        a stage is built, then swapped in, so a failed SELECT leaves the table untouched."""
        if self.table_format == "delta":
            target = self.qualified_name(table)
            self._sql(f"CREATE OR REPLACE TABLE {target} USING DELTA AS\n{select}", args)
            return self.summarize(table)
        stage = f"{table}{_STAGE_SUFFIX}"
        self.drop_table(stage)
        try:
            self._sql(f"CREATE TABLE {self.qualified_name(stage)} USING PARQUET AS\n{select}", args)
            self.swap_in(stage, table)
        finally:
            self.drop_table(stage)
        return self.summarize(table)

    def create_staged_table(
        self,
        staged: str,
        select_sql: str,
        params: SqlParams = None,
        document_columns: Sequence[str] = (),
    ) -> None:
        """``CREATE TABLE AS`` (Delta or Parquet); the files' pages are compressed as a
        whole, so ``document_columns`` need nothing of their own."""
        fmt = "DELTA" if self.table_format == "delta" else "PARQUET"
        select = self._select(select_sql)
        self._sql(
            f"CREATE TABLE {self.qualified_name(staged)} USING {fmt} AS\n{select}", _args(params)
        )

    def drop_table(self, table: str) -> None:
        self.spark.sql(f"DROP TABLE IF EXISTS {self.qualified_name(table)}")

    def swap_in(self, staged: str, table: str) -> None:
        """Delta: one atomic ``CREATE OR REPLACE`` commit; Parquet: drop, then rename."""
        source, target = self.qualified_name(staged), self.qualified_name(table)
        if self.table_format == "delta":
            if self._is_view(target):
                self.spark.sql(f"DROP VIEW IF EXISTS {target}")
            self.spark.sql(
                f"CREATE OR REPLACE TABLE {target} USING DELTA AS SELECT * FROM {source}"
            )
            self.spark.sql(f"DROP TABLE IF EXISTS {source}")
            return
        if self.spark.catalog.tableExists(target):
            self.spark.sql(
                f"DROP {'VIEW' if self._is_view(target) else 'TABLE'} IF EXISTS {target}"
            )
        schema, _, name = target.rpartition(".")
        self.spark.sql(f"ALTER TABLE {source} RENAME TO {schema.split('.', 1)[1]}.{name}")

    def _is_view(self, qualified: str) -> bool:
        if not self.spark.catalog.tableExists(qualified):
            return False
        return (self.spark.catalog.getTable(qualified).tableType or "").upper() == "VIEW"

    def create_view_as(self, view: str, select_sql: str):
        check_table_name(view)
        self._ensure_parent_schema(view)
        target = self.qualified_name(view)
        if self.spark.catalog.tableExists(target) and not self._is_view(target):
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
        whole = {"json_document": "json", "text": "text"}.get(file_format)
        if whole and columns:
            raise ValueError(f"{file_format} views have one column, {whole}; no schema.")
        options = dict(options or {})
        store_rejects = bool(options.pop("store_rejects", False)) and file_format == "csv"
        reader_options, schema = self._reader_options(file_format, columns, options)
        if store_rejects:
            # DuckDB's store_rejects: PERMISSIVE keeps a malformed row (too few or too many
            # fields) whole in a corrupt-record column; it leaves the view for the rejects.
            reader_options |= {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT_RECORD}
            schema = f"{schema}, `{_CORRUPT_RECORD}` STRING" if schema else schema
        frames, rejects = [], []
        for path in paths:
            location, reader = self._stage_file(path), self.spark.read.options(**reader_options)
            if whole:  # each file's whole text, unparsed, in one column (one row per file)
                frame = self.spark.read.text(location, wholetext=True)
                frame = frame.select(F.col("value").alias(whole))
            elif file_format == "parquet":
                frame = reader.parquet(location)
                if columns:
                    frame = frame.select(
                        *[F.col(f"`{n}`").cast(spark_type(t)).alias(n) for n, t in columns.items()]
                    )
            else:
                reader = reader.schema(schema) if schema else reader
                if file_format == "json" and "multiLine" not in reader_options:
                    reader = reader.option("multiLine", _json_is_array(path))
                frame = reader.csv(location) if file_format == "csv" else reader.json(location)
            if store_rejects:
                # Spark refuses queries on the corrupt column of a raw CSV scan: cache first.
                frame = frame.cache()
                bad = frame.where(F.col(_CORRUPT_RECORD).isNotNull())
                rejects.append((str(path), location, bad.select(_CORRUPT_RECORD)))
                frame = frame.where(F.col(_CORRUPT_RECORD).isNull()).drop(_CORRUPT_RECORD)
            frames.append(frame.withColumn("source_file", F.lit(str(path))))
        combined = frames[0]
        for frame in frames[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        combined.createOrReplaceTempView(view)
        if store_rejects:
            self._rejects[view] = rejects

    def malformed_rows_sql(self, view: str) -> str:
        check_table_name(view)
        located = [
            self._located_rejects(path, location, bad)
            for path, location, bad in self._rejects.get(view, [])
            if not bad.isEmpty()  # a clean file is not read again
        ]
        if not located:
            return (
                "SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, "
                "CAST(NULL AS VARCHAR) AS error, CAST(NULL AS VARCHAR) AS raw_record WHERE 1 = 0"
            )
        malformed = located[0]
        for frame in located[1:]:
            malformed = malformed.unionByName(frame)
        name = f"{view}__malformed"
        malformed.createOrReplaceTempView(name)
        return f"SELECT source_file, source_line, error, raw_record FROM {name}"

    def _located_rejects(self, path: str, location: str, bad: Any) -> Any:
        """The malformed rows of one CSV file with their physical line (1 = the header).

        A PERMISSIVE read keeps a malformed row's raw text but not its line, so the file is
        read again as text: each line's number is the lines of the file blocks before its
        block plus its position in the block (``monotonically_increasing_id`` is ordered
        but not consecutive across partitions, so it is only used within one block). The
        k-th malformed row with a given text is on the k-th line with that text.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        text = self.spark.read.text(location).select(
            F.col("value").alias("raw_record"),
            F.col("_metadata.file_block_start").alias("block"),
            F.spark_partition_id().alias("part"),
            F.monotonically_increasing_id().alias("position"),
        )
        blocks = text.groupBy("block", "part").agg(
            F.count(F.lit(1)).alias("lines"), F.min("position").alias("first")
        )
        earlier = Window.orderBy("block", "part").rowsBetween(Window.unboundedPreceding, -1)
        blocks = blocks.withColumn("before", F.coalesce(F.sum("lines").over(earlier), F.lit(0)))
        texts = bad.select(F.col(_CORRUPT_RECORD).alias("raw_record")).distinct()
        lines = (
            text.join(texts, "raw_record", "left_semi")
            .join(blocks, ["block", "part"])
            .select(
                "raw_record",
                (F.col("before") + F.col("position") - F.col("first") + 1).alias("source_line"),
            )
        )
        nth = Window.partitionBy("raw_record").orderBy("source_line")
        lines = lines.withColumn("nth", F.row_number().over(nth))
        copies = Window.partitionBy("raw_record").orderBy("order")
        records = (
            bad.select(
                F.col(_CORRUPT_RECORD).alias("raw_record"),
                F.monotonically_increasing_id().alias("order"),
            )
            .withColumn("nth", F.row_number().over(copies))
            .join(lines, ["raw_record", "nth"], "left")
        )
        return records.select(
            F.lit(path).alias("source_file"),
            F.col("source_line").cast("bigint").alias("source_line"),
            F.lit("malformed row: the fields do not match the header").alias("error"),
            "raw_record",
        )

    def _reader_options(
        self, file_format: str, columns: Mapping[str, str] | None, options: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        spark_options: dict[str, Any] = {}
        mode, all_varchar = "FAILFAST", False  # DuckDB fails on malformed rows unless told
        for key, value in options.items():
            lowered = key.lower()
            if lowered == "all_varchar":
                all_varchar = bool(value)
            elif lowered in ("null_padding", "ignore_errors"):
                mode = (
                    ("PERMISSIVE" if lowered == "null_padding" else "DROPMALFORMED")
                    if value
                    else mode
                )
            elif lowered == "format" and file_format == "json":
                if value in ("array", "newline_delimited"):
                    spark_options["multiLine"] = value == "array"
            elif lowered in ("dateformat", "timestampformat") and isinstance(value, str):
                target = "dateFormat" if lowered == "dateformat" else "timestampFormat"
                spark_options[target] = strftime_to_java(value, parsing=True)
            elif lowered == "skip" and file_format == "csv" and int(value):
                raise ValueError("read_csv skip=N has no Spark reader equivalent.")
            elif file_format == "csv" and lowered in _CSV_OPTIONS:
                spark_options[_CSV_OPTIONS[lowered]] = value
            elif lowered not in _IGNORED_OPTIONS and lowered != "skip":
                raise ValueError(
                    f"Reader option {key!r} for {file_format} has no Spark equivalent in the "
                    "Spark warehouse; add it to resources/spark_warehouse.py."
                )
        if file_format == "csv":
            spark_options.setdefault("header", False)
            spark_options.setdefault("multiLine", True)  # quoted fields may hold newlines
            spark_options.setdefault("escape", '"')  # RFC 4180 doubled quotes, as DuckDB
            spark_options["mode"] = mode
            spark_options["inferSchema"] = columns is None and not all_varchar
        elif file_format == "json":
            spark_options["mode"] = mode
        schema = (
            ", ".join(f"`{n}` {spark_type(t)}" for n, t in columns.items()) if columns else None
        )
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
        select, tmp, rows = self._select(select_sql), target.with_name(f".{target.name}.tmp"), 0
        try:
            if file_format == "json":  # one object per line, nulls kept, as DuckDB's COPY
                frame = self.spark.sql(
                    "SELECT to_json(struct(*), map('timestampFormat', "
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
                    codec = str(settings.get("compression", self.parquet_compression)).lower()
                    group = int(settings.get("row_group_size", self.parquet_row_group_size))
                    pq.write_table(table, tmp, compression=codec, row_group_size=group)
                else:
                    delimiter = str(settings.get("delimiter", settings.get("delim", ",")))
                    header = bool(settings.get("header", True))
                    write = pa_csv.WriteOptions(
                        include_header=header, delimiter=delimiter, quoting_style="needed"
                    )
                    pa_csv.write_csv(table, tmp, write)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return rows


def _json_is_array(path: str | Path) -> bool:
    """Whether a JSON file is one document (an array or a multi-line object), not NDJSON."""
    with open(path, "rb") as handle:
        head = handle.read(65_536).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return True
    try:
        json.loads(head.split(b"\n", 1)[0])
    except ValueError:
        return True  # the first object spans several lines
    return False


class SparkWarehouse(Warehouse):
    """Spark SQL warehouse: Databricks (Unity Catalog, Delta), Spark Connect or local Spark."""

    mode: str = Field("connect", description="connect | databricks")
    spark_remote: str | None = Field(None, description="Spark Connect URL (sc://host:port).")
    databricks_host: str | None = Field(None, description="Databricks workspace URL.")
    databricks_token: str | None = Field(None, description="PAT (secret, an EnvVar).")
    databricks_client_id: str | None = Field(None, description="Service principal id.")
    databricks_client_secret: str | None = Field(None, description="Its secret (an EnvVar).")
    databricks_cluster_id: str | None = Field(None, description="All-purpose cluster.")
    databricks_serverless: bool = Field(False, description="Serverless compute.")
    catalog: str = Field("spark_catalog", description="Catalog of every table.")
    schema_map: dict[str, str] = Field({}, description="Logical -> physical schema.")
    schema_prefix: str = Field("", description="Prefix of every physical schema.")
    table_format: str = Field("parquet", description="delta | parquet")
    landing_volume: str | None = Field(None, description="Volume landing files go to.")
    parquet_compression: str = "ZSTD"
    parquet_row_group_size: int = 122_880

    @classmethod
    def from_settings(cls, settings: SparkSettings, **overrides: Any) -> "SparkWarehouse":
        kwargs: dict[str, Any] = {
            name: getattr(settings, name)
            for name in cls.model_fields
            if hasattr(settings, name) and name != "schema_map"
        }
        kwargs["schema_map"] = dict(settings.schema_map)
        if settings.databricks_auth == "token":
            kwargs["databricks_token"] = dg.EnvVar("DATABRICKS_TOKEN")
        elif settings.databricks_auth == "service_principal":
            kwargs["databricks_client_id"] = dg.EnvVar("DATABRICKS_CLIENT_ID")
            kwargs["databricks_client_secret"] = dg.EnvVar("DATABRICKS_CLIENT_SECRET")
        return cls(**{**kwargs, **overrides})

    @property
    def engine(self) -> str:
        return "spark"

    @property
    def naming(self) -> SparkNaming:
        return SparkNaming(self.catalog, dict(self.schema_map), self.schema_prefix)

    def describe_target(self) -> str:
        """Where tables land; never includes a token or secret."""
        compute = (
            "serverless" if self.databricks_serverless else f"cluster {self.databricks_cluster_id}"
        )
        where = {
            "connect": f"Spark Connect {self.spark_remote}",
            "databricks": f"Databricks {self.databricks_host} {compute}",
        }.get(self.mode, self.mode)
        prefix = f", schema prefix {self.schema_prefix}" if self.schema_prefix else ""
        return f"{where}, catalog {self.catalog} ({self.table_format}{prefix})"

    # -- connections ---------------------------------------------------------------------------
    def _open_spark(self) -> Any:
        from pyspark.sql import SparkSession

        if self.mode == "connect":
            return SparkSession.builder.remote(self.spark_remote).create()
        if self.mode == "databricks":
            return self._open_databricks()
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
                return builder.serverless(True).getOrCreate()
            return builder.clusterId(self.databricks_cluster_id).getOrCreate()
        # Without databricks-connect: the Spark Connect protocol Databricks clusters speak.
        if self.databricks_serverless:
            raise RuntimeError(
                "Databricks serverless needs the databricks-connect package "
                "(pip install 'databricks-connect'); a cluster works with plain pyspark."
            )
        from pyspark.sql import SparkSession

        token = config.authenticate().get("Authorization", "").removeprefix("Bearer ").strip()
        host = (self.databricks_host or "").removeprefix("https://").rstrip("/")
        url = f"sc://{host}:443/;use_ssl=true;token={token};x-databricks-cluster-id={self.databricks_cluster_id}"
        return SparkSession.builder.remote(url).create()

    def _stage_file(self) -> Any:
        """Databricks reads landing files from a Unity Catalog volume: each is uploaded."""
        if self.mode != "databricks" or not self.landing_volume:
            return lambda path: str(path)
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient(config=self._databricks_config())

        def upload(path: str | Path) -> str:
            local = Path(path)
            folder = uuid.uuid5(uuid.NAMESPACE_URL, str(local.parent)).hex[:12]
            remote = f"{self.landing_volume.rstrip('/')}/{folder}/{local.name}"
            with open(local, "rb") as handle:
                client.files.upload(remote, handle, overwrite=True)
            return remote

        return upload

    @contextlib.contextmanager
    def session(self) -> Iterator[SparkWarehouseSession]:
        spark = self._open_spark()
        try:
            for key, value in SESSION_CONF.items():
                spark.conf.set(key, value)
            yield SparkWarehouseSession(
                spark,
                self.naming,
                self.table_format,
                self.parquet_compression,
                self.parquet_row_group_size,
                stage_file=self._stage_file(),
            )
        finally:
            spark.stop()


def build_spark_warehouse(environ: Mapping[str, str] | None = None) -> SparkWarehouse:
    """The Spark warehouse configured from the environment; raises naming missing variables."""
    return SparkWarehouse.from_settings(spark_settings_from_env(environ))
