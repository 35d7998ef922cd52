"""The star schema's one declaration (fhir_assets/healthsim/star/schema.py) agrees with its SQL
and is what the assets and checks use: no second list of relationships to drift."""

import dagster as dg
import pytest
import sqlglot
from sqlglot import exp

from fhir_assets.healthsim.star import assets, checks
from fhir_assets.healthsim.star.schema import DIMENSION_KEYS, STAR_TABLES, StarTable
from resources.sql_files import load_sql


def _parse(table: StarTable) -> exp.Expression:
    return sqlglot.parse_one(load_sql(assets.STAR_SQL_PACKAGE, table.name), read="duckdb")


def _qualified_tables(tree: exp.Expression) -> set[str]:
    return {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db}


def _output_columns(tree: exp.Expression) -> set[str]:
    while isinstance(tree, exp.SetOperation):  # the first branch names the columns
        tree = tree.left
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    return {e.alias_or_name for e in select.expressions}


@pytest.mark.parametrize("table", STAR_TABLES, ids=lambda t: t.name)
def test_sql_reads_only_declared_tables(table):
    declared = set(table.reads) | {f"analytics.{dim}" for dim in table.references.values()}
    undeclared = _qualified_tables(_parse(table)) - declared
    assert not undeclared, f"{table.name}.sql reads {sorted(undeclared)}; declare them in schema.py"


@pytest.mark.parametrize("table", STAR_TABLES, ids=lambda t: t.name)
def test_sql_produces_every_declared_key(table):
    columns = _output_columns(_parse(table))
    expected = set(table.references)
    if table.name in DIMENSION_KEYS:
        expected.add(DIMENSION_KEYS[table.name])
    assert expected <= columns, f"{table.name}.sql lacks {sorted(expected - columns)}"


def test_every_dimension_and_fact_is_declared_once():
    names = [t.name for t in STAR_TABLES]
    assert len(names) == len(set(names))
    assert set(DIMENSION_KEYS) == {n for n in names if n.startswith("dim_")}
    referenced = {dim for t in STAR_TABLES for dim in t.references.values()}
    assert referenced <= set(DIMENSION_KEYS)


def test_assets_and_checks_derive_from_the_declaration():
    by_key = {a.key: a for a in assets.STAR_ASSETS}
    for table in STAR_TABLES:
        asset = by_key[table.key]
        deps = {d.asset_key for d in next(iter(asset.specs)).deps}
        assert deps == set(table.deps)
        # a fact depends on every dimension its keys point to (the FK check reads them)
        assert {dg.AssetKey(["analytics", d]) for d in table.references.values()} <= deps
    facts = [t for t in STAR_TABLES if t.is_fact]
    assert {
        t.name: {c: f"{d}.{DIMENSION_KEYS[d]}" for c, d in t.references.items()} for t in facts
    } == checks.FACT_FOREIGN_KEYS
    assert set(checks.FACT_SOURCES) == {t.name for t in facts}
