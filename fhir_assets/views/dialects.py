"""The SQL each engine needs for the compiler's few primitive operations.

The compiler (:mod:`fhir_assets.views.compiler`) works on one internal representation
(FHIRPath AST + row sets) and asks a :class:`Dialect` for every piece of SQL, so the same
ViewDefinition renders to DuckDB and to Spark SQL:

================  ==========================================  ===================================
concept           DuckDB                                      Spark 4
================  ==========================================  ===================================
resource          ``CAST(resource AS JSON)``                  ``parse_json(resource)`` (VARIANT)
JSON item         ``JSON``                                    ``VARIANT``
collection        ``JSON[]``                                  ``ARRAY<VARIANT>``
field             ``json_extract(v, '$."f"')``                ``variant_get(v, '$.f', 'variant')``
map / filter      ``list_transform`` / ``list_filter``        ``transform`` / ``filter``
rows              list of ``struct_pack`` + ``unnest``        array of ``named_struct`` + ``explode``
runtime error     ``error(msg)``                              ``raise_error(msg)``
================  ==========================================  ===================================
"""

from __future__ import annotations

#: Every error a view raises in the engine starts with this (callers recognise it).
RUNTIME_ERROR_PREFIX = "ViewDefinition refused at run time: "

#: Output kinds of a column -> SQL type per engine.
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "json": "JSON",
}
_SPARK_TYPES = {
    "string": "STRING",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "json": "STRING",
}


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Dialect:
    name = "abstract"

    # -- literals and types ---------------------------------------------------------------
    def string(self, value: str) -> str:
        return _string(value)

    def sql_type(self, kind: str) -> str:
        raise NotImplementedError

    def list_type(self, kind: str) -> str:
        raise NotImplementedError

    def typed_null(self, kind: str, collection: bool = False) -> str:
        target = self.list_type(kind) if collection else self.sql_type(kind)
        return f"CAST(NULL AS {target})"

    def quote(self, name: str) -> str:
        raise NotImplementedError

    # -- JSON -------------------------------------------------------------------------------
    def parse_resource(self, column: str) -> str:
        raise NotImplementedError

    def field(self, item: str, name: str) -> str:
        raise NotImplementedError

    def field_path(self, root: str, names: tuple[str, ...]) -> str:
        """The JSON value at ``root.n1.n2...`` (single-valued elements), or NULL."""
        raise NotImplementedError

    def array_at(self, root: str, names: tuple[str, ...]) -> str:
        """The items of the JSON array at ``root.n1...`` (an array element) as a collection."""
        raise NotImplementedError

    def items(self, value: str) -> str:
        """A JSON value (NULL, JSON null, scalar, object or array) as a collection."""
        raise NotImplementedError

    def json_to(self, item: str, kind: str) -> str:
        """A JSON item as a typed SQL value (NULL stays NULL)."""
        raise NotImplementedError

    def json_to_at(self, root: str, names: tuple[str, ...], kind: str) -> str:
        """The JSON value at ``root.n1...`` as a typed SQL value (one extraction)."""
        return self.json_to(self.field_path(root, names), kind)

    def json_output(self, item: str) -> str:
        """A JSON item as the engine's output JSON column value."""
        raise NotImplementedError

    def json_output_text(self, item: str) -> str:
        """A JSON item as its JSON text (for equality of untyped values)."""
        raise NotImplementedError

    def to_json(self, scalar: str, kind: str) -> str:
        raise NotImplementedError

    def json_is(self, item: str, kind: str) -> str:
        """Whether a JSON item is a boolean / number / string."""
        raise NotImplementedError

    # -- collections ------------------------------------------------------------------------
    def empty(self) -> str:
        raise NotImplementedError

    def array(self, *values: str) -> str:
        raise NotImplementedError

    def null_items(self) -> str:
        """A collection of one absent item (forEachOrNull's row when there is nothing)."""
        raise NotImplementedError

    def item_to_coll(self, item: str) -> str:
        raise NotImplementedError

    def map(self, coll: str, var: str, body: str, index: str | None = None) -> str:
        raise NotImplementedError

    def row_index(self, index: str) -> str:
        """The 0-based %rowIndex of a map's index variable."""
        raise NotImplementedError

    def filter(self, coll: str, var: str, predicate: str) -> str:
        raise NotImplementedError

    def flatten(self, colls: str) -> str:
        return f"flatten({colls})"

    def concat(self, *colls: str) -> str:
        raise NotImplementedError

    def size(self, coll: str) -> str:
        raise NotImplementedError

    def element(self, coll: str, index0: str) -> str:
        """Item ``index0`` (0-based) or NULL."""
        raise NotImplementedError

    def join(self, strings: str, separator: str) -> str:
        raise NotImplementedError

    # -- rows -------------------------------------------------------------------------------
    def struct(self, fields: list[tuple[str, str]]) -> str:
        raise NotImplementedError

    def explode(self, rows: str) -> str:
        raise NotImplementedError

    def error(self, message: str) -> str:
        """A runtime error; the message starts with :data:`RUNTIME_ERROR_PREFIX`."""
        raise NotImplementedError

    def regexp_extract(self, value: str, pattern: str, group: int) -> str:
        return f"regexp_extract({value}, {self.string(pattern)}, {group})"


class DuckDBDialect(Dialect):
    name = "duckdb"

    def sql_type(self, kind: str) -> str:
        return _DUCKDB_TYPES[kind]

    def list_type(self, kind: str) -> str:
        return _DUCKDB_TYPES[kind] + "[]"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def parse_resource(self, column: str) -> str:
        return f"CAST({column} AS JSON)"

    def field(self, item: str, name: str) -> str:
        return f"json_extract({item}, {_string('$.' + self.quote(name))})"

    def _path(self, names: tuple[str, ...]) -> str:
        return _string("$" + "".join("." + self.quote(n) for n in names))

    def field_path(self, root: str, names: tuple[str, ...]) -> str:
        return f"json_extract({root}, {self._path(names)})"

    def array_at(self, root: str, names: tuple[str, ...]) -> str:
        return f"coalesce(TRY_CAST(json_extract({root}, {self._path(names)}) AS JSON[]), {self.empty()})"

    def items(self, value: str) -> str:
        return (
            f"CASE coalesce(json_type({value}), 'NULL') WHEN 'ARRAY' THEN CAST({value} AS JSON[]) "
            f"WHEN 'NULL' THEN {self.empty()} ELSE [{value}] END"
        )

    def json_to(self, item: str, kind: str) -> str:
        if kind == "string":
            return f"json_extract_string({item}, '$')"
        if kind == "json":
            return item
        return f"CAST({item} AS {self.sql_type(kind)})"

    def json_to_at(self, root: str, names: tuple[str, ...], kind: str) -> str:
        if kind == "string":
            return f"json_extract_string({root}, {self._path(names)})"
        return super().json_to_at(root, names, kind)

    def json_output(self, item: str) -> str:
        return item

    def json_output_text(self, item: str) -> str:
        return f"CAST({item} AS VARCHAR)"

    def to_json(self, scalar: str, kind: str) -> str:
        return f"to_json({scalar})"

    def json_is(self, item: str, kind: str) -> str:
        types = {
            "boolean": "('BOOLEAN')",
            "decimal": "('BIGINT', 'UBIGINT', 'DOUBLE')",
            "integer": "('BIGINT', 'UBIGINT')",
            "string": "('VARCHAR')",
        }[kind]
        return f"(json_type({item}) IN {types})"

    def empty(self) -> str:
        return "CAST([] AS JSON[])"

    def array(self, *values: str) -> str:
        return "[" + ", ".join(values) + "]"

    def null_items(self) -> str:
        return "CAST([NULL] AS JSON[])"

    def item_to_coll(self, item: str) -> str:
        return f"list_filter([{item}], lambda __n: __n IS NOT NULL)"

    def map(self, coll: str, var: str, body: str, index: str | None = None) -> str:
        if index is None:
            return f"list_transform({coll}, lambda {var}: {body})"
        return f"list_transform({coll}, lambda {var}, {index}: {body})"

    def row_index(self, index: str) -> str:
        return f"CAST({index} - 1 AS BIGINT)"  # DuckDB's lambda index counts from 1

    def filter(self, coll: str, var: str, predicate: str) -> str:
        return f"list_filter({coll}, lambda {var}: coalesce({predicate}, false))"

    def concat(self, *colls: str) -> str:
        if len(colls) == 1:
            return colls[0]
        out = colls[0]
        for coll in colls[1:]:
            out = f"list_concat({out}, {coll})"
        return out

    def size(self, coll: str) -> str:
        return f"len({coll})"

    def element(self, coll: str, index0: str) -> str:
        return f"list_extract({coll}, ({index0}) + 1)"

    def join(self, strings: str, separator: str) -> str:
        return f"array_to_string({strings}, {separator})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "struct_pack(" + ", ".join(f"{name} := {sql}" for name, sql in fields) + ")"

    def explode(self, rows: str) -> str:
        return f"unnest({rows})"

    def error(self, message: str) -> str:
        return f"error({_string(RUNTIME_ERROR_PREFIX + message)})"


class SparkDialect(Dialect):
    name = "spark"

    def string(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def sql_type(self, kind: str) -> str:
        return _SPARK_TYPES[kind]

    def list_type(self, kind: str) -> str:
        return f"ARRAY<{_SPARK_TYPES[kind]}>"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def parse_resource(self, column: str) -> str:
        return f"parse_json({column})"

    def field(self, item: str, name: str) -> str:
        return f"variant_get({item}, {self.string('$.' + name)}, 'variant')"

    def field_path(self, root: str, names: tuple[str, ...]) -> str:
        return (
            f"variant_get({root}, {self.string('$' + ''.join('.' + n for n in names))}, 'variant')"
        )

    def array_at(self, root: str, names: tuple[str, ...]) -> str:
        path = self.string("$" + "".join("." + n for n in names))
        return f"coalesce(try_variant_get({root}, {path}, 'array<variant>'), {self.empty()})"

    def items(self, value: str) -> str:
        return (
            f"coalesce(try_variant_get({value}, '$', 'array<variant>'), "
            f"CASE WHEN {value} IS NULL OR is_variant_null({value}) THEN {self.empty()} "
            f"ELSE array({value}) END)"
        )

    def json_to(self, item: str, kind: str) -> str:
        if kind == "json":
            return item
        target = {
            "string": "string",
            "integer": "bigint",
            "decimal": "double",
            "boolean": "boolean",
        }[kind]
        return f"variant_get({item}, '$', '{target}')"

    def json_to_at(self, root: str, names: tuple[str, ...], kind: str) -> str:
        if kind == "json":
            return self.field_path(root, names)
        target = {
            "string": "string",
            "integer": "bigint",
            "decimal": "double",
            "boolean": "boolean",
        }
        path = self.string("$" + "".join("." + n for n in names))
        return f"variant_get({root}, {path}, '{target[kind]}')"

    def json_output(self, item: str) -> str:
        return f"to_json({item})"

    def json_output_text(self, item: str) -> str:
        return f"to_json({item})"

    def to_json(self, scalar: str, kind: str) -> str:
        return f"CAST({scalar} AS VARIANT)"

    def json_is(self, item: str, kind: str) -> str:
        if kind == "boolean":
            return f"(schema_of_variant({item}) = 'BOOLEAN')"
        if kind == "string":
            return f"(schema_of_variant({item}) = 'STRING')"
        return (
            f"(schema_of_variant({item}) IN ('BIGINT', 'DOUBLE', 'FLOAT', 'INT', 'SMALLINT', "
            f"'TINYINT') OR schema_of_variant({item}) LIKE 'DECIMAL%')"
        )

    def empty(self) -> str:
        return "CAST(array() AS ARRAY<VARIANT>)"

    def array(self, *values: str) -> str:
        return "array(" + ", ".join(values) + ")"

    def null_items(self) -> str:
        return "array(CAST(NULL AS VARIANT))"

    def item_to_coll(self, item: str) -> str:
        return f"filter(array({item}), __n -> __n IS NOT NULL)"

    def map(self, coll: str, var: str, body: str, index: str | None = None) -> str:
        if index is None:
            return f"transform({coll}, {var} -> {body})"
        return f"transform({coll}, ({var}, {index}) -> {body})"

    def row_index(self, index: str) -> str:
        return f"CAST({index} AS BIGINT)"

    def filter(self, coll: str, var: str, predicate: str) -> str:
        return f"filter({coll}, {var} -> coalesce({predicate}, false))"

    def concat(self, *colls: str) -> str:
        if len(colls) == 1:
            return colls[0]
        return "concat(" + ", ".join(colls) + ")"

    def size(self, coll: str) -> str:
        return f"size({coll})"

    def element(self, coll: str, index0: str) -> str:
        return f"try_element_at({coll}, CAST(({index0}) + 1 AS INT))"

    def join(self, strings: str, separator: str) -> str:
        return f"array_join({strings}, {separator})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"'{name}', {sql}" for name, sql in fields) + ")"

    def explode(self, rows: str) -> str:
        return f"explode({rows})"

    def error(self, message: str) -> str:
        return f"raise_error({self.string(RUNTIME_ERROR_PREFIX + message)})"


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "spark": SparkDialect()}


def dialect_for(engine: str) -> Dialect:
    try:
        return DIALECTS[engine]
    except KeyError:
        raise ValueError(f"No ViewDefinition dialect for engine {engine!r}.") from None
