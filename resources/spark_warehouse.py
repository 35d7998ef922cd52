"""The Databricks / Spark deployment of the warehouse seam.

Selected by ``PLATFORM_DEPLOYMENT=databricks`` (:mod:`resources.spark_settings`): Spark
Connect or Databricks Connect. Statements are translated by :mod:`resources.spark_sql`;
tables are Delta on Databricks, Parquet elsewhere. Each ``session()`` is its own Spark
session, so temporary views never leak.
"""

import contextlib
import functools
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import pandas as pd
from pydantic import Field
from sqlglot import exp

from resources.spark_settings import SparkSettings, spark_settings_from_env
from resources.spark_sql import SparkNaming, parse, spark_type, to_spark
from resources.warehouse import SqlParams, Warehouse, WarehouseSession, check_table_name

#: Session settings that make Spark agree with DuckDB (docs/spark.md).
SESSION_CONF: dict[str, str] = {
    "spark.sql.jsonGenerator.ignoreNullFields": "false",  # to_json keeps {"a":null}
    "spark.sql.timestampType": "TIMESTAMP_NTZ",  # DuckDB's TIMESTAMP has no time zone
    "spark.sql.session.timeZone": "UTC",
}
_STAGE_SUFFIX = "__narr_stage"
#: DuckDB CSV reader options the project uses -> Spark's; any other option is refused.
_CSV_OPTIONS = {"header": "header", "delimiter": "sep", "quote": "quote", "all_varchar": None}
#: Keys Spark does not enforce: dropped from CREATE TABLE.
_KEYS = exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint | exp.NotNullColumnConstraint
#: The column a PERMISSIVE CSV read keeps a malformed row in (store_rejects).
_CORRUPT_RECORD = "_corrupt_record"


def _rows(table: Any) -> list[tuple[Any, ...]]:
    """An Arrow result's rows as DuckDB's client gives them (structs as dicts)."""
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


class SparkWarehouseSession(WarehouseSession):
    """Warehouse operations on one Spark (Connect) session."""

    engine: ClassVar[str] = "spark"

    def __init__(
        self, spark: Any, naming: SparkNaming, table_format: str = "parquet", stage_file=str
    ) -> None:
        self.spark, self.naming, self.table_format = spark, naming, table_format
        self._stage_file = stage_file  # local path -> where Spark reads it
        self._rejects: dict[str, list[tuple[str, Any]]] = {}  # view -> (file, malformed rows)

    # -- SQL ------------------------------------------------------------------------------
    def _sql(self, statement: str, params: SqlParams = None) -> Any:
        """The one parameter path: ``?`` from a list, ``:name`` from a dict."""
        args = (dict(params) if isinstance(params, Mapping) else list(params)) if params else None
        return self.spark.sql(statement, args=args)

    def _select(self, select_sql: str) -> str:
        """The Spark SQL of exactly one SELECT."""
        trees = parse(select_sql)
        if len(trees) != 1:
            raise ValueError("create_table_as/create_view_as take exactly one SELECT statement.")
        return to_spark(trees[0], self.naming)

    def execute(self, sql: str, params: SqlParams = None) -> None:
        """Run DuckDB statements; the statement kinds Spark lacks are mapped here."""
        for tree in parse(sql):
            kind = tree.args.get("kind") if isinstance(tree, exp.Create) else None
            if isinstance(tree, exp.Transaction | exp.Commit | exp.Rollback) or kind == "INDEX":
                continue  # each Spark statement is atomic on its own; no secondary indexes
            if isinstance(tree, exp.Update | exp.Delete) and self.table_format != "delta":
                raise ValueError("UPDATE/DELETE need Delta; write CREATE TABLE ... AS instead.")
            if kind == "TABLE" and tree.find(exp.TemporaryProperty) and tree.expression:
                # A DuckDB temp table: computed now and cut from its sources, as DuckDB's is.
                frame = self._sql(to_spark(tree.expression, self.naming), params)
                frame.localCheckpoint(eager=True).createOrReplaceTempView(tree.this.name)
            elif kind == "TABLE" and tree.args.get("replace") and tree.expression:
                select = to_spark(tree.expression, self.naming)
                self.create_table_as_native(tree.this.sql(), select, params)
            elif isinstance(tree, exp.Drop) and not any(t.db for t in tree.find_all(exp.Table)):
                for table in tree.find_all(exp.Table):  # a session temp table is a view here
                    self.spark.sql(f"DROP VIEW IF EXISTS {table.name}")
            else:
                for constraint in list(tree.find_all(exp.ColumnConstraint)):
                    if isinstance(constraint.args.get("kind"), _KEYS):
                        constraint.pop()  # Spark enforces no keys
                for key in list(tree.find_all(exp.PrimaryKey, exp.UniqueColumnConstraint)):
                    key.pop()
                frame = self._sql(to_spark(tree, self.naming), params)
                if frame.columns:
                    frame.collect()  # a query run for its side effects

    def _run(self, sql: str, params: SqlParams = None) -> Any:
        trees = parse(sql)
        if not trees:
            raise ValueError("No SQL statement to run.")
        return [self._sql(to_spark(tree, self.naming), params) for tree in trees][-1]

    def fetch_rows(self, sql: str, params: SqlParams = None) -> list[tuple[Any, ...]]:
        return _rows(self._run(sql, params).toArrow())

    def fetch_df(self, sql: str, params: SqlParams = None) -> pd.DataFrame:
        return self._run(sql, params).toPandas()

    def fetch_rows_native(self, sql: str) -> list[tuple[Any, ...]]:
        return _rows(self.spark.sql(sql).toArrow())

    # -- catalog ----------------------------------------------------------------------------
    def qualified_name(self, table: str) -> str:
        return self.naming.qualified(check_table_name(table))

    def table_exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(self.qualified_name(table)))

    def columns(self, table: str) -> tuple[tuple[str, str], ...]:
        schema = self.spark.table(self.qualified_name(table)).schema
        return tuple((field.name, field.dataType.simpleString()) for field in schema.fields)

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
        return self.create_table_as_native(table, self._select(select_sql), params)

    def create_table_as_native(self, table: str, select_sql: str, params: SqlParams = None):
        """Delta: one atomic ``CREATE OR REPLACE``. Parquet cannot be replaced in place:
        a stage is built, then swapped in, so a failed SELECT leaves the table untouched."""
        check_table_name(table)
        self._ensure_parent_schema(table)
        if self.table_format == "delta":
            target = self.qualified_name(table)
            self._sql(f"CREATE OR REPLACE TABLE {target} USING DELTA AS\n{select_sql}", params)
            return self.summarize(table)
        stage = f"{table}{_STAGE_SUFFIX}"
        self.drop_table(stage)
        try:
            self._create(stage, select_sql, params)
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
        self._create(staged, self._select(select_sql), params)

    def _create(self, table: str, select: str, params: SqlParams) -> None:
        fmt = "DELTA" if self.table_format == "delta" else "PARQUET"
        self._sql(f"CREATE TABLE {self.qualified_name(table)} USING {fmt} AS\n{select}", params)

    def drop_table(self, table: str) -> None:
        self.spark.sql(f"DROP TABLE IF EXISTS {self.qualified_name(table)}")

    def swap_in(self, staged: str, table: str) -> None:
        """Delta: one atomic ``CREATE OR REPLACE`` commit; Parquet: drop, then rename."""
        source, target = self.qualified_name(staged), self.qualified_name(table)
        kind = "VIEW" if self._is_view(target) else "TABLE"
        if kind == "VIEW" or self.table_format != "delta":
            self.spark.sql(f"DROP {kind} IF EXISTS {target}")
        if self.table_format != "delta":
            schema, _, name = target.rpartition(".")
            self.spark.sql(f"ALTER TABLE {source} RENAME TO {schema.split('.', 1)[1]}.{name}")
        else:
            self.spark.sql(
                f"CREATE OR REPLACE TABLE {target} USING DELTA AS SELECT * FROM {source}"
            )
            self.spark.sql(f"DROP TABLE IF EXISTS {source}")

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
        """Store a small pandas DataFrame as ``table`` (the IO manager of small tables). It
        goes as Arrow with its schema, so column types hold with no rows (no values: text)."""
        import pyarrow as pa
        from pyspark.sql.pandas.types import from_arrow_schema

        check_table_name(table)
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        fields = [f.with_type(pa.string()) if f.type == pa.null() else f for f in arrow.schema]
        arrow = arrow.cast(pa.schema(fields))
        schema = from_arrow_schema(arrow.schema, prefer_timestamp_ntz=True)  # TIMESTAMP_NTZ
        view = f"narr_df_{uuid.uuid4().hex[:12]}"
        self.spark.createDataFrame(arrow, schema=schema).createOrReplaceTempView(view)
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
        """Spark's own readers, one per file (``source_file`` is each row's path);
        ``json_document`` and ``text`` are each file's whole text in one row."""
        from pyspark.sql import functions as F

        check_table_name(view)
        whole = {"json_document": "json", "text": "text"}.get(file_format)
        if not paths or (file_format not in ("csv", "parquet", "json") and not whole):
            raise ValueError(f"Cannot register {file_format!r} files {list(paths)} as {view}.")
        if whole and columns:
            raise ValueError(f"{file_format} views have one column, {whole}; no schema.")
        options = dict(options or {})
        store_rejects = bool(options.pop("store_rejects", False)) and file_format == "csv"
        reader_options = _reader_options(file_format, options, infer=columns is None)
        schema = ", ".join(f"`{n}` {spark_type(t)}" for n, t in (columns or {}).items())
        if store_rejects:  # PERMISSIVE keeps a malformed row whole in a corrupt-record column
            reader_options |= {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT_RECORD}
            schema += f", `{_CORRUPT_RECORD}` STRING" if schema else ""
        frames, rejects = [], []
        for path in paths:
            location = self._stage_file(path)
            if whole:
                frame = self.spark.read.text(location, wholetext=True).toDF(whole)
            else:
                reader = self.spark.read.format(file_format).options(**reader_options)
                if file_format == "json":  # a JSON array (or object) spanning lines, or NDJSON
                    reader = reader.option("multiLine", _json_is_document(path))
                frame = (reader.schema(schema) if schema else reader).load(location)
            if store_rejects:  # Spark refuses queries on the corrupt column of a raw scan
                frame = frame.cache()
                rejects.append((str(path), frame.where(F.col(_CORRUPT_RECORD).isNotNull())))
                frame = frame.where(F.col(_CORRUPT_RECORD).isNull()).drop(_CORRUPT_RECORD)
            frames.append(frame.withColumn("source_file", F.lit(str(path))))
        union = functools.partial(type(frames[0]).unionByName, allowMissingColumns=True)
        functools.reduce(union, frames).createOrReplaceTempView(view)
        if store_rejects:
            self._rejects[view] = rejects

    def malformed_rows_sql(self, view: str) -> str:
        """Malformed rows with their physical line (1 = the header). Spark's PERMISSIVE read
        keeps a row's text but not its line: the few rows' texts are looked up in the local
        file, the k-th malformed row with a given text on the k-th line with that text."""
        rows = []
        for path, bad in self._rejects.get(check_table_name(view), []):
            texts = [row[0] for row in bad.select(_CORRUPT_RECORD).collect()]
            lines: dict[str, list[int]] = {text: [] for text in texts}
            with open(path, encoding="utf-8", errors="replace", newline="") as handle:
                for number, line in enumerate(handle, 1):
                    lines.get(line.rstrip("\r\n"), []).append(number)
            error = "malformed row: the fields do not match the header"
            rows += [(path, lines[t].pop(0) if lines[t] else None, error, t) for t in texts]
        if not rows:
            return super().malformed_rows_sql(view)
        schema = "source_file string, source_line bigint, error string, raw_record string"
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(f"{view}__malformed")
        return f"SELECT source_file, source_line, error, raw_record FROM {view}__malformed"

    def copy_to_file(
        self,
        select_sql: str,
        path: str | Path,
        file_format: str,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        """The result as Arrow, written locally as one file (Spark's own writers make a
        folder of parts where the cluster runs): Parquet, or unquoted delimited lines as
        DuckDB's COPY writes them with ``quote ''`` (NDJSON in one column, the FHIR export)."""
        import pyarrow.parquet as pq

        settings = {"header": True, "delimiter": ",", "quote": '"', **(options or {})}
        if file_format != "parquet" and (file_format, settings["quote"]) != ("csv", ""):
            raise ValueError(f"Spark exports Parquet or unquoted lines, not {file_format!r}.")
        table = self._sql(self._select(select_sql)).toArrow()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            if file_format == "parquet":
                pq.write_table(table, tmp, compression="zstd", row_group_size=122_880)
            else:
                with open(tmp, "w", encoding="utf-8") as handle:
                    header = [tuple(table.column_names)] if settings["header"] else []
                    for row in header + _rows(table):
                        line = settings["delimiter"].join("" if v is None else str(v) for v in row)
                        handle.write(line + "\n")
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return table.num_rows


def _reader_options(file_format: str, options: Mapping[str, Any], infer: bool) -> dict[str, Any]:
    """DuckDB reader options as Spark's: malformed rows fail the read (FAILFAST) as in
    DuckDB; CSV fields may hold newlines and doubled quotes (RFC 4180)."""
    allowed = _CSV_OPTIONS if file_format == "csv" else {"maximum_object_size": None}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"Reader option(s) {unknown} for {file_format} have no Spark equivalent.")
    if file_format != "csv":
        return {"mode": "FAILFAST"}
    infer = infer and not options.get("all_varchar")
    csv = {"header": False, "multiLine": True, "escape": '"', "inferSchema": infer}
    return csv | {"mode": "FAILFAST"} | {allowed[k]: v for k, v in options.items() if allowed[k]}


def _json_is_document(path: str | Path) -> bool:
    """Whether a JSON file is one document (an array, or an object over several lines)
    rather than NDJSON, whose every line is a whole object."""
    with open(path, "rb") as handle:
        head = handle.read(65_536).lstrip(b"\xef\xbb\xbf \t\r\n")
    first = head.split(b"\n", 1)[0].rstrip()
    return not (first.startswith(b"{") and first.endswith(b"}"))


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

    @classmethod
    def from_settings(cls, settings: SparkSettings, **overrides: Any) -> "SparkWarehouse":
        kwargs = {k: v for k, v in vars(settings).items() if k in cls.model_fields}
        if settings.databricks_auth == "token":
            kwargs["databricks_token"] = dg.EnvVar("DATABRICKS_TOKEN")
        elif settings.databricks_auth == "service_principal":
            kwargs["databricks_client_id"] = dg.EnvVar("DATABRICKS_CLIENT_ID")
            kwargs["databricks_client_secret"] = dg.EnvVar("DATABRICKS_CLIENT_SECRET")
        return cls(**{**kwargs, "schema_map": dict(settings.schema_map), **overrides})

    @property
    def engine(self) -> str:
        return "spark"

    @property
    def naming(self) -> SparkNaming:
        return SparkNaming(self.catalog, dict(self.schema_map), self.schema_prefix)

    def describe_target(self) -> str:
        """Where tables land; never includes a token or secret."""
        where = f"Spark Connect {self.spark_remote}"
        if self.mode == "databricks":
            compute = f"cluster {self.databricks_cluster_id}"
            compute = "serverless" if self.databricks_serverless else compute
            where = f"Databricks {self.databricks_host} {compute}"
        prefix = f", schema prefix {self.schema_prefix}" if self.schema_prefix else ""
        return f"{where}, catalog {self.catalog} ({self.table_format}{prefix})"

    # -- connections ---------------------------------------------------------------------------
    def _open_spark(self) -> Any:
        """Spark Connect, or Databricks Connect (which replaces pyspark where installed)."""
        if self.mode == "connect":
            from pyspark.sql import SparkSession

            return SparkSession.builder.remote(self.spark_remote).create()
        try:
            from databricks.connect import DatabricksSession  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RuntimeError("Databricks needs: pip install 'databricks-connect'") from exc
        builder = DatabricksSession.builder.sdkConfig(self._databricks_config())
        if self.databricks_serverless:
            return builder.serverless(True).getOrCreate()
        return builder.clusterId(self.databricks_cluster_id).getOrCreate()

    def _databricks_config(self) -> Any:
        from databricks.sdk.core import Config

        return Config(
            host=self.databricks_host,
            token=self.databricks_token,
            client_id=self.databricks_client_id,
            client_secret=self.databricks_client_secret,
        )

    def _stage_file(self) -> Any:
        """Databricks reads landing files from a Unity Catalog volume: each is uploaded."""
        if self.mode != "databricks" or not self.landing_volume:
            return str
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
            yield SparkWarehouseSession(spark, self.naming, self.table_format, self._stage_file())
        finally:
            spark.stop()


def build_spark_warehouse(environ: Mapping[str, str] | None = None) -> SparkWarehouse:
    """The Spark warehouse configured from the environment; raises naming missing variables."""
    return SparkWarehouse.from_settings(spark_settings_from_env(environ))
