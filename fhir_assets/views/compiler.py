"""SQL on FHIR v2 ViewDefinitions compiled to one SQL statement per engine.

``compile_view(view, dialect, table_for)`` validates a ViewDefinition (dict), parses its
FHIRPath expressions (:mod:`fhir_assets.views.fhirpath`) and renders ONE ``SELECT`` over
the resource table (``id``, ``resource`` JSON text) in the dialect's SQL
(:mod:`fhir_assets.views.dialects`). Nothing is evaluated in Python per resource.

How a view becomes SQL:

- FHIRPath values are JSON collections (DuckDB ``JSON[]``, Spark ``ARRAY<VARIANT>``), single
  JSON items (the resource, a ``forEach`` item, ``first()``) or typed scalars (literals,
  constants, comparisons, ``exists()``); navigation flattens arrays as FHIRPath does.
- A selection is a row set: one row per resource (a plain ``SELECT``), or a list of row
  structs per resource (``forEach``, ``forEachOrNull``, ``repeat``, ``unionAll``, and their
  cross products with sibling selections) that the statement unnests.
- ``repeat`` walks the tree depth first, unrolled to :data:`REPEAT_DEPTH` levels; deeper data
  fails the query instead of being cut silently.
- Errors the data decides (a non-collection column with several values, a ``where`` that
  is not boolean) raise in the engine (``error()`` / ``raise_error()``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from fhir_assets.views import fhirpath as fp
from fhir_assets.views.dialects import Dialect, dialect_for
from fhir_assets.views.fhirpath import ViewError
from fhir_assets.views.schema import element

#: How many levels ``repeat`` follows (the statement fails on deeper data).
REPEAT_DEPTH = 12

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_INTEGER_TYPES = {"integer", "positiveInt", "unsignedInt", "integer64"}
_KIND_OF_FHIR_TYPE = {"boolean": "boolean", "decimal": "decimal"} | dict.fromkeys(
    _INTEGER_TYPES, "integer"
)
_NUMERIC = {"integer", "decimal"}


@dataclasses.dataclass(frozen=True)
class Coll:
    sql: str
    typ: str | None = None  # FHIR type of the items, when known (fhir_assets.views.schema)


@dataclasses.dataclass(frozen=True)
class Item:
    sql: str
    simple: bool = False  # a variable: safe to repeat in the SQL
    typ: str | None = None  # FHIR type, when known
    root: str | None = None  # sql = root's JSON path ``path`` (single-valued elements)
    path: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Scalar:
    sql: str
    kind: str  # string | integer | decimal | boolean


@dataclasses.dataclass(frozen=True)
class ViewColumn:
    name: str
    kind: str  # output kind: string | integer | decimal | boolean | json
    collection: bool
    fhir_type: str | None
    description: str | None


@dataclasses.dataclass(frozen=True)
class CompiledView:
    """One ViewDefinition as SQL for one engine."""

    name: str
    resource: str
    table: str
    sql: str
    columns: tuple[ViewColumn, ...]
    dialect: str

    def sql_type(self, column: ViewColumn) -> str:
        dialect = dialect_for(self.dialect)
        return (
            dialect.list_type(column.kind) if column.collection else dialect.sql_type(column.kind)
        )


@dataclasses.dataclass
class _State:
    dialect: Dialect
    constants: dict[str, Scalar]
    columns: dict[str, ViewColumn] = dataclasses.field(default_factory=dict)
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    counter: int = 0

    def var(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"__{prefix}{self.counter}"


@dataclasses.dataclass(frozen=True)
class _Ctx:
    state: _State
    focus: Item
    row_index: str
    resource: str

    def at(self, focus: Item, row_index: str | None = None) -> _Ctx:
        return dataclasses.replace(
            self, focus=focus, row_index=self.row_index if row_index is None else row_index
        )


@dataclasses.dataclass(frozen=True)
class _Rows:
    """A row set: ``names`` in order; ``single`` fields (one row) or ``many`` (a list SQL)."""

    names: tuple[str, ...]
    single: tuple[tuple[str, str], ...] | None = None
    many: str | None = None


# -- FHIRPath -> SQL ------------------------------------------------------------------------


def _d(ctx: _Ctx) -> Dialect:
    return ctx.state.dialect


def _as_coll(value: Any, ctx: _Ctx) -> str:
    d = _d(ctx)
    if isinstance(value, Coll):
        return value.sql
    if isinstance(value, Item):
        return d.item_to_coll(value.sql)
    return d.item_to_coll(d.to_json(value.sql, value.kind))


def _as_item(value: Any, ctx: _Ctx) -> Item:
    d = _d(ctx)
    if isinstance(value, Item):
        return value
    if isinstance(value, Coll):
        return Item(d.element(value.sql, "0"), typ=value.typ)
    return Item(d.to_json(value.sql, value.kind))


def _cast(sql: str, source: str, target: str, d: Dialect) -> str:
    if source == target:
        return sql
    return f"CAST({sql} AS {d.sql_type(target)})"


def _as_scalar(value: Any, kind: str, ctx: _Ctx) -> str:
    d = _d(ctx)
    if isinstance(value, Scalar):
        return _cast(value.sql, value.kind, kind, d)
    return _item_to(_as_item(value, ctx), kind, d)


def _item_to(item: Item, kind: str, d: Dialect) -> str:
    """A JSON item as a typed value; a path item is read straight from its root."""
    if item.root is not None and kind != "json":
        return d.json_to_at(item.root, item.path, kind)
    return d.json_to(item.sql, kind)


def _as_bool(value: Any, ctx: _Ctx) -> str:
    if isinstance(value, Scalar) and value.kind != "boolean":
        raise ViewError(f"A {value.kind} value is used where a boolean is expected.")
    return _as_scalar(value, "boolean", ctx)


def _child(base: Any, name: str, ctx: _Ctx) -> Item | Coll:
    d = _d(ctx)
    if isinstance(base, Scalar):
        raise ViewError(f"Cannot read {name!r} of a {base.kind} value.")
    known = element(base.typ, name)
    if known is not None and isinstance(base, Item):
        # Known cardinality: one JSON path from the nearest root, no list per step.
        root, path = (base.root, base.path) if base.root is not None else (base.sql, ())
        path = (*path, name)
        if known.array:
            return Coll(d.array_at(root, path), typ=known.type)
        return Item(d.field_path(root, path), typ=known.type, root=root, path=path)
    if known is not None:
        var = ctx.state.var()
        if known.array:
            return Coll(d.flatten(d.map(base.sql, var, d.array_at(var, (name,)))), typ=known.type)
        values = d.map(base.sql, var, d.field_path(var, (name,)))
        present = ctx.state.var()
        return Coll(d.filter(values, present, f"{present} IS NOT NULL"), typ=known.type)
    if isinstance(base, Item) and base.simple:
        return Coll(d.items(d.field(base.sql, name)))
    var = ctx.state.var()
    return Coll(d.flatten(d.map(_as_coll(base, ctx), var, d.items(d.field(var, name)))))


def _base(node: Any, ctx: _Ctx) -> Any:
    return ctx.focus if node is None else compile_path(node, ctx)


def _type_arg(call: fp.Call, position: int = 0) -> str:
    if len(call.args) <= position or not isinstance(call.args[position], fp.Literal):
        raise ViewError(f"{call.name}() needs a type name.")
    return str(call.args[position].value)


def _of_type(call: fp.Call, ctx: _Ctx) -> Any:
    type_name = _type_arg(call)
    base = call.base
    if isinstance(base, fp.Member):
        # A choice element: value.ofType(Quantity) is the JSON property valueQuantity.
        return compile_path(
            fp.Member(base.base, base.name + type_name[0].upper() + type_name[1:]), ctx
        )
    d = _d(ctx)
    kind = {"boolean": "boolean", "string": "string", "decimal": "decimal"}.get(
        type_name, "integer" if type_name in _INTEGER_TYPES else None
    )
    if kind is None:
        raise ViewError(f"ofType({type_name}) is supported on a choice element (value.ofType(X)).")
    var = ctx.state.var()
    return Coll(d.filter(_as_coll(_base(base, ctx), ctx), var, d.json_is(var, kind)))


def _function(call: fp.Call, ctx: _Ctx) -> Any:
    d = _d(ctx)
    name = call.name
    arity = {
        "where": (1, 1),
        "exists": (0, 1),
        "empty": (0, 0),
        "first": (0, 0),
        "last": (0, 0),
        "count": (0, 0),
        "not": (0, 0),
        "join": (0, 1),
        "ofType": (1, 1),
        "extension": (1, 1),
        "getResourceKey": (0, 0),
        "getReferenceKey": (0, 1),
    }
    if name not in arity:
        raise ViewError(f"FHIRPath function {name}() is not supported.")
    low, high = arity[name]
    if not low <= len(call.args) <= high:
        raise ViewError(f"{name}() takes {low} to {high} arguments, got {len(call.args)}.")
    if name == "ofType":
        return _of_type(call, ctx)
    base = _base(call.base, ctx)
    if name == "where":
        var = ctx.state.var()
        typ = base.typ if isinstance(base, Coll | Item) else None
        predicate = _as_bool(compile_path(call.args[0], ctx.at(Item(var, True, typ))), ctx)
        return Coll(d.filter(_as_coll(base, ctx), var, predicate), typ=typ)
    if name in ("exists", "empty"):
        if call.args:
            base = _function(fp.Call(call.base, "where", call.args), ctx)
        if isinstance(base, Coll):
            test = f"({d.size(base.sql)} > 0)"
        else:
            test = f"({base.sql} IS NOT NULL)"
        return Scalar(test if name == "exists" else f"(NOT {test})", "boolean")
    if name == "first":
        return _as_item(base, ctx) if isinstance(base, Coll) else base
    if name == "last":
        if isinstance(base, Coll):
            return Item(d.element(base.sql, f"{d.size(base.sql)} - 1"), typ=base.typ)
        return base
    if name == "count":
        return Scalar(f"CAST({d.size(_as_coll(base, ctx))} AS BIGINT)", "integer")
    if name == "not":
        return Scalar(f"(NOT {_as_bool(base, ctx)})", "boolean")
    if name == "join":
        separator = d.string("")
        if call.args:
            separator = _as_scalar(compile_path(call.args[0], ctx), "string", ctx)
        var = ctx.state.var()
        strings = d.map(_as_coll(base, ctx), var, d.json_to(var, "string"))
        return Scalar(d.join(strings, separator), "string")  # empty input: '' (the suite's)
    if name == "extension":
        url = _as_scalar(compile_path(call.args[0], ctx), "string", ctx)
        extensions = _as_coll(_child(base, "extension", ctx), ctx)
        var = ctx.state.var()
        match = f"({d.json_to(d.field(var, 'url'), 'string')} = {url})"
        return Coll(d.filter(extensions, var, match), typ="Extension")
    if name == "getResourceKey":
        return Scalar(_as_scalar(_child(base, "id", ctx), "string", ctx), "string")
    # getReferenceKey([type]): the id of a literal reference "Type/id".
    reference = _as_scalar(_child(base, "reference", ctx), "string", ctx)
    pattern = r"([^/]+)/([^/]+)$"
    key = d.regexp_extract(reference, pattern, 2)
    if call.args:
        wanted = _type_arg(call)
        key = f"CASE WHEN {d.regexp_extract(reference, pattern, 1)} = {d.string(wanted)} THEN {key} END"
    return Scalar(f"nullif({key}, '')", "string")


def _literal(node: fp.Literal, ctx: _Ctx) -> Any:
    d = _d(ctx)
    if node.type == "empty":
        return Coll(d.empty())
    if node.type == "boolean":
        return Scalar("TRUE" if node.value else "FALSE", "boolean")
    if node.type == "integer":
        return Scalar(f"CAST({int(node.value)} AS BIGINT)", "integer")
    if node.type == "decimal":
        return Scalar(f"CAST({float(node.value)!r} AS DOUBLE)", "decimal")
    if node.type == "type":
        raise ViewError(f"Type name {node.value} is only allowed in ofType()/getReferenceKey().")
    return Scalar(d.string(str(node.value)), "string")


def _comparison_kind(left: Any, right: Any) -> str | None:
    kinds = [v.kind for v in (left, right) if isinstance(v, Scalar)]
    if not kinds:
        return None
    if len(kinds) == 2 and kinds[0] != kinds[1]:
        return "decimal" if set(kinds) <= _NUMERIC else "string"
    kind = kinds[0]
    if kind == "integer" and len(kinds) == 1:
        return "decimal"  # a JSON number compared with an integer may have a fraction
    return kind


def _compare(op: str, left: Any, right: Any, ctx: _Ctx) -> Scalar:
    d = _d(ctx)
    sql_op = {"=": "=", "!=": "<>", "~": "=", "!~": "<>"}.get(op, op)
    kind = _comparison_kind(left, right)
    if kind is not None:
        lsql, rsql = _as_scalar(left, kind, ctx), _as_scalar(right, kind, ctx)
        if op in ("~", "!~") and kind == "string":
            lsql, rsql = f"lower({lsql})", f"lower({rsql})"
        return Scalar(f"({lsql} {sql_op} {rsql})", "boolean")
    litem, ritem = _as_item(left, ctx).sql, _as_item(right, ctx).sql
    if op in ("=", "!=", "~", "!~"):
        text = f"({d.json_output_text(litem)} {sql_op} {d.json_output_text(ritem)})"
        return Scalar(text, "boolean")
    numbers = f"({d.json_to(litem, 'decimal')} {sql_op} {d.json_to(ritem, 'decimal')})"
    strings = f"({d.json_to(litem, 'string')} {sql_op} {d.json_to(ritem, 'string')})"
    return Scalar(
        f"(CASE WHEN {d.json_is(litem, 'decimal')} THEN {numbers} ELSE {strings} END)", "boolean"
    )


def _binary(node: fp.Binary, ctx: _Ctx) -> Any:
    op = node.op
    left = compile_path(node.left, ctx)
    right = compile_path(node.right, ctx)
    d = _d(ctx)
    if op in ("and", "or"):
        return Scalar(f"({_as_bool(left, ctx)} {op.upper()} {_as_bool(right, ctx)})", "boolean")
    if op == "xor":
        return Scalar(f"({_as_bool(left, ctx)} <> {_as_bool(right, ctx)})", "boolean")
    if op == "implies":
        return Scalar(f"((NOT {_as_bool(left, ctx)}) OR {_as_bool(right, ctx)})", "boolean")
    if op in ("=", "!=", "~", "!~", "<", "<=", ">", ">="):
        return _compare(op, left, right, ctx)
    if op == "|":
        return Coll(d.concat(_as_coll(left, ctx), _as_coll(right, ctx)))
    if op == "&":
        lsql = _as_scalar(left, "string", ctx)
        rsql = _as_scalar(right, "string", ctx)
        return Scalar(f"(coalesce({lsql}, '') || coalesce({rsql}, ''))", "string")
    if op == "+" and any(isinstance(v, Scalar) and v.kind == "string" for v in (left, right)):
        return Scalar(
            f"({_as_scalar(left, 'string', ctx)} || {_as_scalar(right, 'string', ctx)})", "string"
        )
    if op in ("+", "-", "*", "/", "div", "mod"):
        both_integer = all(isinstance(v, Scalar) and v.kind == "integer" for v in (left, right))
        kind = "integer" if both_integer and op != "/" else "decimal"
        lsql, rsql = _as_scalar(left, kind, ctx), _as_scalar(right, kind, ctx)
        if op == "/":
            return Scalar(f"(CASE WHEN {rsql} = 0 THEN NULL ELSE {lsql} / {rsql} END)", "decimal")
        if op == "div":
            return Scalar(f"CAST(floor({lsql} / {rsql}) AS BIGINT)", "integer")
        if op == "mod":
            return Scalar(f"({lsql} % {rsql})", kind)
        return Scalar(f"({lsql} {op} {rsql})", kind)
    raise ViewError(f"FHIRPath operator {op!r} is not supported.")


def compile_path(node: Any, ctx: _Ctx) -> Any:
    """A FHIRPath AST node as SQL (Coll, Item or Scalar) at the context's focus."""
    d = _d(ctx)
    if isinstance(node, fp.This):
        return ctx.focus
    if isinstance(node, fp.Literal):
        return _literal(node, ctx)
    if isinstance(node, fp.Constant):
        if node.name == "rowIndex":
            return Scalar(ctx.row_index, "integer")
        if node.name not in ctx.state.constants:
            raise ViewError(f"Constant %{node.name} is not defined in the view's constants.")
        return ctx.state.constants[node.name]
    if isinstance(node, fp.Member):
        if node.base is None and node.name == ctx.resource:
            return ctx.focus  # Patient.name: the type name is the resource itself
        return _child(_base(node.base, ctx), node.name, ctx)
    if isinstance(node, fp.Call):
        return _function(node, ctx)
    if isinstance(node, fp.Index):
        base = compile_path(node.base, ctx)
        index = _as_scalar(compile_path(node.index, ctx), "integer", ctx)
        typ = base.typ if isinstance(base, Coll | Item) else None
        return Item(d.element(_as_coll(base, ctx), index), typ=typ)
    if isinstance(node, fp.Binary):
        return _binary(node, ctx)
    if isinstance(node, fp.Unary):
        operand = compile_path(node.operand, ctx)
        kind = (
            operand.kind if isinstance(operand, Scalar) and operand.kind in _NUMERIC else "decimal"
        )
        return Scalar(f"(- {_as_scalar(operand, kind, ctx)})", kind)
    raise ViewError(f"Unsupported FHIRPath node {node!r}.")


def _compile_text(text: Any, ctx: _Ctx, what: str) -> Any:
    try:
        return compile_path(fp.parse(text), ctx)
    except ViewError as exc:
        raise ViewError(f"{what}: {exc}") from None


# -- selections -> row sets -----------------------------------------------------------------


def _column_id(state: _State, name: str) -> str:
    if name not in state.ids:
        state.ids[name] = f"c{len(state.ids)}"
    return state.ids[name]


def _output_kind(column: Mapping[str, Any], value: Any) -> str:
    fhir_type = column.get("type")
    if fhir_type:
        return _KIND_OF_FHIR_TYPE.get(str(fhir_type), "string")
    if isinstance(value, Scalar):
        return value.kind
    return "json"


def _column_sql(value: Any, column: ViewColumn, ctx: _Ctx) -> str:
    d = _d(ctx)
    kind = column.kind
    if column.collection:
        var = ctx.state.var()
        convert = d.json_output(var) if kind == "json" else d.json_to(var, kind)
        return d.map(_as_coll(value, ctx), var, convert)
    if isinstance(value, Scalar):
        return _cast(value.sql, value.kind, kind, d) if kind != "json" else value.sql
    if isinstance(value, Item):
        return d.json_output(value.sql) if kind == "json" else _item_to(value, kind, d)
    first = d.element(value.sql, "0")
    converted = d.json_output(first) if kind == "json" else d.json_to(first, kind)
    message = (
        f"Column {column.name!r} has more than one value for a resource; "
        "declare it with collection: true."
    )
    return f"(CASE WHEN {d.size(value.sql)} > 1 THEN {d.error(message)} ELSE {converted} END)"


def _columns(selection: Mapping[str, Any], ctx: _Ctx) -> _Rows:
    columns = selection["column"]
    if not isinstance(columns, list) or not columns:
        raise ViewError("A select's 'column' must be a non-empty list.")
    fields: list[tuple[str, str]] = []
    names: list[str] = []
    for column in columns:
        if not isinstance(column, dict):
            raise ViewError(f"A column must be an object, got {column!r}.")
        name = column.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ViewError(
                f"Column name {name!r} is not valid (letters, digits and _, starting with a letter)."
            )
        if "path" not in column:
            raise ViewError(f"Column {name!r} has no path.")
        collection = column.get("collection", False)
        if not isinstance(collection, bool):
            raise ViewError(f"Column {name!r}: collection must be true or false.")
        value = _compile_text(column["path"], ctx, f"Column {name!r}")
        state = ctx.state
        spec = ViewColumn(
            name=name,
            kind=_output_kind(column, value),
            collection=collection,
            fhir_type=column.get("type"),
            description=column.get("description"),
        )
        previous = state.columns.get(name)
        if previous is not None and (previous.kind, previous.collection) != (
            spec.kind,
            spec.collection,
        ):
            raise ViewError(f"Column {name!r} is declared twice with different types.")
        state.columns[name] = spec
        column_id = _column_id(state, name)
        sql = _column_sql(value, spec, ctx)
        target = (
            state.dialect.list_type(spec.kind)
            if spec.collection
            else state.dialect.sql_type(spec.kind)
        )
        fields.append((column_id, f"CAST({sql} AS {target})"))
        names.append(name)
    return _Rows(tuple(names), single=tuple(fields))


def _rows_list(rows: _Rows, ctx: _Ctx) -> str:
    d = _d(ctx)
    if rows.many is not None:
        return rows.many
    return d.array(d.struct(list(rows.single or ())))


def _cross(left: _Rows, right: _Rows, ctx: _Ctx) -> _Rows:
    duplicate = set(left.names) & set(right.names)
    if duplicate:
        raise ViewError(f"Column name {sorted(duplicate)[0]!r} is used more than once in the view.")
    d = _d(ctx)
    state = ctx.state
    names = left.names + right.names
    if left.single is not None and right.single is not None:
        return _Rows(names, single=left.single + right.single)

    def fields(rows: _Rows, var: str | None) -> list[tuple[str, str]]:
        if rows.single is not None:
            return list(rows.single)
        return [(state.ids[n], f"{var}.{state.ids[n]}") for n in rows.names]

    if left.single is not None:
        var = state.var("r")
        body = d.struct(fields(left, None) + fields(right, var))
        return _Rows(names, many=d.map(right.many or "", var, body))
    if right.single is not None:
        var = state.var("r")
        body = d.struct(fields(left, var) + fields(right, None))
        return _Rows(names, many=d.map(left.many or "", var, body))
    outer, inner = state.var("r"), state.var("r")
    body = d.struct(fields(left, outer) + fields(right, inner))
    return _Rows(
        names, many=d.flatten(d.map(left.many or "", outer, d.map(right.many or "", inner, body)))
    )


def _product(parts: list[_Rows], ctx: _Ctx) -> _Rows:
    if not parts:
        raise ViewError("A select needs at least one of column, select, unionAll, forEach.")
    result = parts[0]
    for part in parts[1:]:
        result = _cross(result, part, ctx)
    return result


def _union(branches: Any, ctx: _Ctx) -> _Rows:
    if not isinstance(branches, list) or not branches:
        raise ViewError("unionAll must be a non-empty list of selections.")
    compiled = [_selection(branch, ctx) for branch in branches]
    names = compiled[0].names
    for rows in compiled[1:]:
        if rows.names != names:
            raise ViewError(
                f"unionAll branches must have the same columns in the same order: "
                f"{list(names)} vs {list(rows.names)}."
            )
    d = _d(ctx)
    state = ctx.state
    lists = []
    for rows in compiled:
        if rows.single is not None:
            # Field order follows the union's names, so every branch has one struct type.
            lists.append(d.array(d.struct(list(rows.single))))
        else:
            var = state.var("r")
            lists.append(
                d.map(
                    rows.many or "",
                    var,
                    d.struct([(state.ids[n], f"{var}.{state.ids[n]}") for n in names]),
                )
            )
    return _Rows(names, many=d.concat(*lists))


def _body(selection: Mapping[str, Any], ctx: _Ctx) -> _Rows:
    parts: list[_Rows] = []
    if "column" in selection:
        parts.append(_columns(selection, ctx))
    nested = selection.get("select", [])
    if not isinstance(nested, list):
        raise ViewError("A select's 'select' must be a list.")
    parts.extend(_selection(child, ctx) for child in nested)
    if "unionAll" in selection:
        parts.append(_union(selection["unionAll"], ctx))
    return _product(parts, ctx)


_SELECTION_KEYS = {"column", "select", "unionAll", "forEach", "forEachOrNull", "repeat"}


def _repeat(paths: Any, ctx: _Ctx) -> Coll:
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise ViewError("repeat must be a non-empty list of FHIRPath expressions.")
    d = _d(ctx)
    state = ctx.state
    parsed = []
    for path in paths:
        try:
            parsed.append(fp.parse(path))
        except ViewError as exc:
            raise ViewError(f"repeat: {exc}") from None

    def children(var: str) -> str:
        inner = ctx.at(Item(var, True))
        return d.concat(*[_as_coll(compile_path(p, inner), inner) for p in parsed])

    def subtree(var: str, depth: int) -> str:
        """The item and everything below it, depth first."""
        if depth == 0:
            return (
                f"(CASE WHEN {d.size(children(var))} > 0 THEN "
                f"{d.error(f'repeat goes deeper than {REPEAT_DEPTH} levels')} "
                f"ELSE {d.array(var)} END)"
            )
        child = state.var()
        return d.concat(
            d.array(var), d.flatten(d.map(children(var), child, subtree(child, depth - 1)))
        )

    top = ctx.state.var()
    focus_children = d.concat(*[_as_coll(compile_path(p, ctx), ctx) for p in parsed])
    return Coll(d.flatten(d.map(focus_children, top, subtree(top, REPEAT_DEPTH - 1))))


def _selection(selection: Any, ctx: _Ctx) -> _Rows:
    if not isinstance(selection, dict):
        raise ViewError(f"A select must be an object, got {selection!r}.")
    unknown = set(selection) - _SELECTION_KEYS - {"description"}
    if unknown:
        raise ViewError(f"Unknown select key(s): {sorted(unknown)}.")
    iterators = [k for k in ("forEach", "forEachOrNull", "repeat") if k in selection]
    if len(iterators) > 1:
        raise ViewError(
            f"A select may have only one of forEach, forEachOrNull, repeat: {iterators}."
        )
    if not iterators:
        return _body(selection, ctx)
    key = iterators[0]
    d = _d(ctx)
    state = ctx.state
    items_type: str | None = None
    if key == "repeat":
        items = _repeat(selection[key], ctx).sql
    else:
        if not isinstance(selection[key], str):
            raise ViewError(f"{key} must be a FHIRPath string, got {selection[key]!r}.")
        value = _compile_text(selection[key], ctx, key)
        items_type = value.typ if isinstance(value, Coll | Item) else None
        items = _as_coll(value, ctx)
    if key == "forEachOrNull":
        # No item: one row of the body evaluated on an absent item (nulls, %rowIndex 0).
        items = f"(CASE WHEN {d.size(items)} = 0 THEN {d.null_items()} ELSE {items} END)"
    var, index = state.var("i"), state.var("x")
    typ = None if key == "repeat" else items_type
    inner = _body(selection, ctx.at(Item(var, True, typ), d.row_index(index)))
    rows = d.flatten(d.map(items, var, _rows_list(inner, ctx), index=index))
    return _Rows(inner.names, many=rows)


# -- the view -------------------------------------------------------------------------------

_CONSTANT_KINDS = {
    "valueBoolean": "boolean",
    "valueDecimal": "decimal",
    "valueInteger": "integer",
    "valuePositiveInt": "integer",
    "valueUnsignedInt": "integer",
    "valueInteger64": "integer",
}


def _constants(view: Mapping[str, Any], d: Dialect) -> dict[str, Scalar]:
    constants: dict[str, Scalar] = {}
    raw = view.get("constant", [])
    if not isinstance(raw, list):
        raise ViewError("constant must be a list.")
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ViewError(f"A constant needs a name: {entry!r}.")
        name = entry["name"]
        values = [k for k in entry if k.startswith("value")]
        if len(values) != 1:
            raise ViewError(
                f"Constant {name!r} needs exactly one value[x], got {values or 'none'}."
            )
        key = values[0]
        value = entry[key]
        kind = _CONSTANT_KINDS.get(key, "string")
        if kind == "boolean":
            sql = "TRUE" if value else "FALSE"
        elif kind == "integer":
            sql = f"CAST({int(value)} AS BIGINT)"
        elif kind == "decimal":
            sql = f"CAST({float(value)!r} AS DOUBLE)"
        else:
            sql = d.string(str(value))
        constants[name] = Scalar(sql, kind)
    return constants


def view_name(view: Mapping[str, Any], default: str = "view") -> str:
    name = view.get("name") or default
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name)).lower()


def compile_view(
    view: Any,
    engine: str = "duckdb",
    table_for: Callable[[str], str | tuple[str, str]] | None = None,
    resource_column: str = "resource",
) -> CompiledView:
    """Validate ``view`` and render it as one SELECT for ``engine``; ViewError when refused.

    ``table_for(resource_type)`` names the table holding that resource type's JSON, or a
    ``(table, json_column)`` pair; the JSON column defaults to ``resource_column``.
    """
    if not isinstance(view, dict):
        raise ViewError("A ViewDefinition must be a JSON object.")
    resource = view.get("resource")
    if not isinstance(resource, str) or not re.match(r"^[A-Z][A-Za-z]+$", resource):
        raise ViewError(f"The view's resource must be a FHIR resource type, got {resource!r}.")
    selects = view.get("select")
    if not isinstance(selects, list) or not selects:
        raise ViewError("The view needs a non-empty select list.")
    d = dialect_for(engine)
    state = _State(dialect=d, constants=_constants(view, d))
    ctx = _Ctx(
        state=state,
        focus=Item("__r", True, resource),
        row_index="CAST(0 AS BIGINT)",
        resource=resource,
    )
    parts = [_selection(s, ctx) for s in selects]
    names: list[str] = []
    for part in parts:
        for name in part.names:
            if name in names:
                raise ViewError(f"Column name {name!r} is used more than once in the view.")
            names.append(name)
    # One-row selections stay plain columns of the resource's row; only the selections
    # with several rows per resource (forEach, unionAll, ...) are crossed and unnested.
    singles = [p for p in parts if p.single is not None]
    manys = [p for p in parts if p.many is not None]
    many = _product(manys, ctx) if manys else None
    single_fields = dict(field for p in singles for field in p.single or ())

    conditions = []
    wheres = view.get("where", [])
    if not isinstance(wheres, list):
        raise ViewError("where must be a list.")
    for entry in wheres:
        if not isinstance(entry, dict) or "path" not in entry:
            raise ViewError(f"A where entry needs a path: {entry!r}.")
        value = _compile_text(entry["path"], ctx, "where")
        if isinstance(value, Scalar):
            conditions.append(_as_bool(value, ctx))
            continue
        item = _as_item(value, ctx).sql
        message = f"where path {entry['path']!r} does not evaluate to a boolean"
        conditions.append(
            f"(CASE WHEN {item} IS NULL THEN NULL WHEN {d.json_is(item, 'boolean')} "
            f"THEN {d.json_to(item, 'boolean')} ELSE {d.error(message)} END)"
        )
    target = table_for(resource) if table_for else f"fhir.{resource.lower()}"
    table, resource_column = target if isinstance(target, tuple) else (target, resource_column)
    source = f"(SELECT {d.parse_resource(resource_column)} AS __r FROM {table}) AS __src"
    where_sql = (
        ("\nWHERE " + " AND ".join(f"coalesce({c}, false)" for c in conditions))
        if conditions
        else ""
    )
    outputs = [state.columns[name] for name in names]
    if many is None:
        select = ",\n    ".join(
            f"{single_fields[state.ids[name]]} AS {d.quote(name)}" for name in names
        )
        sql = f"SELECT\n    {select}\nFROM {source}{where_sql}"
    else:
        inner = [f"{sql} AS {column_id}" for column_id, sql in single_fields.items()]
        inner.append(f"{d.explode(many.many or '')} AS __row")
        select = ",\n    ".join(
            (state.ids[name] if state.ids[name] in single_fields else f"__row.{state.ids[name]}")
            + f" AS {d.quote(name)}"
            for name in names
        )
        sql = (
            f"SELECT\n    {select}\nFROM (\n    SELECT\n        "
            + ",\n        ".join(inner)
            + f"\n    FROM {source}{where_sql}\n) AS __rows"
        )
    return CompiledView(
        name=view_name(view, resource.lower()),
        resource=resource,
        table=table,
        sql=sql,
        columns=tuple(outputs),
        dialect=engine,
    )
