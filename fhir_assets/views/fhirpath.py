"""A parser for the FHIRPath subset SQL on FHIR v2 shareable views use.

``parse(text)`` returns a small AST (frozen dataclasses) that the compiler
(:mod:`fhir_assets.views.compiler`) turns into SQL. Anything outside the grammar below is
refused with :class:`ViewError` naming the expression and the position.

Grammar (FHIRPath precedence, lowest first): ``implies``; ``or`` ``xor``; ``and``;
``=`` ``!=`` ``~`` ``!~``; ``<`` ``<=`` ``>`` ``>=``; ``|``; ``+`` ``-`` ``&``;
``*`` ``/`` ``div`` ``mod``; unary ``-``; ``.member``, ``.fn(args)``, ``[index]``; terms
(literals, ``%constant``, ``$this``, ``$index``, identifiers, function calls, ``( )``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any


class ViewError(ValueError):
    """A ViewDefinition (or a FHIRPath expression in it) that cannot be run."""


@dataclasses.dataclass(frozen=True)
class Literal:
    value: Any
    type: str  # string | integer | decimal | boolean | date | datetime | time | empty


@dataclasses.dataclass(frozen=True)
class Constant:
    name: str


@dataclasses.dataclass(frozen=True)
class This:
    pass


@dataclasses.dataclass(frozen=True)
class Member:
    base: Any  # None = the focus ($this)
    name: str


@dataclasses.dataclass(frozen=True)
class Call:
    base: Any  # None = the focus
    name: str
    args: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Index:
    base: Any
    index: Any


@dataclasses.dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclasses.dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>@[0-9T][0-9:\-T.+Z]*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<delimited>`[^`]*`)
  | (?P<constant>%(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]*`|'[^']*'))
  | (?P<special>\$this|\$index|\$total)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|!~|[-+*/&|=~<>(),.\[\]{}])
    """,
    re.VERBOSE,
)

_KEYWORD_OPS = {"and", "or", "xor", "implies", "div", "mod", "is", "as", "in", "contains"}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "f": "\f",
    "'": "'",
    '"': '"',
    "`": "`",
    "\\": "\\",
    "/": "/",
}


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ViewError(f"FHIRPath {text!r}: unexpected {text[position]!r} at {position}.")
        kind = match.lastgroup or ""
        value = match.group(0)
        if kind != "ws":
            if kind == "ident" and value in _KEYWORD_OPS:
                kind = "op"
            tokens.append((kind, value, position))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


_BINARY_LEVELS: list[set[str]] = [
    {"implies"},
    {"or", "xor"},
    {"and"},
    {"in", "contains"},
    {"=", "!=", "~", "!~"},
    {"<", "<=", ">", ">="},
    {"|"},
    {"is", "as"},
    {"+", "-", "&"},
    {"*", "/", "div", "mod"},
]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, message: str) -> ViewError:
        _kind, value, position = self.peek()
        where = f"at {position} ({value!r})" if value else "at the end"
        return ViewError(f"FHIRPath {self.text!r}: {message} {where}.")

    def expect(self, value: str) -> None:
        if self.peek()[1] != value:
            raise self.fail(f"expected {value!r}")
        self.take()

    def parse(self) -> Any:
        if self.peek()[0] == "end":
            raise ViewError("Empty FHIRPath expression.")
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise self.fail("unexpected token")
        return node

    def binary(self, level: int) -> Any:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY_LEVELS[level]:
            op = self.take()[1]
            if op in ("is", "as"):
                right: Any = Literal(self.type_specifier(), "type")
            else:
                right = self.binary(level + 1)
            left = Binary(op, left, right)
        return left

    def type_specifier(self) -> str:
        kind, value, _ = self.take()
        if kind not in ("ident", "delimited"):
            raise self.fail("expected a type name")
        name = value.strip("`")
        while self.peek()[1] == "." and self.tokens[self.pos + 1][0] == "ident":
            self.take()
            name = self.take()[1]  # System.String / FHIR.Quantity: keep the type name
        return name

    def unary(self) -> Any:
        if self.peek()[1] in ("-", "+") and self.peek()[0] == "op":
            op = self.take()[1]
            operand = self.unary()
            return operand if op == "+" else Unary("-", operand)
        return self.postfix()

    def postfix(self) -> Any:
        node = self.term()
        while True:
            value = self.peek()[1]
            if value == "." and self.peek()[0] == "op":
                self.take()
                kind, name, _ = self.take()
                if kind not in ("ident", "delimited"):
                    raise self.fail("expected a name after '.'")
                node = self.invocation(node, name.strip("`"))
            elif value == "[" and self.peek()[0] == "op":
                self.take()
                index = self.binary(0)
                self.expect("]")
                node = Index(node, index)
            else:
                return node

    def invocation(self, base: Any, name: str) -> Any:
        if self.peek()[1] == "(":
            self.take()
            args: list[Any] = []
            if self.peek()[1] != ")":
                args.append(self.argument(name))
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.argument(name))
            self.expect(")")
            return Call(base, name, tuple(args))
        return Member(base, name)

    def argument(self, function: str) -> Any:
        if function in ("ofType", "getReferenceKey", "is", "as") and self.peek()[0] in (
            "ident",
            "delimited",
        ):
            return Literal(self.type_specifier(), "type")
        return self.binary(0)

    def term(self) -> Any:
        kind, value, _ = self.peek()
        if kind == "string":
            self.take()
            return Literal(_unescape(value[1:-1]), "string")
        if kind == "number":
            self.take()
            if "." in value:
                return Literal(value, "decimal")
            return Literal(int(value), "integer")
        if kind == "datetime":
            self.take()
            text = value[1:]
            if text.startswith("T"):
                return Literal(text[1:], "time")
            return Literal(text, "datetime" if "T" in text else "date")
        if kind == "constant":
            self.take()
            return Constant(value[1:].strip("`'"))
        if kind == "special":
            self.take()
            if value == "$this":
                return This()
            raise self.fail(f"{value} is not supported")
        if kind in ("ident", "delimited"):
            self.take()
            if kind == "ident" and value in ("true", "false"):
                return Literal(value == "true", "boolean")
            return self.invocation(None, value.strip("`"))
        if value == "(":
            self.take()
            node = self.binary(0)
            self.expect(")")
            return node
        if value == "{":
            self.take()
            self.expect("}")
            return Literal(None, "empty")
        raise self.fail("unexpected token")


def parse(text: Any) -> Any:
    """The AST of a FHIRPath expression; :class:`ViewError` when it is not one."""
    if not isinstance(text, str):
        raise ViewError(f"A FHIRPath expression must be a string, got {text!r}.")
    return _Parser(text).parse()
