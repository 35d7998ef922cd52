"""Which statements `POST /api/v1/query` runs: one read-only SELECT over the published tables.

Two parsers must agree before anything runs. sqlglot (the project's SQL toolkit) parses the
text in DuckDB's dialect and the AST is checked: exactly one statement, a query (SELECT,
UNION, ...) at the root and no DDL, DML or command node anywhere, only tables of the
published ``directory`` schema (or the query's own CTEs), no table function but
``range``/``generate_series``/``unnest``, and no function that reads files or URLs, runs
SQL text or reads the environment. Then DuckDB's own parser must see exactly one SELECT
statement (so a parser difference cannot smuggle a second statement). Defense in depth
beyond this module: the snapshot database is opened read-only, with external access
disabled and the configuration locked (``directory_assets.snapshot.open_database``).
"""

from __future__ import annotations

import logging
import re

import duckdb
import sqlglot
from sqlglot import exp

from directory_assets.snapshot import PUBLISHED_SCHEMA, TABLES

#: AST node -> why it is refused.
_REFUSED_NODES: tuple[tuple[type[exp.Expression], str], ...] = (
    (exp.Insert, "DML (INSERT) is not allowed"),
    (exp.Update, "DML (UPDATE) is not allowed"),
    (exp.Delete, "DML (DELETE) is not allowed"),
    (exp.Merge, "DML (MERGE) is not allowed"),
    (exp.Create, "DDL (CREATE) is not allowed"),
    (exp.Drop, "DDL (DROP) is not allowed"),
    (exp.Alter, "DDL (ALTER) is not allowed"),
    (exp.TruncateTable, "DDL (TRUNCATE) is not allowed"),
    (exp.Copy, "COPY is not allowed"),
    (exp.Attach, "ATTACH is not allowed"),
    (exp.Detach, "DETACH is not allowed"),
    (exp.Pragma, "PRAGMA is not allowed"),
    (exp.Install, "INSTALL is not allowed"),
    (exp.Set, "SET is not allowed"),
    (exp.Use, "USE is not allowed"),
    (exp.Describe, "DESCRIBE is not allowed; query the published tables"),
    (exp.Summarize, "SUMMARIZE is not allowed; query the published tables"),
    (exp.Into, "SELECT ... INTO is not allowed"),
    (exp.Command, "this statement is not allowed"),
)
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
#: Functions that read files or URLs, run SQL text, inspect settings or the environment.
_REFUSED_FUNCTION = re.compile(
    r"^(read_\w*|\w*_scan|parquet_\w+|iceberg_\w+|delta_\w+|sniff_csv|glob|query|query_table"
    r"|getenv|current_setting|duckdb_\w+|pragma_\w+|sqlite_\w+|postgres_\w+|mysql_\w+"
    r"|load_\w*|install_\w*|http\w*|s3_\w*|httpfs_\w*)$"
)
PUBLISHED = frozenset(TABLES)

logging.getLogger("sqlglot").setLevel(logging.ERROR)


class RefusedQuery(ValueError):
    """The statement is not one read-only SELECT over the published tables; says why."""


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def check(sql: str) -> str:
    """The statement to run (``sql`` stripped), or RefusedQuery with the reason."""
    text = sql.strip()
    if not text:
        raise RefusedQuery("The query is empty.")
    try:
        parsed_statements = sqlglot.parse(text, read="duckdb")
        # A trailing comment after the last semicolon parses as an empty statement.
        statements = [
            s for s in parsed_statements if s is not None and not isinstance(s, exp.Semicolon)
        ]
    except sqlglot.errors.SqlglotError as exc:
        raise RefusedQuery(f"The query does not parse: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise RefusedQuery(f"Send exactly one statement (found {len(statements)}).")
    root = statements[0]
    for node in root.walk():
        for kind, reason in _REFUSED_NODES:
            if isinstance(node, kind):
                keyword = f" ({node.this})" if isinstance(node, exp.Command) else ""
                raise RefusedQuery(f"{reason}{keyword}: only one read-only SELECT is accepted.")
    if not isinstance(root, exp.Query):
        raise RefusedQuery(f"Only SELECT queries are accepted (got {type(root).__name__.upper()}).")
    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    for table in root.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            name = _function_name(table.this)
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise RefusedQuery(
                    f"Table function {name}() is not allowed; query the published tables "
                    f"({PUBLISHED_SCHEMA}.<table>)."
                )
            continue
        name, schema, catalog = table.name.lower(), table.db.lower(), table.catalog.lower()
        if not schema and not catalog and name in ctes:
            continue
        if catalog or schema != PUBLISHED_SCHEMA or name not in PUBLISHED:
            shown = ".".join(p for p in (catalog, schema, name) if p)
            raise RefusedQuery(
                f"Table {shown!r} is not published; use {PUBLISHED_SCHEMA}.<table> with one "
                f"of: {', '.join(TABLES)}."
            )
    for func in root.find_all(exp.Func):
        name = _function_name(func)
        if _REFUSED_FUNCTION.match(name):
            raise RefusedQuery(f"Function {name}() reads files, URLs, settings or runs SQL text.")
    try:
        parsed = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise RefusedQuery(f"The query does not parse: {str(exc).splitlines()[0]}") from exc
    if len(parsed) != 1 or parsed[0].type != duckdb.StatementType.SELECT:
        raise RefusedQuery("DuckDB does not read this as exactly one SELECT statement.")
    return text
