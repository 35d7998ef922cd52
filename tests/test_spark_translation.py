"""Every SQL statement the project ships translates to Spark SQL, construct by construct.

The statements are collected without an engine: every ``.sql`` file of the domain packages
(its ``{{ rule(...) }}`` templates rendered),
every module-level constant whose name says SQL (strings, and strings inside dicts, tuples
and lists), the statements the SQL builders produce, and every string literal in the
packages that starts a SQL statement (f-string fields become a placeholder identifier).
Each is translated with the project's translator (:func:`resources.spark_sql.translate`).
A statement fails when sqlglot reports a construct it cannot write for Spark, or when the
Spark SQL calls a function that sqlglot does not model and that is not a Spark built-in
listed in :data:`SPARK_FUNCTIONS` (written by a rule, or spelled the same on both
engines): a DuckDB function passed through unchanged would fail on Spark only at run time.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from resources.spark_sql import SPARK_FUNCTIONS, SparkNaming, translate

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "directory_assets",
    "fhir_assets",
    "reference_assets",
    "schedules",
    "resources",
    "narr_platform",
)
#: Modules whose SQL is DuckDB-only by design (the file-level operations of the local
#: deployment) and never runs on Spark.
DUCKDB_ONLY_MODULES = {
    "schedules.backup",
    "schedules.health",
    "schedules.motherduck",
    "schedules.stats",
    "resources.warehouse",
    "resources.duckdb_io_manager",
    "narr_platform.summary",
    "narr_platform.column_catalog",  # reads the DuckDB file directly (a developer tool)
    "directory_assets.index",
    "fhir_assets.sample",  # sample files are written by DuckDB on the machine
    "directory_assets.sample",
    # the Spark side itself: its SQL is Spark's dialect already
    "resources.spark_sql",
    "resources.spark_warehouse",
    "resources.spark_io_manager",
}
_STATEMENT = re.compile(
    r"^\s*(?:--[^\n]*\n\s*)*(SELECT|WITH|INSERT|CREATE|UPDATE|DELETE|DROP|ALTER)\b"
)
#: Modules whose statements are assembled by functions: collected from the builders.
BUILDER_MODULES = {
    "directory_assets.staging_sql",
    "directory_assets.organizations_sql",
    "directory_assets.network_rounds",
    "reference_assets.counties",
}
NAMING = SparkNaming("spark_catalog", {"fhir": "fhir_resources"})


def _modules() -> Iterator[str]:
    for package in PACKAGES:
        yield package
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            yield info.name


def _constant_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _constant_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _constant_strings(item)


def _literal_text(node: ast.expr) -> str | None:
    """A string literal's text (in an f-string every field becomes ``narr_field``). A
    literal that does not parse is a fragment of a statement built elsewhere, not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            p.value if isinstance(p, ast.Constant) else "narr_field" for p in node.values
        )
    else:
        return None
    if not _STATEMENT.match(text):
        return None
    try:
        sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    return text


def _builder_statements() -> Iterator[tuple[str, str]]:
    """What the SQL-building modules produce for every source and round."""
    from directory_assets import network_rounds, organizations_sql, staging_sql
    from reference_assets.counties import counties_sql

    yield "reference counties", counties_sql()
    for source in staging_sql.SOURCES:
        arrays = staging_sql.arrays_sql(source)
        yield f"staging {source.name} arrays", arrays
        yield f"staging {source.name} counts", staging_sql.file_counts_sql("arrays_x")
        yield f"staging {source.name} parse", staging_sql.parse_sql(source, "arrays_x")
        yield f"staging {source.name} staged", staging_sql.staged_sql(source, "parsed_x")
        yield f"staging {source.name} rejected", staging_sql.rejected_sql(source, "parsed_x")
    yield "organizations", organizations_sql.organizations_sql()
    for index, sql in enumerate(network_rounds.statements()):
        yield f"network statement {index}", sql


def shipped_statements() -> list[tuple[str, str]]:
    """(where, SQL text) of every statement the project ships that can run on Spark."""
    from resources.normalize import render  # ``{{ rule(...) }}`` templates in .sql files

    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.sql")):
            text = render(path.read_text(encoding="utf-8"))
            found.setdefault(text, path.relative_to(ROOT).as_posix())
    for name in _modules():
        if name in DUCKDB_ONLY_MODULES or name in BUILDER_MODULES:
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if "SQL" in attribute and attribute.isupper():
                for text in _constant_strings(value):
                    text = re.sub(r"\{\w+\}", "narr_field", text)  # str.format templates
                    if _STATEMENT.match(text):
                        found.setdefault(text, f"{name}.{attribute}")
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            text = _literal_text(node) if isinstance(node, ast.expr) else None
            if text:
                found.setdefault(text, f"{name}:{node.lineno}")
    for where, text in _builder_statements():
        found.setdefault(text, where)
    return sorted(((where, text) for text, where in found.items()), key=lambda p: p[0])


STATEMENTS = shipped_statements()


def untranslated(spark_sql: str) -> list[str]:
    """Functions in Spark SQL that sqlglot does not model and no rule writes."""
    tree = sqlglot.parse_one(spark_sql, read="spark")
    return sorted(
        {
            f"{node.name}()"
            for node in tree.find_all(exp.Anonymous)
            if node.name.lower() not in SPARK_FUNCTIONS
        }
    )


def test_statements_are_collected():
    wheres = {where for where, _ in STATEMENTS}
    assert len(STATEMENTS) > 60
    assert "fhir_assets/sql/patient_to_fhir.sql" in wheres
    assert any(w.startswith("staging narr_residences") for w in wheres)
    assert any(w.startswith("fhir_assets.healthsim.scenarios.store:") for w in wheres)


@pytest.mark.parametrize(("where", "sql"), STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_statement_translates(where: str, sql: str):
    statements = translate(sql, NAMING, unsupported="raise")
    assert statements, f"{where}: nothing to run"
    problems = [name for statement in statements for name in untranslated(statement)]
    assert not problems, (
        f"{where}: {problems} pass through to Spark untranslated; write a portable spelling "
        "or add a rule to resources/spark_sql.py (and the function to SPARK_FUNCTIONS)."
    )


def test_a_duckdb_only_function_is_caught():
    [spark_sql] = translate("SELECT list_aggregate([2, 1], 'sum') AS x", NAMING)
    assert untranslated(spark_sql) == ["LIST_AGGREGATE()"]
    # sqlglot would drop the order silently; the rule refuses instead
    with pytest.raises(ValueError, match="list_sort"):
        translate("SELECT list(x ORDER BY x) FROM t", NAMING)
    # sqlglot drops regexp_replace's flags (Spark replaces every match) and keeps \\1
    with pytest.raises(ValueError, match="'g' flag"):
        translate("SELECT regexp_replace(s, 'a', 'b') FROM t", NAMING)
    with pytest.raises(ValueError, match="back-references"):
        translate("SELECT regexp_replace(s, '(a)', '\\1', 'g') FROM t", NAMING)
