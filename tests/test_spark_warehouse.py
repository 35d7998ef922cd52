"""The Spark warehouse seam on a real Spark Connect server, checked against DuckDB."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from narr_platform.spark_connect_server import SparkServerError, find_java_home
from resources import PlatformConfigError, build_resources, local_warehouse
from resources.spark_sql import SparkNaming, strftime_to_java, translate
from resources.spark_warehouse import SparkWarehouse, build_spark_warehouse

pytest_plugins = ["tests.support.spark_server"]


# -- configuration (no server) ------------------------------------------------------------------
def test_missing_connection_names_the_variables():
    with pytest.raises(PlatformConfigError) as error:
        build_resources({"PLATFORM_DEPLOYMENT": "databricks"})
    for name in ("SPARK_REMOTE", "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLUSTER_ID"):
        assert name in str(error.value)


def test_databricks_host_without_credentials_names_what_is_missing():
    with pytest.raises(PlatformConfigError) as error:
        build_spark_warehouse({"DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com"})
    message = str(error.value)
    assert "DATABRICKS_TOKEN" in message and "DATABRICKS_CLIENT_SECRET" in message
    assert "DATABRICKS_CLUSTER_ID" in message and "DATABRICKS_SERVERLESS" in message


def test_secrets_are_env_vars_never_values(monkeypatch):
    secret = "dapi-very-secret-token-123"
    monkeypatch.setenv("DATABRICKS_TOKEN", secret)
    env = {
        "PLATFORM_DEPLOYMENT": "databricks",
        "DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com",
        "DATABRICKS_TOKEN": secret,
        "DATABRICKS_CLUSTER_ID": "0101-abc",
    }
    resources = build_resources(env)
    warehouse = resources["warehouse"]
    assert isinstance(warehouse, SparkWarehouse)
    assert warehouse.catalog == "fhir_catalog" and warehouse.table_format == "delta"
    assert warehouse.databricks_token == dg.EnvVar("DATABRICKS_TOKEN")
    assert secret not in warehouse.describe_target()
    assert secret not in repr(resources)
    assert "cluster 0101-abc" in warehouse.describe_target()


def test_bad_values_fail_at_load():
    base = {"PLATFORM_DEPLOYMENT": "databricks", "SPARK_REMOTE": "sc://127.0.0.1:1"}
    with pytest.raises(PlatformConfigError, match="SPARK_TABLE_FORMAT"):
        build_resources({**base, "SPARK_TABLE_FORMAT": "orc"})
    with pytest.raises(PlatformConfigError, match="SPARK_SCHEMA_MAP"):
        build_resources({**base, "SPARK_SCHEMA_MAP": "fhir"})
    with pytest.raises(PlatformConfigError, match="SPARK_REMOTE"):
        build_resources({**base, "SPARK_REMOTE": "http://x"})


def test_missing_java_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SparkServerError, match="Java 17"):
        find_java_home()


def test_translation_names_and_formats():
    naming = SparkNaming("fhir_catalog", {"fhir": "fhir_resources"}, "dev_")
    [sql] = translate(
        "SELECT strftime(d, '%Y-%m-%dT%H:%M:%SZ') FROM fhir.patients JOIN landing_x USING (id)",
        naming,
    )
    assert "fhir_catalog.dev_fhir_resources.patients" in sql
    assert "JOIN landing_x" in sql
    assert strftime_to_java("%Y-%m-%dT%H:%M:%SZ") == "yyyy-MM-dd'T'HH:mm:ss'Z'"
    with pytest.raises(ValueError, match="%Q"):
        strftime_to_java("%Q")


# -- the real engine ------------------------------------------------------------------------------
SEMANTICS_SQL = """
SELECT
    strftime(DATE '2020-01-05', '%Y-%m-%dT%H:%M:%SZ') AS formatted,
    regexp_replace('a1b2', '[0-9]', '', 'g') AS every,
    1 / 0 AS div_zero,
    -1.5 / 0 AS div_zero_decimal,
    7 / 2 AS div,
    to_json(struct_pack(a := 1, b := NULL, c := [1, 2])) AS json_nulls,
    concat('a', NULL, 'b') AS concat_nulls,
    upper(trim('  ca ')) AS trimmed,
    lpad('6', 2, '0') AS padded
"""

AGGREGATE_SQL = """
SELECT list_sort(list(x) FILTER (WHERE x IS NOT NULL)) AS listed,
       string_agg(x, ';' ORDER BY x) AS joined,
       count(*) AS n, count(x) AS nx, sum(v) AS total
FROM (VALUES ('b', 1), ('a', 2), (NULL, 3)) AS t(x, v)
"""


WHOLE_ROW_SQL = """
SELECT CAST(to_json(struct_pack(id := t.id, name := t.name, score := t.score)) AS VARCHAR)
FROM (VALUES (1, 'a', NULL), (2, 'b', 3.5)) AS t(id, name, score)
ORDER BY id
"""


def test_sql_semantics_match_duckdb(spark_env):
    queries = (SEMANTICS_SQL, AGGREGATE_SQL, WHOLE_ROW_SQL)
    with local_warehouse().session() as duck:
        expected = [row for sql in queries for row in duck.fetch_rows(sql)]
    with build_spark_warehouse().session() as spark:
        actual = [row for sql in queries for row in spark.fetch_rows(sql)]
    assert actual == expected
    assert actual[-1] == ('{"id":2,"name":"b","score":3.5}',)
    assert actual[0][:4] == ("2020-01-05T00:00:00Z", "ab", math.inf, -math.inf)
    assert actual[0][5] == '{"a":1,"b":null,"c":[1,2]}'


LINES_SQL = "SELECT to_json(struct_pack(id := id, tags := tags))"
LINES = {"header": False, "quote": "", "delimiter": "\x01"}


def test_tables_views_files_and_atomic_replace(spark_env, tmp_path: Path):
    csv = tmp_path / "in.csv"
    csv.write_text('id,name\r\n1,"Smith, Ann"\r\n2,"multi\nline"\r\n3,\r\n')
    ndjson = tmp_path / "in.json"
    ndjson.write_text('{"id": 1, "tags": ["a"]}\n{"id": 2, "tags": null}\n')
    with build_spark_warehouse().session() as s:
        s.register_file_view(
            "landing_people",
            [csv],
            "csv",
            columns={"id": "INTEGER", "name": "VARCHAR"},
            options={"header": True},
        )
        summary = s.create_table_as("demo.people", "SELECT * FROM landing_people ORDER BY id")
        assert summary.row_count == 3
        assert dict(summary.columns) == {"id": "int", "name": "string", "source_file": "string"}
        assert s.fetch_rows("SELECT name, source_file FROM demo.people ORDER BY id") == [
            ("Smith, Ann", str(csv)),
            ("multi\nline", str(csv)),
            (None, str(csv)),
        ]
        # A failing SELECT leaves the committed table as it was.
        with pytest.raises(Exception):  # noqa: B017 - Spark's error class depends on the server
            s.create_table_as("demo.people", "SELECT CAST('x' AS INTEGER) AS id")
        assert s.row_count("demo.people") == 3
        s.create_table_as("demo.people", "SELECT id FROM demo.people WHERE id > 1")
        assert s.row_count("demo.people") == 2
        s.create_view_as("demo.people_view", "SELECT id * 10 AS id10 FROM demo.people")
        s.register_file_view(
            "landing_tags", [ndjson], "json", columns={"id": "BIGINT", "tags": "VARCHAR[]"}
        )
        s.create_table_as("demo.tags", "SELECT id, tags FROM landing_tags")
        assert s.fetch_rows("SELECT * FROM demo.tags ORDER BY id") == [(1, ["a"]), (2, None)]
        assert s.list_tables() == [
            ("demo.people", "table"),
            ("demo.people_view", "view"),
            ("demo.tags", "table"),
        ]
        assert s.table_exists("demo.people") and not s.table_exists("demo.nothing")
        # Exports: one local file per call; NDJSON lines (as the FHIR export writes them)
        # byte-identical to DuckDB's COPY.
        exported = tmp_path / "out.ndjson"
        assert (
            s.copy_to_file(f"{LINES_SQL} FROM demo.tags ORDER BY id", exported, "csv", LINES) == 2
        )
        parquet = tmp_path / "out.parquet"
        assert s.copy_to_file("SELECT * FROM demo.people", parquet, "parquet") == 2
        assert pd.read_parquet(parquet)["id"].tolist() == [2, 3]
    with local_warehouse().session() as duck:
        values = "(VALUES (1, ['a']), (2, NULL)) AS t(id, tags)"
        duck.copy_to_file(
            f"{LINES_SQL} FROM {values} ORDER BY id", tmp_path / "duck.ndjson", "csv", LINES
        )
    assert exported.read_text() == (tmp_path / "duck.ndjson").read_text()
    assert [json.loads(line)["id"] for line in exported.read_text().splitlines()] == [1, 2]


def test_malformed_csv_fails_instead_of_dropping_rows(spark_env, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,a\nnot-a-number,b\n")
    with build_spark_warehouse().session() as s:
        s.register_file_view(
            "landing_bad",
            [bad],
            "csv",
            columns={"id": "INTEGER", "name": "VARCHAR"},
            options={"header": True},
        )
        with pytest.raises(Exception, match=r"(?i)malformed|FAILFAST|not-a-number"):
            s.create_table_as("demo.bad", "SELECT * FROM landing_bad")
        with pytest.raises(ValueError, match="no Spark equivalent"):
            s.register_file_view("landing_bad", [bad], "csv", options={"skip_rows_weird": 1})


@dg.asset(key=["demo", "small_frame"])
def small_frame() -> pd.DataFrame:
    return pd.DataFrame({"code": ["a", "b"], "value": [1, 2]})


@dg.asset(key=["demo", "small_total"], ins={"frame": dg.AssetIn(key=["demo", "small_frame"])})
def small_total(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"total": [int(frame["value"].sum())]})


def test_pandas_io_manager_counterpart(spark_env):
    resources = build_resources()
    result = dg.materialize([small_frame, small_total], resources=resources)
    assert result.success
    with resources["warehouse"].session() as s:
        assert s.fetch_rows("SELECT total FROM demo.small_total") == [(3,)]
        assert s.columns("demo.small_frame") == (("code", "string"), ("value", "bigint"))


@dg.asset(key=["demo", "nothing_found"])
def nothing_found() -> pd.DataFrame:
    return pd.DataFrame(
        {"entity_id": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")}
    )


@dg.asset(key=["demo", "found_count"], ins={"frame": dg.AssetIn(key=["demo", "nothing_found"])})
def found_count(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"columns": [",".join(frame.columns)], "rows": [len(frame)]})


def test_an_empty_frame_goes_through_the_spark_io_manager(spark_env):
    """Spark cannot infer the types of no rows, so an empty frame (a capture that found no
    patient) needs its own path; downstream reads it back as an empty frame."""
    resources = build_resources()
    result = dg.materialize([nothing_found, found_count], resources=resources)
    assert result.success
    with resources["warehouse"].session() as s:
        assert s.columns("demo.nothing_found") == (("entity_id", "string"), ("n", "bigint"))
        assert s.fetch_rows("SELECT * FROM demo.found_count") == [("entity_id,n", 0)]


def test_duckdb_statement_kinds_are_mapped(spark_env):
    """Transactions, constraints, indexes, table rewrites and temp tables run on Parquet."""
    with build_spark_warehouse().session() as s:
        s.ensure_schema("demo")
        s.execute("BEGIN TRANSACTION")
        s.execute("CREATE TABLE demo.kv (k VARCHAR PRIMARY KEY, v INTEGER NOT NULL, UNIQUE (v))")
        s.execute("INSERT INTO demo.kv VALUES (?, ?), (?, ?), (?, ?)", ["a", 1, "b", 2, "c", 3])
        s.execute(
            "CREATE OR REPLACE TABLE demo.kv AS SELECT k, v + ? AS v FROM demo.kv WHERE k <> ?",
            [10, "b"],
        )
        s.execute("CREATE INDEX kv_by_v ON demo.kv (v)")
        s.execute("COMMIT")
        assert s.fetch_rows("SELECT k, v FROM demo.kv ORDER BY k") == [("a", 11), ("c", 13)]
        with pytest.raises(ValueError, match="CREATE TABLE"):
            s.execute("DELETE FROM demo.kv WHERE k = ?", ["a"])
        s.execute("CREATE OR REPLACE TEMP TABLE scratch AS SELECT k FROM demo.kv WHERE v > ?", [12])
        s.execute(
            "CREATE OR REPLACE TEMP TABLE scratch AS SELECT * FROM scratch UNION ALL SELECT 'z'"
        )
        assert s.fetch_rows("SELECT * FROM scratch ORDER BY k") == [("c",), ("z",)]
        s.execute("DROP TABLE scratch")
        assert not s.spark.catalog.tableExists("scratch")


JSON_DOCUMENT_SQL = """
WITH arrays AS (
    SELECT source_file, CASE WHEN json_type(json, '$.items') = 'ARRAY'
        THEN json_extract(json, '$.items[*]') END AS records
    FROM docs
), records AS (
    SELECT generate_subscripts(records, 1) AS position, unnest(records) AS rec FROM arrays
)
SELECT position, json_type(rec) AS kind, CAST(rec AS VARCHAR) AS raw,
       rec ->> '$.name' AS name, json_valid(CAST(rec AS VARCHAR)) AS valid,
       array_length(records) AS n
FROM records, arrays
"""


def test_json_documents_match_duckdb(spark_env, tmp_path: Path):
    doc = tmp_path / "doc.json"
    doc.write_text('{\n  "items": [{"name": "b", "a": [1, 2.5]}, "text", -3, 7, null, true]\n}\n')
    with local_warehouse().session() as duck:
        duck.register_file_view("docs", [doc], "json_document")
        expected = sorted(duck.fetch_rows(JSON_DOCUMENT_SQL), key=repr)
    with build_spark_warehouse().session() as spark:
        spark.register_file_view("docs", [doc], "json_document")
        actual = sorted(spark.fetch_rows(JSON_DOCUMENT_SQL), key=repr)
    assert actual == expected
    assert expected[0][:3] == (1, "OBJECT", '{"name":"b","a":[1,2.5]}')


def test_scenario_store_runs_on_spark(spark_env):
    """Save, re-tag (an existing tag again) and export a scenario: the same on both engines."""
    from fhir_assets.healthsim.scenarios.store import ScenarioStore

    entities = [("patient", f"00000000-0000-0000-0000-00000000000{i}", {"n": i}) for i in range(3)]

    def exercise(warehouse) -> tuple[list[str], list[dict]]:
        with warehouse.session() as session:
            store = ScenarioStore(session)
            store.save("demo", entities, "three patients", tags=["demo", "x"])
            tags = store.tag("demo", ["x", "readmission"])
            document = json.loads(store.export_json("demo"))
        return tags, document["entities"]

    duck = exercise(local_warehouse())
    spark = exercise(build_spark_warehouse())
    assert spark[0] == duck[0] == ["demo", "readmission", "x"]
    assert [e["entity_id"] for e in spark[1]] == [e["entity_id"] for e in duck[1]]
    assert [e["data"] for e in spark[1]] == [{"n": 0}, {"n": 1}, {"n": 2}]
