"""DuckDB-dialect SQL to Spark SQL: sqlglot plus the few rewrites Spark needs.

Every asset declares its SQL once, in DuckDB's dialect. The Spark warehouse runs it through
:func:`translate`, which

- parses it with sqlglot (``read="duckdb"``) and writes Spark SQL;
- maps the logical ``schema.table`` names to ``catalog.schema.table`` (:class:`SparkNaming`);
- fixes what sqlglot's generic output gets wrong for DuckDB semantics:

  ========================================  =================================================
  DuckDB                                    Spark
  ========================================  =================================================
  ``try_strptime(s, fmt)``                  ``try_to_timestamp(s, <java fmt>)``
  ``strptime`` / ``strftime`` formats       Java patterns with literal text quoted (``'T'``)
  ``regexp_replace(s, p, r)`` (first only)  ``regexp_replace`` on ``^(.*?)(?:p)`` (first)
  ``\\1`` back-references in replacements   ``$1``
  ``a / b`` (DOUBLE; ``x / 0`` = inf/NaN)    the same in a ``CASE`` (Spark raises on zero)
  ``list(x ORDER BY k)``                    ``transform(array_sort(collect_list(struct)))``
  ``string_agg(x, sep ORDER BY k)``         ``array_join`` of the same
  ``HUGEINT``                               ``DECIMAL(38, 0)``
  ``isodow(d)``                             ``weekday(d) + 1``
  ``monthname(d)`` / ``dayname(d)``         ``date_format(d, 'MMMM' / 'EEEE')`` (full names)
  ``CAST(unnest(list) AS T)``               ``explode(CAST(list AS ARRAY<T>))``
  ``row_number() OVER ()`` (scan order)     ``... OVER (ORDER BY monotonically_increasing_id())``
  JSON values (``json_type``, ``->>``,      JSON text read through ``parse_json`` / VARIANT
  ``json_extract``, ``CAST(.. AS JSON[])``)
  ========================================  =================================================

Type names for explicit file schemas go through :func:`spark_type`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.generators.spark import SparkGenerator

# strftime directive -> (Java pattern for formatting, Java pattern for parsing)
_DIRECTIVES: dict[str, tuple[str, str]] = {
    "%Y": ("yyyy", "yyyy"),
    "%y": ("yy", "yy"),
    "%m": ("MM", "M"),
    "%-m": ("M", "M"),
    "%d": ("dd", "d"),
    "%-d": ("d", "d"),
    "%e": ("d", "d"),
    "%H": ("HH", "H"),
    "%-H": ("H", "H"),
    "%I": ("hh", "h"),
    "%-I": ("h", "h"),
    "%M": ("mm", "m"),
    "%-M": ("m", "m"),
    "%S": ("ss", "s"),
    "%-S": ("s", "s"),
    "%f": ("SSSSSS", "SSSSSS"),
    "%g": ("SSS", "SSS"),
    "%n": ("SSSSSSSSS", "SSSSSSSSS"),
    "%p": ("a", "a"),
    "%b": ("MMM", "MMM"),
    "%h": ("MMM", "MMM"),
    "%B": ("MMMM", "MMMM"),
    "%a": ("EEE", "EEE"),
    "%A": ("EEEE", "EEEE"),
    "%j": ("DDD", "D"),
    "%z": ("xx", "xx"),
    "%Z": ("z", "z"),
    "%%": ("%", "%"),
}
_DIRECTIVE_RE = re.compile(r"%-?[A-Za-z%]")
_JAVA_RESERVED = re.compile(r"[A-Za-z\[\]{}#']")


def strftime_to_java(fmt: str, parsing: bool = False) -> str:
    """A DuckDB/strftime format as a Java ``DateTimeFormatter`` pattern; literal text is quoted."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if not literal:
            return
        text = "".join(literal)
        if _JAVA_RESERVED.search(text):
            out.append("'" + text.replace("'", "''") + "'")
        else:
            out.append(text)
        literal.clear()

    position = 0
    for match in _DIRECTIVE_RE.finditer(fmt):
        literal.extend(fmt[position : match.start()])
        directive = match.group(0)
        if directive not in _DIRECTIVES:
            raise ValueError(
                f"strftime directive {directive!r} in {fmt!r} has no Spark equivalent."
            )
        flush()
        out.append(_DIRECTIVES[directive][1 if parsing else 0])
        position = match.end()
    literal.extend(fmt[position:])
    flush()
    return "".join(out)


def _spark_string(value: str) -> str:
    """A Spark SQL string literal (backslash escapes, as Spark's parser expects)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _NarrSparkGenerator(SparkGenerator):
    """Spark's generator with strftime formats converted by :func:`strftime_to_java`."""

    def format_time(  # type: ignore[override]
        self,
        expression: exp.Expr,
        inverse_time_mapping: dict[str, str] | None = None,
        inverse_time_trie: dict | None = None,
    ) -> str | None:
        fmt = expression.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            parsing = isinstance(expression, exp.StrToTime | exp.StrToDate | exp.UnixToTime)
            return _spark_string(strftime_to_java(fmt.this, parsing=parsing))
        return super().format_time(expression, inverse_time_mapping, inverse_time_trie)


class NarrSpark(Spark):
    """The Spark dialect used by the Spark warehouse (Spark 4 / Databricks Runtime)."""

    Generator = _NarrSparkGenerator


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
        if not schema:
            return name
        return f"{self.qualified_schema(schema)}.{name}"

    def logical_schema(self, physical: str) -> str | None:
        """The logical schema of a physical one, or None if this naming does not own it."""
        if not physical.startswith(self.schema_prefix):
            return None
        bare = physical[len(self.schema_prefix) :]
        for logical, mapped in self.schema_map.items():
            if mapped == bare:
                return logical
        return bare


def _map_tables(tree: exp.Expr, naming: SparkNaming) -> None:
    for table in tree.find_all(exp.Table):
        db = table.args.get("db")
        if not isinstance(table.this, exp.Identifier) or table.args.get("catalog"):
            continue
        if not isinstance(db, exp.Identifier) or not db.name:
            continue  # temp views and CTEs are unqualified
        table.set("catalog", exp.to_identifier(naming.catalog))
        table.set("db", exp.to_identifier(naming.physical_schema(db.name)))


def _ordered_collect(value: exp.Expr, order: exp.Order) -> exp.Expr:
    """``list(value ORDER BY keys)`` as ``transform(array_sort(collect_list(struct)), s -> s.v)``."""
    fields: list[exp.Expr] = []
    for index, ordered in enumerate(order.expressions):
        if ordered.args.get("desc"):
            raise ValueError(
                "list()/string_agg() ORDER BY ... DESC has no portable Spark translation; "
                "order ascending or sort the result."
            )
        # DuckDB sorts NULLs last: a leading "is null" flag puts them after the values.
        fields.append(
            exp.alias_(exp.Is(this=ordered.this.copy(), expression=exp.Null()), f"n{index}")
        )
        fields.append(exp.alias_(ordered.this.copy(), f"k{index}"))
    fields.append(exp.alias_(value.copy(), "v"))
    collected = exp.func("collect_list", exp.Struct(expressions=fields))
    sorted_ = exp.func("array_sort", collected)
    return exp.func(
        "transform",
        sorted_,
        exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")]),
    )


def _java_replacement(duckdb_replacement: str, group_shift: int = 0) -> str:
    """RE2 replacement text (``\\1`` back-references) as Java's (``$1``), ``$`` escaped."""
    java = duckdb_replacement.replace("$", "\\$")
    return re.sub(r"\\(\d)", lambda m: f"${int(m.group(1)) + group_shift}", java)


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expr:
    modifiers = node.args.get("modifiers")
    flags = modifiers.name if isinstance(modifiers, exp.Literal) else ""
    replacement = node.args.get("replacement")
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and isinstance(replacement, exp.Literal)):
        raise ValueError("regexp_replace needs a literal pattern and replacement to run on Spark.")
    inline = "(?i)" if "i" in flags else ""
    if "g" in flags:
        return exp.RegexpReplace(
            this=node.this,
            expression=exp.Literal.string(inline + pattern.this),
            replacement=exp.Literal.string(_java_replacement(replacement.this)),
        )
    # DuckDB replaces the first match only: a lazy prefix group (group 1) anchors the
    # first match and is put back; the pattern's own groups move up by one.
    return exp.RegexpReplace(
        this=node.this,
        expression=exp.Literal.string(f"{inline}(?s)^(.*?)(?:{pattern.this})"),
        replacement=exp.Literal.string("$1" + _java_replacement(replacement.this, 1)),
    )


def _divide(node: exp.Div) -> exp.Expr:
    """DuckDB's ``/``: DOUBLE division, ``x / 0`` is +-inf or NaN (Spark raises or NULLs)."""
    numerator = exp.cast(node.this, "DOUBLE")
    denominator = exp.cast(node.expression, "DOUBLE")
    infinity = exp.cast(exp.Literal.string("Infinity"), "DOUBLE")
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=denominator, expression=exp.Literal.number(0)),
                true=exp.Mul(this=numerator.copy(), expression=infinity),
            )
        ],
        default=exp.Div(this=numerator.copy(), expression=denominator.copy(), typed=True),
    )


def _spark_expr(template: str, **values: exp.Expr) -> exp.Expr:
    """A Spark SQL snippet with ``{name}`` placeholders replaced by expressions."""
    tree = sqlglot.parse_one(template, read="spark")

    def fill(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return values[node.name].copy()
        return node

    def keep_parse_json(node: exp.Expr) -> exp.Expr:
        return _parse_json(node.this) if isinstance(node, exp.ParseJSON) else node

    return tree.transform(fill).transform(keep_parse_json)


def _parse_json(value: exp.Expr) -> exp.Expr:
    """Spark's ``parse_json`` (text -> VARIANT), kept verbatim by the generator."""
    return exp.Anonymous(this="parse_json", expressions=[value.copy()])


def _json_path(path: exp.Expr) -> str:
    if isinstance(path, exp.Literal) and path.is_string:
        return path.this
    if isinstance(path, exp.JSONPath):
        text = "$"
        for part in path.expressions:
            if isinstance(part, exp.JSONPathRoot):
                continue
            if isinstance(part, exp.JSONPathKey):
                text += f".{part.this}"
            elif isinstance(part, exp.JSONPathSubscript):
                text += f"[{part.this}]"
            else:
                raise ValueError(f"JSON path part {part.sql()} has no Spark translation.")
        return text
    raise ValueError("JSON paths must be literals to run on Spark.")


# JSON values are JSON text (STRING) in Spark; these read them through VARIANT.
_JSON_TYPE = """CASE WHEN __j IS NULL THEN NULL ELSE element_at(map(
    'OBJECT', 'OBJECT', 'ARRAY', 'ARRAY', 'STRING', 'VARCHAR', 'BOOLEAN', 'BOOLEAN', 'VOID', 'NULL',
    'DECIMAL', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'FLOAT', 'DOUBLE',
    'BIGINT', IF(ltrim(__j) LIKE '-%', 'BIGINT', 'UBIGINT'),
    'INT', IF(ltrim(__j) LIKE '-%', 'BIGINT', 'UBIGINT'),
    'SMALLINT', IF(ltrim(__j) LIKE '-%', 'BIGINT', 'UBIGINT'),
    'TINYINT', IF(ltrim(__j) LIKE '-%', 'BIGINT', 'UBIGINT')),
    regexp_extract(schema_of_variant(parse_json(__j)), '^[A-Z]+', 0)) END"""
# CAST(text AS JSON[]): objects/arrays keep their key order (raw text), scalars re-serialized.
_JSON_ARRAY = """zip_with(from_json(__j, 'array<string>'), from_json(__j, 'array<variant>'),
    (raw, v) -> CASE WHEN schema_of_variant(v) LIKE 'OBJECT%' OR schema_of_variant(v) LIKE 'ARRAY%'
                     THEN raw ELSE to_json(v) END)"""
_DUCKDB_JSON_STRUCTURE = {
    '["VARCHAR"]': "array<string>",
    '["BIGINT"]': "array<bigint>",
    '["DOUBLE"]': "array<double>",
    '"VARCHAR"': "string",
}


# json_type(doc, path) without parsing a whole (possibly huge) document into one VARIANT:
# containers are recognised from the raw text get_json_object returns.
_JSON_TYPE_AT = (
    """CASE WHEN ltrim(get_json_object(__d, __p)) LIKE '[%' THEN 'ARRAY'
    WHEN ltrim(get_json_object(__d, __p)) LIKE '{%' THEN 'OBJECT'
    WHEN get_json_object(__d, __p) IS NULL THEN NULL
    ELSE """
    + _JSON_TYPE.replace("__j", "__v")
    + " END"
)


# json_extract(doc, path) as JSON text: objects and arrays as get_json_object's raw text
# (VARIANT would sort object keys), scalars re-serialized from VARIANT (strings quoted).
_JSON_VALUE = """CASE WHEN schema_of_variant(__v) LIKE 'OBJECT%' OR schema_of_variant(__v) LIKE 'ARRAY%'
    THEN get_json_object(__d, __p) ELSE to_json(__v) END"""


def _json_value_text(document: exp.Expr, path: exp.Expr) -> exp.Expr:
    variant = exp.Anonymous(this="variant_get", expressions=[_parse_json(document), path.copy()])
    return _spark_expr(_JSON_VALUE, __v=variant, __d=document, __p=path)


def _is_wildcard(part: exp.Expr) -> bool:
    return isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, exp.JSONPathWildcard)


def _json_rewrite(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node, exp.JSONType) and node.expression is not None:
        path = exp.Literal.string(_json_path(node.expression))
        value = exp.Anonymous(
            this="to_json",
            expressions=[
                exp.Anonymous(this="variant_get", expressions=[_parse_json(node.this), path])
            ],
        )
        return _spark_expr(_JSON_TYPE_AT, __d=node.this, __p=path, __v=value)
    if isinstance(node, exp.JSONType):
        return _spark_expr(_JSON_TYPE, __j=node.this)
    if (
        isinstance(node, exp.JSONExtract)
        and isinstance(node.expression, exp.JSONPath)
        and node.expression.expressions
        and _is_wildcard(node.expression.expressions[-1])
    ):
        # json_extract(doc, '$.key[*]'): the elements of an array as a list of JSON texts.
        prefix = exp.JSONPath(expressions=node.expression.expressions[:-1])
        raw = exp.func("get_json_object", node.this, exp.Literal.string(_json_path(prefix)))
        return _spark_expr(_JSON_ARRAY, __j=raw)
    if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.Array):
        # json_extract_string(doc, ['$.a', '$.b']): one text value per path, as a list.
        return exp.Array(
            expressions=[
                exp.func(
                    "variant_get",
                    _parse_json(node.this.copy()),
                    exp.Literal.string(_json_path(p)),
                    exp.Literal.string("string"),
                )
                for p in node.expression.expressions
            ]
        )
    if isinstance(node, exp.JSONExtractScalar):
        path = exp.Literal.string(_json_path(node.expression))
        return exp.func("variant_get", _parse_json(node.this), path, exp.Literal.string("string"))
    if isinstance(node, exp.JSONExtract):
        paths = (
            node.expression.expressions
            if isinstance(node.expression, exp.Array)
            else [node.expression]
        )
        values = [_json_value_text(node.this, exp.Literal.string(_json_path(p))) for p in paths]
        return (
            exp.Array(expressions=values) if isinstance(node.expression, exp.Array) else values[0]
        )
    if isinstance(node, exp.FromJson):
        spec = node.expression
        target = _DUCKDB_JSON_STRUCTURE.get(spec.this if isinstance(spec, exp.Literal) else "")
        if target is None:
            raise ValueError(f"from_json structure {spec.sql()} has no Spark translation yet.")
        # DuckDB's from_json yields NULL for a value of another shape: try_variant_get.
        return exp.Anonymous(
            this="try_variant_get",
            expressions=[
                _parse_json(node.this),
                exp.Literal.string("$"),
                exp.Literal.string(target),
            ],
        )
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.ARRAY:
        element = node.to.expressions[0] if node.to.expressions else None
        if isinstance(element, exp.DataType) and element.this == exp.DataType.Type.JSON:
            return _spark_expr(_JSON_ARRAY, __j=node.this)
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.JSON:
        return node.this  # JSON is text in Spark
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_valid":
        value = node.expressions[0]
        return _spark_expr(
            "CASE WHEN __j IS NULL THEN NULL ELSE try_parse_json(__j) IS NOT NULL END", __j=value
        )
    if isinstance(node, exp.Select):
        _qualify_grouping_in_order(node)
        return _posexplode(node)
    return None


def _qualify_grouping_in_order(select: exp.Select) -> None:
    """``ORDER BY grouping(c)``: Spark would bind ``c`` to a select alias of the same name."""
    order = select.args.get("order")
    source = select.args.get("from_") or select.args.get("from")
    if order is None or source is None or select.args.get("joins"):
        return
    table = source.this
    qualifier = table.alias_or_name if isinstance(table, exp.Table | exp.Subquery) else None
    if not qualifier:
        return
    for grouping in order.find_all(exp.Grouping):
        for column in grouping.find_all(exp.Column):
            if not column.table:
                column.set("table", exp.to_identifier(qualifier))


def _posexplode(select: exp.Select) -> exp.Expr | None:
    """``generate_subscripts(x, 1) AS i, unnest(x) AS e`` as one ``inline`` generator.

    The two columns keep their order and any CAST around ``generate_subscripts``.
    """

    def subscript_call(projection: exp.Expr) -> tuple[exp.Expr, exp.DataType | None] | None:
        inner = projection.unalias()
        to = None
        if isinstance(inner, exp.Cast):
            inner, to = inner.this, inner.to
        if isinstance(inner, exp.Anonymous) and inner.name.lower() == "generate_subscripts":
            return inner, to
        return None

    projections = select.expressions
    found = [(i, subscript_call(p)) for i, p in enumerate(projections)]
    found = [(i, call) for i, call in found if call is not None]
    if not found:
        return None
    index, (call, cast_to) = found[0]
    array = call.expressions[0]
    position_name = projections[index].alias_or_name
    for j, projection in enumerate(projections):
        inner = projection.unalias()
        if isinstance(inner, exp.Explode) and inner.this == array:
            position = (
                f"CAST(i + 1 AS {cast_to.sql(dialect='spark') if cast_to else 'BIGINT'}) AS __p"
            )
            fields = [position, "e AS __v"] if index < j else ["e AS __v", position]
            inline = _spark_expr(
                f"inline(transform(__a, (e, i) -> struct({', '.join(fields)})))", __a=array
            )
            sql = (
                inline.sql(dialect="spark")
                .replace("__p", position_name)
                .replace("__v", projection.alias_or_name)
            )
            new = [p for k, p in enumerate(projections) if k not in (index, j)]
            new.insert(min(index, j), sqlglot.parse_one(sql, read="spark"))
            select.set("expressions", new)
            return select
    raise ValueError(
        "generate_subscripts() needs unnest() of the same list in the same SELECT on Spark."
    )


_T = exp.DataType.Type
#: DuckDB types Spark lacks, and the Spark type that holds the same values.
_TYPE_REPLACEMENTS: dict[exp.DataType.Type, str] = {
    _T.INT128: "DECIMAL(38, 0)",
    _T.UBIGINT: "DECIMAL(20, 0)",
    _T.UINT: "BIGINT",
    _T.USMALLINT: "INT",
    _T.UTINYINT: "SMALLINT",
    _T.JSON: "STRING",
    _T.UUID: "STRING",
    _T.TIMESTAMPTZ: "TIMESTAMP_LTZ",
}


_ARRAY_PRODUCERS = (
    exp.Split,
    exp.Array,
    exp.ArrayAgg,
    exp.RegexpSplit,
    exp.ArrayFilter,
    exp.Transform,
)


def _rewrite(node: exp.Expr, array_columns: frozenset[str] = frozenset()) -> exp.Expr:
    json_node = _json_rewrite(node)
    if json_node is not None:
        return json_node
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_quote":
        # DuckDB's JSON text of a scalar; Spark's to_json takes containers only, so the
        # scalar is written as a one-item array and the brackets cut off.
        return _spark_expr(
            "CASE WHEN v IS NOT NULL THEN substr(to_json(array(v)), 2, "
            "length(to_json(array(v))) - 2) END",
            v=node.expressions[0],
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "try_strptime":
        value, fmt = node.expressions[0], node.expressions[1]
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            raise ValueError("try_strptime needs a literal format to run on Spark.")
        java = strftime_to_java(fmt.this, parsing=True)
        return exp.func("try_to_timestamp", value, exp.Literal.string(java))
    if isinstance(node, exp.Div) and not node.args.get("typed"):
        denominator = node.expression
        if (
            isinstance(denominator, exp.Literal)
            and not denominator.is_string
            and float(denominator.this) != 0
        ):
            return exp.Div(
                this=exp.cast(node.this, "DOUBLE"),
                expression=exp.cast(denominator, "DOUBLE"),
                typed=True,
            )
        return _divide(node)
    if isinstance(node, exp.ArgMin | exp.ArgMax) and node.args.get("count") is not None:
        # DuckDB min_by(x, key, n): the n values with the smallest keys, in key order.
        pairs = exp.func(
            "collect_list",
            exp.Struct(
                expressions=[
                    exp.alias_(node.expression.copy(), "k"),
                    exp.alias_(node.this.copy(), "v"),
                ]
            ),
        )
        ordered = exp.func("array_sort", pairs)
        if isinstance(node, exp.ArgMax):
            ordered = exp.func("reverse", ordered)
        top = exp.func("slice", ordered, exp.Literal.number(1), node.args["count"].copy())
        return exp.func(
            "transform",
            top,
            exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")]),
        )
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_collect(node.this.this, node.this)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order):
        separator = node.args.get("separator") or exp.Literal.string(",")
        return exp.func("array_join", _ordered_collect(node.this.this, node.this), separator)
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    if isinstance(node, exp.Length) and isinstance(node.this, _ARRAY_PRODUCERS):
        return exp.ArraySize(this=node.this)  # DuckDB len() of a list
    if isinstance(node, exp.Length) and (
        node.this.sql(dialect="duckdb").lower() in array_columns
        or (isinstance(node.this, exp.Column) and node.this.name.lower() in array_columns)
    ):
        return exp.ArraySize(this=node.this)
    if (
        isinstance(node, exp.Window)
        and not node.args.get("order")
        and not node.args.get("alias")
        and isinstance(node.this, exp.RowNumber | exp.Rank | exp.DenseRank)
    ):
        # DuckDB numbers rows in scan order; Spark needs an order: the read order.
        node = node.copy()
        order_key = exp.Ordered(this=exp.func("monotonically_increasing_id"))
        node.set("order", exp.Order(expressions=[order_key]))
        return exp.cast(node, "BIGINT")
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber | exp.Rank | exp.DenseRank)
        and not isinstance(node.parent, exp.Cast)
    ):
        return exp.cast(node.copy(), "BIGINT")  # DuckDB ranks are BIGINT, Spark's INT
    if isinstance(node, exp.DayOfWeekIso):
        # ISO day of week (Monday = 1): Spark's weekday() counts Monday = 0.
        return exp.Add(this=exp.func("weekday", node.this), expression=exp.Literal.number(1))
    if isinstance(node, exp.Monthname):
        return exp.func("date_format", node.this, exp.Literal.string("MMMM"))
    if isinstance(node, exp.Dayname):
        return exp.func("date_format", node.this, exp.Literal.string("EEEE"))
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Explode | exp.Unnest):
        # Spark refuses a generator inside an expression: cast the array instead.
        generator = node.this
        inner = generator.this if isinstance(generator, exp.Explode) else generator.expressions[0]
        array_type = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[node.to], nested=True)
        return exp.Explode(this=exp.Cast(this=inner, to=array_type))
    if isinstance(node, exp.DataType) and node.this in _TYPE_REPLACEMENTS:
        return exp.DataType.build(_TYPE_REPLACEMENTS[node.this])
    return node


def _whole_row_structs(tree: exp.Expr) -> None:
    """DuckDB's ``to_json(t)`` of a table alias ``t`` (the whole row) as ``to_json(struct(t.*))``.

    Spark has no row value for an alias. A bare name that is a table alias of the same
    SELECT and not qualified is read as the row, as DuckDB reads it.
    """
    for select in list(tree.find_all(exp.Select)):
        sources = [select.args.get("from_"), *(select.args.get("joins") or [])]
        aliases = {
            clause.this.alias_or_name.lower()
            for clause in sources
            if clause is not None and isinstance(clause.this, exp.Table | exp.Subquery | exp.Values)
        }
        if not aliases:
            continue
        for call in select.find_all(exp.Anonymous):
            if call.name.lower() != "to_json" or len(call.expressions) != 1:
                continue
            [argument] = call.expressions
            if (
                isinstance(argument, exp.Column)
                and not argument.table
                and argument.name.lower() in aliases
            ):
                argument.replace(
                    exp.Struct(expressions=[exp.Column(this=exp.Star(), table=argument.this)])
                )


def translate(
    sql: str, naming: SparkNaming | None = None, array_columns: frozenset[str] = frozenset()
) -> list[str]:
    """DuckDB SQL (one or more statements) as Spark SQL statements.

    ``array_columns`` names expressions Spark found to be arrays where ``len()`` was
    translated to ``length()`` (see ``SparkWarehouseSession``): they become ``size()``.
    """
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    out = []
    for tree in statements:
        if naming is not None:
            _map_tables(tree, naming)
        _whole_row_structs(tree)
        tree = tree.transform(lambda node: _rewrite(node, array_columns))
        out.append(tree.sql(dialect=NarrSpark))
    return out


#: Spark's complaint when length() got an array: the expression is then sent as size().
LENGTH_OF_ARRAY = re.compile(
    r'Cannot resolve "length\((?P<expr>[^"]+)\)" due to data type mismatch.*?"(ARRAY|MAP)<', re.S
)


def translate_one(sql: str, naming: SparkNaming | None = None) -> str:
    statements = translate(sql, naming)
    if len(statements) != 1:
        raise ValueError(f"Expected one SQL statement, got {len(statements)}.")
    return statements[0]


def spark_type(duckdb_type: str) -> str:
    """A DuckDB type name (``VARCHAR``, ``DECIMAL(9,2)``, ``VARCHAR[]``) as Spark DDL."""
    data_type = exp.DataType.build(duckdb_type, dialect="duckdb")
    data_type = data_type.transform(lambda node: _rewrite(node))
    return data_type.sql(dialect=NarrSpark)
