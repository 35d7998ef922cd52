"""DuckDB-dialect SQL as Spark SQL: sqlglot, plus rules for what sqlglot writes wrongly.

Every asset declares its SQL once, in DuckDB's dialect. :func:`translate` parses each
statement once (``read="duckdb"``), names tables ``catalog.schema.table``
(:class:`SparkNaming`), applies :func:`_rule` where sqlglot's Spark output is wrong and
writes Spark SQL. ``docs/spark.md`` lists each rule, and the portable spellings the
project's SQL uses instead of rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel
from sqlglot.generators.spark import SparkGenerator
from sqlglot.time import format_time

#: Spark built-ins sqlglot does not model: written by the rules below, or spelled the same
#: in DuckDB (``hash``, ``now``, ``zip_with``; ``hash`` values differ between the engines).
#: The translation test refuses any other unmodelled function in the output.
SPARK_FUNCTIONS = frozenset(
    re.findall(
        r"\w+",
        "hash now zip_with parse_json try_parse_json variant_get try_variant_get schema_of_variant"
        " monotonically_increasing_id inline weekday slice",
    )
)
_DIRECTIVE = re.compile(r"%-?[A-Za-z%]")


def strftime_to_java(fmt: str) -> str:
    """A strftime format as a Java pattern: each directive as sqlglot maps it for Spark,
    literal text quoted (sqlglot leaves ``T`` or ``Z`` bare, and Java reads them as letters)."""
    parts = []
    for piece in re.split(f"({_DIRECTIVE.pattern})", fmt):
        java = format_time(piece, Spark.INVERSE_TIME_MAPPING, Spark.INVERSE_TIME_TRIE) or ""
        if _DIRECTIVE.fullmatch(piece) and java == piece:
            raise ValueError(f"strftime directive {piece!r} in {fmt!r} has no Spark form.")
        literal = not _DIRECTIVE.fullmatch(piece) and re.search(r"[A-Za-z\[\]{}#']", piece)
        parts.append("'" + piece.replace("'", "''") + "'" if literal else java)
    return "".join(parts)


class _Generator(SparkGenerator):
    """Spark's generator, with strftime formats written by :func:`strftime_to_java`."""

    def format_time(self, expression, inverse_time_mapping=None, inverse_time_trie=None):  # type: ignore[override]
        fmt = expression.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            java = strftime_to_java(fmt.this)
            return "'" + java.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return super().format_time(expression, inverse_time_mapping, inverse_time_trie)


class NarrSpark(Spark):
    """The Spark dialect of the Spark warehouse (Spark 4 / Databricks Runtime)."""

    Generator = _Generator


@dataclasses.dataclass(frozen=True)
class SparkNaming:
    """Logical ``schema.table`` names <-> ``catalog.schema.table`` in Spark / Unity Catalog."""

    catalog: str
    schema_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    schema_prefix: str = ""

    def physical_schema(self, logical: str) -> str:
        return self.schema_prefix + self.schema_map.get(logical.lower(), logical.lower())

    def qualified_schema(self, logical: str) -> str:
        return f"{self.catalog}.{self.physical_schema(logical)}"

    def qualified(self, table: str) -> str:
        schema, _, name = table.rpartition(".")
        return f"{self.qualified_schema(schema)}.{name}" if schema else name

    def logical_schema(self, physical: str) -> str | None:
        """The logical schema of a physical one, or None if this naming does not own it."""
        if not physical.startswith(self.schema_prefix):
            return None
        bare = physical[len(self.schema_prefix) :]
        return next((k for k, v in self.schema_map.items() if v == bare), bare)


def _bottom_up(tree: exp.Expr, rule) -> exp.Expr:
    """``rule`` applied to every node, children first (sqlglot's transform skips the
    children of a node it replaced, so nested rewrites would be lost)."""
    for node in reversed(list(tree.walk(bfs=False))):
        new = rule(node)
        if new is not node:
            tree = new if node is tree else tree
            node.replace(new)
    return tree


def _spark(template: str, **values: exp.Expr) -> exp.Expr:
    """A Spark SQL snippet whose bare columns named in ``values`` are replaced by them."""

    def fill(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return values[node.name].copy()
        if isinstance(node, exp.ParseJSON):  # keep Spark's parse_json (text -> VARIANT)
            return exp.Anonymous(this="parse_json", expressions=[node.this])
        return node

    return _bottom_up(sqlglot.parse_one(template, read="spark"), fill)


def _path(path: exp.Expr) -> exp.Expr:
    """A DuckDB JSON path (a literal or sqlglot's parsed form) as a Spark ``'$.a[0]'``."""
    if not isinstance(path, exp.Literal | exp.JSONPath):
        raise ValueError("JSON paths must be literals to run on Spark.")
    return sqlglot.parse_one(path.sql(dialect="spark"), read="spark")


# JSON values are JSON text (STRING) on Spark; these read them through VARIANT.
_JSON_TYPE = """CASE WHEN j IS NULL THEN NULL ELSE element_at(map(
    'OBJECT', 'OBJECT', 'ARRAY', 'ARRAY', 'STRING', 'VARCHAR', 'BOOLEAN', 'BOOLEAN', 'VOID', 'NULL',
    'DECIMAL', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'FLOAT', 'DOUBLE',
    'BIGINT', IF(ltrim(j) LIKE '-%', 'BIGINT', 'UBIGINT'), 'INT', IF(ltrim(j) LIKE '-%', 'BIGINT', 'UBIGINT'),
    'SMALLINT', IF(ltrim(j) LIKE '-%', 'BIGINT', 'UBIGINT'), 'TINYINT', IF(ltrim(j) LIKE '-%', 'BIGINT', 'UBIGINT')),
    regexp_extract(schema_of_variant(parse_json(j)), '^[A-Z]+', 0)) END"""
# json_type(doc, path) without parsing a whole (possibly huge) document into one VARIANT.
_JSON_TYPE_AT = """CASE WHEN ltrim(get_json_object(d, p)) LIKE '[%' THEN 'ARRAY'
    WHEN ltrim(get_json_object(d, p)) LIKE '{%' THEN 'OBJECT'
    WHEN get_json_object(d, p) IS NULL THEN NULL ELSE _type_ END"""
_JSON_TYPE_AT = _JSON_TYPE_AT.replace(
    "_type_", re.sub(r"\bj\b", "to_json(variant_get(parse_json(d), p))", _JSON_TYPE)
)
# A JSON array's elements as JSON texts: containers keep their raw text (key order), scalars
# are re-serialized (strings quoted).
_JSON_ARRAY = """zip_with(from_json(j, 'array<string>'), from_json(j, 'array<variant>'),
    (raw, v) -> CASE WHEN schema_of_variant(v) LIKE 'OBJECT%' OR schema_of_variant(v) LIKE 'ARRAY%'
                     THEN raw ELSE to_json(v) END)"""
# json_extract(doc, path) as JSON text, by the same rule.
_JSON_VALUE = """CASE WHEN schema_of_variant(variant_get(parse_json(d), p)) LIKE 'OBJECT%'
    OR schema_of_variant(variant_get(parse_json(d), p)) LIKE 'ARRAY%'
    THEN get_json_object(d, p) ELSE to_json(variant_get(parse_json(d), p)) END"""
_FROM_JSON = {'["VARCHAR"]': "array<string>", '["BIGINT"]': "array<bigint>"}
_FROM_JSON |= {'["DOUBLE"]': "array<double>", '"VARCHAR"': "string"}
#: DuckDB types sqlglot writes under names Spark lacks.
_TYPES = {"JSON": "STRING", "TIMESTAMPTZ": "TIMESTAMP_LTZ"}
_RANKS = exp.RowNumber | exp.Rank | exp.DenseRank
#: DuckDB functions sqlglot passes through unchanged, as Spark SQL of their argument ``v``
#: (Spark's to_json takes containers: json_quote is a one-item array's JSON, cut).
_FUNCTIONS = {
    "json_quote": "CASE WHEN v IS NOT NULL THEN substr(to_json(array(v)), 2, length(to_json(array(v))) - 2) END",
    "json_valid": "CASE WHEN v IS NOT NULL THEN try_parse_json(v) IS NOT NULL END",
}


def _rule(node: exp.Expr) -> exp.Expr:
    """One node, rewritten where sqlglot's Spark output differs from DuckDB's meaning."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in _FUNCTIONS:
        return _spark(_FUNCTIONS[node.name.lower()], v=node.expressions[0])
    if isinstance(node, exp.JSONType):
        if node.expression is None:
            return _spark(_JSON_TYPE, j=node.this)
        return _spark(_JSON_TYPE_AT, d=node.this, p=_path(node.expression))
    if isinstance(node, exp.JSONExtractScalar):  # ->> : the value as text; a list of paths
        paths = node.expression  # (json_extract_string(doc, ['$.a', '$.b'])) gives a list
        values = [
            _spark("variant_get(parse_json(j), p, 'string')", j=node.this, p=_path(p))
            for p in (paths.expressions if isinstance(paths, exp.Array) else [paths])
        ]
        return exp.Array(expressions=values) if isinstance(paths, exp.Array) else values[0]
    if isinstance(node, exp.JSONExtract):
        paths = node.expression
        if isinstance(paths, exp.JSONPath) and _path(paths).name.endswith("[*]"):
            array = exp.func(
                "get_json_object", node.this, exp.Literal.string(_path(paths).name[:-3])
            )
            return _spark(_JSON_ARRAY, j=array)  # '$.key[*]': the elements as JSON texts
        values = [
            _spark(_JSON_VALUE, d=node.this, p=_path(p))
            for p in (paths.expressions if isinstance(paths, exp.Array) else [paths])
        ]
        return exp.Array(expressions=values) if isinstance(paths, exp.Array) else values[0]
    if isinstance(node, exp.FromJson):  # NULL for a value of another shape, as DuckDB
        target = _FROM_JSON.get(node.expression.name)
        if target is None:
            raise ValueError(f"from_json structure {node.expression.sql()} has no Spark form.")
        return _spark(f"try_variant_get(parse_json(j), '$', '{target}')", j=node.this)
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        return node.this  # JSON is text on Spark
    if isinstance(node, exp.Cast) and node.to.is_type("array<json>"):
        return _spark(_JSON_ARRAY, j=node.this)
    if isinstance(node, exp.RegexpReplace) and node.args.get("modifiers") != exp.Literal.string(
        "g"
    ):
        # sqlglot drops the flags: Spark replaces every match, DuckDB the first unless 'g'.
        raise ValueError("regexp_replace replaces every match on Spark: write its 'g' flag.")
    if isinstance(node, exp.RegexpReplace) and "\\" in node.args["replacement"].name:
        raise ValueError("regexp_replace back-references differ (DuckDB \\1, Java $1).")
    if isinstance(node, exp.Div) and not node.args.get("typed"):
        # DuckDB divides as DOUBLE and x / 0 is +-inf or NaN; Spark raises (ANSI) on zero.
        a, b = exp.cast(node.this, "DOUBLE"), node.expression
        div = exp.Div(this=a, expression=b, typed=True)
        if isinstance(b, exp.Literal) and not b.is_string and float(b.this):
            return div
        return _spark(
            "CASE WHEN b = 0 THEN a * CAST('Infinity' AS DOUBLE) ELSE q END", a=a, b=b, q=div
        )
    if isinstance(node, exp.ArgMin | exp.ArgMax) and node.args.get("count") is not None:
        # min_by(x, key, n): sqlglot drops n. The n values of smallest keys, in key order.
        pairs = _spark(
            "array_sort(collect_list(struct(k AS k, v AS v)))", k=node.expression, v=node.this
        )
        pairs = exp.func("reverse", pairs) if isinstance(node, exp.ArgMax) else pairs
        top = exp.Anonymous(
            this="slice", expressions=[pairs, exp.Literal.number(1), node.args["count"]]
        )
        return _spark("transform(t, s -> s.v)", t=top)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        raise ValueError("list(x ORDER BY ...) loses its order in sqlglot; use list_sort(list(x)).")
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, _RANKS)
        and not isinstance(node.parent, exp.Cast)
    ):
        if not node.args.get("order") and not node.args.get("alias"):  # DuckDB: scan order
            node, order = node.copy(), exp.Ordered(this=exp.func("monotonically_increasing_id"))
            node.set("order", exp.Order(expressions=[order]))
        return exp.cast(node, "BIGINT")  # DuckDB's ranks are BIGINT, Spark's INT
    if isinstance(node, exp.DayOfWeekIso):  # sqlglot: (dayofweek(d) % 7) + 1, Sunday = 2
        return _spark("weekday(d) + 1", d=node.this)
    if isinstance(node, exp.DataType) and node.this.name in _TYPES:
        if node.this.name == "JSON" and node.find_ancestor(exp.Cast):
            return node  # the casts above read JSON text
        return exp.DataType.build(_TYPES[node.this.name])
    if isinstance(node, exp.Select):
        return _subscripts(node)
    return node


def _subscripts(select: exp.Select) -> exp.Select:
    """``generate_subscripts(x, 1) AS i, unnest(x) AS e``: Spark allows one generator per
    SELECT, so the pair becomes one ``inline`` of (position, element) structs, in order."""
    items = select.expressions
    for i, item in enumerate(items):
        call = item.unalias()
        cast_to = call.to.sql(dialect="spark") if isinstance(call, exp.Cast) else "BIGINT"
        call = call.this if isinstance(call, exp.Cast) else call
        if not (isinstance(call, exp.Anonymous) and call.name.lower() == "generate_subscripts"):
            continue
        array = call.expressions[0]
        unnests = [j for j, p in enumerate(items) if p.unalias() == exp.Explode(this=array)]
        if not unnests:
            raise ValueError("generate_subscripts() needs unnest() of the same list beside it.")
        j = unnests[0]
        position = f"CAST(i + 1 AS {cast_to}) AS {item.alias_or_name}"
        element = f"e AS {items[j].alias_or_name}"
        fields = f"{position}, {element}" if i < j else f"{element}, {position}"
        inline = _spark(f"inline(transform(a, (e, i) -> struct({fields})))", a=array)
        rest = [p for k, p in enumerate(items) if k not in (i, j)]
        select.set("expressions", [*rest[: min(i, j)], inline, *rest[min(i, j) :]])
        return select
    return select


def parse(sql: str) -> list[exp.Expr]:
    """DuckDB SQL (one or more statements) as sqlglot trees."""
    return [tree for tree in sqlglot.parse(sql, read="duckdb") if tree is not None]


def to_spark(tree: exp.Expr, naming: SparkNaming | None = None, unsupported: str = "warn") -> str:
    """One parsed DuckDB statement as Spark SQL (``unsupported="raise"`` for the tests)."""
    tree = tree.copy()
    if naming is not None:
        for table in tree.find_all(exp.Table):
            db = table.args.get("db")
            if isinstance(db, exp.Identifier) and db.name and not table.args.get("catalog"):
                table.set("catalog", exp.to_identifier(naming.catalog))
                table.set("db", exp.to_identifier(naming.physical_schema(db.name)))
    tree = _bottom_up(tree, _rule)
    level = ErrorLevel.RAISE if unsupported == "raise" else ErrorLevel.WARN
    return tree.sql(dialect=NarrSpark, unsupported_level=level)


def translate(sql: str, naming: SparkNaming | None = None, unsupported: str = "warn") -> list[str]:
    """DuckDB SQL (one or more statements) as Spark SQL statements."""
    return [to_spark(tree, naming, unsupported) for tree in parse(sql)]


def spark_type(duckdb_type: str) -> str:
    """A DuckDB type name (``VARCHAR``, ``DECIMAL(9,2)``, ``VARCHAR[]``) as Spark DDL."""
    return to_spark(exp.DataType.build(duckdb_type, dialect="duckdb"))
