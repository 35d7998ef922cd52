"""DuckDB vs Spark parity: the same assets on the same small sample in both deployments.

The asset groups are materialized once per module on the local deployment (DuckDB file)
and once on the Databricks deployment (a real Spark Connect server, Parquet tables); then
for every table the schemas must agree modulo the documented type mappings
(:data:`TYPE_EQUIVALENCES`, docs/spark.md), the rows must be identical
(order aside), FHIR JSON byte-identical, and every asset check must have the same outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from resources.spark_sql import spark_type
from tests.support import generate_sample, isolate_platform_env, load_definitions

pytest_plugins = ["tests.support.spark_server"]
# Both materializations happen in the module fixture, counted in the first test's time:
# about 3-5 minutes on a quiet 2-core machine, much more when the machine is shared.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.long_setup]

PARITY_GROUPS = ("reference", "fhir", "fhir_clinical", "healthsim", "analytics", "directory")
#: The schemas those groups write (the clinical FHIR resources live in fhir, imports in fhir_in).
PARITY_SCHEMAS = ("reference", "fhir", "fhir_in", "healthsim", "analytics", "directory")
#: Assets that cannot run on Spark today, with the construct that stops them.
NOT_PORTABLE: dict[str, str] = {}
SAMPLE = {"scale": 0.05, "patients": 200, "healthsim_patients": 20}

#: Columns that record when a step ran (wall clock): compared as "set", not by value.
WALL_CLOCK_COLUMNS: dict[str, frozenset[str]] = {
    "healthsim.schema_version": frozenset({"applied_at"}),
}

#: (DuckDB type as Spark DDL, Spark type) pairs that hold the same values.
TYPE_EQUIVALENCES: set[tuple[str, str]] = set()


@dataclasses.dataclass
class EngineRun:
    engine: str
    failed_steps: list[str]
    materialized: set[str]
    checks: dict[str, bool]
    columns: dict[str, tuple[tuple[str, str], ...]]
    rows: dict[str, list[tuple[Any, ...]]]


def _normal(value: Any) -> Any:
    """Values compared across engines: floats to 10 significant digits, structs as dicts."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return float(f"{value:.10g}")
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _materialize_all(engine: str) -> EngineRun:
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.groups(*PARITY_GROUPS) - dg.AssetSelection.assets(
        *[dg.AssetKey(k.split("/")) for k in NOT_PORTABLE]
    )
    keys = selection.resolve(graph)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=list(keys),
        raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
    )
    failed = [e.step_key or "" for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    materialized = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
    }
    checks = {
        f"{c.asset_key.to_user_string()}:{c.check_name}": c.passed
        for c in result.get_asset_check_evaluations()
    }
    columns: dict[str, tuple[tuple[str, str], ...]] = {}
    rows: dict[str, list[tuple[Any, ...]]] = {}
    warehouse = defs.resources["warehouse"] if hasattr(defs, "resources") else None
    assert warehouse is not None
    with warehouse.session() as session:
        for table, _kind in session.list_tables():
            if table.split(".", 1)[0] not in PARITY_SCHEMAS:
                continue
            columns[table] = session.columns(table)
            clock = WALL_CLOCK_COLUMNS.get(table, frozenset())
            select = ", ".join(
                f"{name} IS NOT NULL AS {name}" if name in clock else name
                for name, _ in columns[table]
            )
            fetched = session.fetch_rows(f"SELECT {select} FROM {table}")
            rows[table] = sorted((tuple(_normal(v) for v in r) for r in fetched), key=repr)
    return EngineRun(engine, failed, materialized, checks, columns, rows)


@pytest.fixture(scope="module")
def parity_runs(
    tmp_path_factory: pytest.TempPathFactory, spark_connect_server
) -> Iterator[tuple[EngineRun, EngineRun]]:
    base: Path = tmp_path_factory.mktemp("parity")
    landing = base / "landing"
    generate_sample(landing, **SAMPLE)
    with pytest.MonkeyPatch.context() as patch:
        isolate_platform_env(patch, base)
        duck = _materialize_all("duckdb")
        patch.setenv("PLATFORM_DEPLOYMENT", "databricks")
        patch.setenv("SPARK_REMOTE", spark_connect_server.url)
        patch.setenv("SPARK_SCHEMA_PREFIX", "parity_")
        spark = _materialize_all("spark")
    yield duck, spark


def _spark_equivalent(duckdb_type: str) -> str:
    return spark_type(duckdb_type).lower().replace(" ", "")


def test_every_asset_materializes_on_both_engines(parity_runs):
    duck, spark = parity_runs
    assert duck.failed_steps == [], "DuckDB run failed; fix that domain first"
    assert spark.failed_steps == []
    assert spark.materialized == duck.materialized
    assert len(duck.materialized) >= 10


def test_same_tables(parity_runs):
    duck, spark = parity_runs
    assert sorted(spark.columns) == sorted(duck.columns)


def test_same_asset_check_outcomes(parity_runs):
    duck, spark = parity_runs
    assert duck.checks, "no asset checks ran"
    assert spark.checks == duck.checks


@pytest.mark.parametrize("schema", PARITY_SCHEMAS)
def test_same_schemas_and_rows(parity_runs, schema: str):
    duck, spark = parity_runs
    tables = sorted(t for t in duck.columns if t.startswith(f"{schema}."))
    assert tables, f"no {schema} tables were built"
    problems: list[str] = []
    for table in tables:
        if table not in spark.columns:
            problems.append(f"{table}: missing on Spark")
            continue
        expected = [(n, _spark_equivalent(t)) for n, t in duck.columns[table]]
        actual = [(n, t.replace(" ", "")) for n, t in spark.columns[table]]
        mismatched = [
            f"{e[0]}: duckdb {e[1]} vs spark {a[1]}"
            for e, a in zip(expected, actual, strict=False)
            if e != a and (e[1], a[1]) not in TYPE_EQUIVALENCES
        ]
        if [n for n, _ in expected] != [n for n, _ in actual]:
            problems.append(
                f"{table}: columns {[n for n, _ in expected]} vs {[n for n, _ in actual]}"
            )
        elif mismatched:
            problems.append(f"{table}: types {mismatched}")
        if duck.rows[table] != spark.rows[table]:
            only_duck = [r for r in duck.rows[table] if r not in spark.rows[table]][:2]
            only_spark = [r for r in spark.rows[table] if r not in duck.rows[table]][:2]
            problems.append(
                f"{table}: {len(duck.rows[table])} vs {len(spark.rows[table])} rows; "
                f"only DuckDB {only_duck}; only Spark {only_spark}"
            )
    assert not problems, "\n".join(problems)


def test_fhir_json_is_byte_identical(parity_runs):
    duck, spark = parity_runs
    json_tables = [
        t
        for t, cols in duck.columns.items()
        if t.startswith(("fhir.", "healthsim."))
        and any(n in ("resource", "resource_json") for n, _ in cols)
    ]
    assert json_tables, "no FHIR resource table was built"
    for table in json_tables:
        names = [n for n, _ in duck.columns[table]]
        index = names.index("resource" if "resource" in names else "resource_json")
        duck_json = sorted(str(r[index]) for r in duck.rows[table])
        spark_json = sorted(str(r[index]) for r in spark.rows[table])
        assert duck_json and duck_json == spark_json, table


# ---- write-audit-publish: a failed audit changes no published table, on either engine --------
def _wap_rows(*rows: tuple[int, str, str]) -> str:
    return " UNION ALL ".join(
        f"SELECT {k} AS k, '{v}' AS v, '{f}' AS source_file" for k, v, f in rows
    )


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_failed_audit_publishes_nothing_on_either_engine(engine, request):
    from resources import local_warehouse
    from resources.publish import AuditFailed, key_audit, row_count_drop_audit, staged_name
    from resources.spark_warehouse import build_spark_warehouse

    if engine == "spark":
        request.getfixturevalue("spark_env")
        warehouse = build_spark_warehouse()
    else:
        warehouse = local_warehouse()
    table, audits = "wap.kv", [key_audit(["k"]), row_count_drop_audit()]
    # Order-independent content hash, computed in SQL (portable: hash() exists in both).
    content = f"SELECT count(*), sum(hash(k, v, source_file)) FROM {table}"
    with warehouse.session() as session:
        session.publish(table, _wap_rows((1, "a", "f1.csv"), (2, "b", "f1.csv")), audits)
        before = session.fetch_rows(content)[0]
        with pytest.raises(AuditFailed) as failed:
            session.publish(
                table,
                _wap_rows((1, "a", "f1.csv"), (2, "b", "f1.csv"), (1, "z", "f2.csv")),
                audits,
            )
        assert "key_unique" in str(failed.value) and "f2.csv" in str(failed.value)
        assert session.fetch_rows(content)[0] == before
        assert session.list_staged_tables() == [staged_name(table)]
        assert session.row_count(staged_name(table)) == 3
        assert staged_name(table) not in [name for name, _ in session.list_tables()]
        with pytest.raises(AuditFailed, match="row_count_drop"):
            session.publish(table, _wap_rows((9, "x", "f3.csv")), audits)
        assert session.fetch_rows(content)[0] == before
        published = session.publish(
            table, _wap_rows((1, "a", "f1.csv"), (2, "b", "f1.csv"), (3, "c", "f2.csv")), audits
        )
        assert published.summary.row_count == 3
        assert all(r.passed for r in published.check_results)
        assert session.list_staged_tables() == []


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_fhir_patient_rules_count_the_same_on_both_engines(engine, request):
    """The one-scan FHIR Patient rules on each engine, NaN and Infinity included."""
    from fhir_assets.audits import rule_counts
    from resources import local_warehouse
    from resources.spark_warehouse import build_spark_warehouse

    if engine == "spark":
        request.getfixturevalue("spark_env")
        warehouse = build_spark_warehouse()
    else:
        warehouse = local_warehouse()
    rows = [
        ("'P1'", "'female'", "'1950-01-02'", "NULL", "'42.5'", "'-71.1'"),
        ("'P_2'", "'female'", "'1950-01-02'", "NULL", "NULL", "NULL"),  # not a FHIR id
        ("NULL", "'male'", "NULL", "NULL", "NULL", "NULL"),  # no id
        ("'P3'", "'F'", "'1950-01-02'", "NULL", "NULL", "NULL"),  # outside the value set
        ("'P4'", "'female'", "'1950-01-02'", "'9999-12-31'", "'NaN'", "'0'"),  # NaN
        ("'P5'", "'female'", "'1950-01-02'", "NULL", "'1'", "'-Infinity'"),  # -Infinity
        ("'P6'", "'other'", "'1950-01-02'", "NULL", "'91'", "'0'"),  # out of range
    ]
    select = " UNION ALL ".join(
        f"SELECT {i} AS id, {g} AS gender, CAST({b} AS DATE) AS birth_date, "
        f"CAST({d} AS DATE) AS deceased_date, CAST({lat} AS DOUBLE) AS latitude, "
        f"CAST({lon} AS DOUBLE) AS longitude"
        for i, g, b, d, lat, lon in rows
    )
    with warehouse.session() as session:
        session.create_table_as("wap.fhir_rules", select)
        counts = rule_counts(session, "wap.fhir_rules")
    assert counts == {
        "invalid_ids": 2,
        "outside_value_set": 1,
        "bad_dates": 0,
        "bad_coordinates": 3,
    }
