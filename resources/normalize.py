"""Normalization rules for every source, in ONE place, as portable SQL expressions.

Each function takes a SQL expression (a column of text read from a landing file) and returns
a SQL expression in DuckDB's dialect that the Spark warehouse translates unchanged in
meaning (no macros, no UDFs: ``regexp_matches``, ``try_cast``, ``lpad``, ``substr``,
``regexp_replace`` and ``CASE`` only). Pairs of functions give the value and, when the raw
text is present but unusable, the reason (``*_issue``): nothing becomes NULL silently.

Rules
-----
- Text: trimmed; empty text is NULL (``text_sql``).
- Dates (``date_sql``): ISO 8601 (``2012-11-21``, ``2012-11-21T08:00:00Z``, with an
  offset), ``M/D/YYYY`` and ``MM/DD/YYYY`` (US order, as a spreadsheet re-saves them, a
  time after it is ignored) and ``YYYYMMDD``. Anything else, or an impossible date
  (``2/30/2012``), is NULL with the issue ``not a date`` / ``impossible date``.
- Timestamps (``timestamp_sql``): the same forms; a date alone is midnight.
- ZIP codes (``zip5_sql``, ``zip4_sql``): 3 or 4 digits regain their leading zeros
  (``1013`` -> ``01013``), a spreadsheet's ``2451.0`` is ``02451``, ZIP+4 (``02138-1234``,
  ``021381234``) keeps its 4 digits in ``zip4_sql``. ``0``/``00000`` (``zero ZIP``), text
  (``not numeric``) and other lengths (``wrong length``) are NULL with the issue.
- States (``state_usps_sql``): USPS codes in any case or full names -> USPS code.
- ZIP and state agree (``zip_state_issue_sql``): the ZIP's 3-digit prefix must be one the
  ``zipcodes`` package lists for the row's state.
- Numbers (``number_sql``): plain decimals; with both a thousands and a decimal separator
  (``1,234.56`` or ``1.234,56``) or a decimal comma (``12,5``) they are read as such. Units,
  text and ambiguous groupings (``1,234``) are NULL with the issue.
- Coordinates (``coordinate_issue_sql``): inside the US and within the row's state's box
  (the ZIP centroids of the state plus a tolerance).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from importlib import resources as package_files
from pathlib import Path

from resources.geography import us_states, zip_places

#: US bounds (lat_min, lat_max, lon_min, lon_max): the lower 48, Alaska (both sides of the
#: antimeridian), Hawaii, Puerto Rico and the Virgin Islands, Guam and the Northern
#: Mariana Islands, American Samoa.
US_BOUNDS = (
    (24.3, 49.5, -125.0, -66.8),
    (51.0, 71.6, -180.0, -129.9),
    (51.0, 53.1, 172.0, 180.0),
    (18.8, 22.4, -160.5, -154.7),
    (17.6, 18.6, -68.0, -64.5),
    (13.2, 20.7, 144.5, 146.2),
    (-14.7, -10.9, -171.2, -168.0),
)
#: Degrees a coordinate may lie outside its state's box of ZIP centroids.
STATE_BOX_TOLERANCE = 0.75


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def uuid_shape_sql(hex_digest: str) -> str:
    """A 32-digit hex digest (``md5(...)``) written as a UUID: 8-4-4-4-12 digits.

    The key of rows a source gives no id (Synthea conditions, observations, ...).
    """
    h = hex_digest
    return " || '-' || ".join(
        f"substr({h}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )


def text_sql(raw: str) -> str:
    """Trimmed text, NULL when empty."""
    return f"nullif(trim(CAST({raw} AS VARCHAR)), '')"


# --- dates -----------------------------------------------------------------------------

_ISO_DATE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$"
_ISO_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
_US_DATE = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?( ?[AaPp][Mm])?)?$"
_COMPACT_DATE = r"^[0-9]{8}$"


def _iso_text(raw: str) -> str:
    """The raw date's YYYY-MM-DD text when it has a known form (may be impossible)."""
    t = text_sql(raw)
    us = r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})"
    return (
        f"CASE WHEN regexp_matches({t}, '{_ISO_DATE}') THEN "
        f"regexp_extract({t}, '^([0-9]{{4}})-', 1) || '-' "
        f"|| lpad(regexp_extract({t}, '^[0-9]{{4}}-([0-9]{{1,2}})-', 1), 2, '0') || '-' "
        f"|| lpad(regexp_extract({t}, '-([0-9]{{1,2}})$', 1), 2, '0') "
        f"WHEN regexp_matches({t}, '{_ISO_DATETIME}') THEN substr({t}, 1, 10) "
        f"WHEN regexp_matches({t}, '{_US_DATE}') THEN "
        f"regexp_extract({t}, '{us}', 3) || '-' "
        f"|| lpad(regexp_extract({t}, '{us}', 1), 2, '0') || '-' "
        f"|| lpad(regexp_extract({t}, '{us}', 2), 2, '0') "
        f"WHEN regexp_matches({t}, '{_COMPACT_DATE}') THEN "
        f"substr({t}, 1, 4) || '-' || substr({t}, 5, 2) || '-' || substr({t}, 7, 2) END"
    )


def date_sql(raw: str) -> str:
    """A DATE from any accepted form, NULL otherwise (see :func:`date_issue_sql`)."""
    return f"try_cast({_iso_text(raw)} AS DATE)"


def date_issue_sql(raw: str) -> str:
    """Why a present date is unusable: 'not a date' or 'impossible date'; NULL if fine."""
    return (
        f"CASE WHEN {text_sql(raw)} IS NULL THEN NULL "
        f"WHEN {_iso_text(raw)} IS NULL THEN 'not a date' "
        f"WHEN {date_sql(raw)} IS NULL THEN 'impossible date' END"
    )


def _time_text(raw: str) -> str:
    """HH:MM:SS of an ISO date-time or a US date with a time, '00:00:00' for a date alone."""
    t = text_sql(raw)
    return (
        f"CASE WHEN regexp_matches({t}, '{_ISO_DATETIME}') THEN "
        f"substr({t}, 12, 5) || coalesce(nullif(regexp_extract({t}, "
        f"'^.{{16}}(:[0-9]{{2}})', 1), ''), ':00') "
        f"WHEN regexp_matches({t}, '^[0-9/]+ [0-9]{{1,2}}:[0-9]{{2}}') THEN "
        f"lpad(CAST((CAST(regexp_extract({t}, ' ([0-9]{{1,2}}):', 1) AS INTEGER) % 12 "
        f"+ CASE WHEN regexp_matches(lower({t}), 'pm$') THEN 12 "
        f"WHEN regexp_matches(lower({t}), 'am$') THEN 0 "
        f"ELSE 12 * CAST(CAST(regexp_extract({t}, ' ([0-9]{{1,2}}):', 1) AS INTEGER) / 12 AS INTEGER) END)"
        f" AS VARCHAR), 2, '0') || ':' || regexp_extract({t}, ' [0-9]{{1,2}}:([0-9]{{2}})', 1) "
        f"|| coalesce(nullif(regexp_extract({t}, ' [0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}})', 1), ''), ':00') "
        f"ELSE '00:00:00' END"
    )


def _offset_minutes(raw: str) -> str:
    """Minutes east of UTC of an ISO date-time's offset (0 for Z or none)."""
    t = text_sql(raw)

    def off(group: int) -> str:
        return f"regexp_extract({t}, '([+-])([0-9]{{2}}):?([0-9]{{2}})?$', {group})"

    return (
        f"CASE WHEN regexp_matches({t}, '{_ISO_DATETIME}') "
        f"AND regexp_matches({t}, 'T?[0-9:.]+[+-][0-9]{{2}}(:?[0-9]{{2}})?$') THEN "
        f"(CASE WHEN {off(1)} = '-' THEN -1 ELSE 1 END) * "
        f"(CAST({off(2)} AS INTEGER) * 60 "
        f"+ coalesce(try_cast(nullif({off(3)}, '') AS INTEGER), 0)) ELSE 0 END"
    )


def timestamp_sql(raw: str) -> str:
    """A TIMESTAMP (UTC when the text carries an offset) from any accepted form, else NULL."""
    local = f"try_cast({_iso_text(raw)} || ' ' || {_time_text(raw)} AS TIMESTAMP)"
    return (
        f"CASE WHEN {_offset_minutes(raw)} = 0 THEN {local} "
        f"ELSE {local} - INTERVAL 1 MINUTE * {_offset_minutes(raw)} END"
    )


def timestamp_issue_sql(raw: str) -> str:
    """Why a present timestamp is unusable; NULL if fine."""
    return (
        f"CASE WHEN {text_sql(raw)} IS NULL THEN NULL "
        f"WHEN {_iso_text(raw)} IS NULL THEN 'not a date' "
        f"WHEN try_cast({_iso_text(raw)} || ' ' || {_time_text(raw)} AS TIMESTAMP) IS NULL "
        f"THEN 'impossible date' END"
    )


# --- ZIP codes and states --------------------------------------------------------------


def _zip_digits(raw: str) -> str:
    """The ZIP's digits: spaces and a spreadsheet's '.0' removed, ZIP+4's hyphen removed."""
    t = text_sql(raw)
    return (
        f"CASE WHEN regexp_matches({t}, '^[0-9]{{5}}-[0-9]{{4}}$') THEN replace({t}, '-', '') "
        f"WHEN regexp_matches({t}, '^[0-9]+[.]0+$') THEN regexp_extract({t}, '^([0-9]+)', 1) "
        f"ELSE {t} END"
    )


def zip_issue_sql(raw: str) -> str:
    """Why a present ZIP is unusable: 'zero ZIP', 'not numeric', 'wrong length'; else NULL."""
    d = _zip_digits(raw)
    return (
        f"CASE WHEN {text_sql(raw)} IS NULL THEN NULL "
        f"WHEN NOT regexp_matches({d}, '^[0-9]+$') THEN 'not numeric' "
        f"WHEN regexp_matches({d}, '^0+$') THEN 'zero ZIP' "
        f"WHEN length({d}) NOT IN (3, 4, 5, 8, 9) THEN 'wrong length' END"
    )


def zip5_sql(raw: str) -> str:
    """The 5-digit ZIP (leading zeros restored), NULL when absent or unusable."""
    d = _zip_digits(raw)
    return (
        f"CASE WHEN {zip_issue_sql(raw)} IS NULL AND {text_sql(raw)} IS NOT NULL THEN "
        f"CASE WHEN length({d}) <= 5 THEN lpad({d}, 5, '0') "
        f"ELSE substr(lpad({d}, 9, '0'), 1, 5) END END"
    )


def zip4_sql(raw: str) -> str:
    """The ZIP+4 add-on (4 digits) when the raw ZIP had one, else NULL."""
    d = _zip_digits(raw)
    return (
        f"CASE WHEN {zip_issue_sql(raw)} IS NULL AND length({d}) IN (8, 9) "
        f"THEN substr(lpad({d}, 9, '0'), 6, 4) END"
    )


def postal_code_sql(raw: str) -> str:
    """The postal code as FHIR's Address.postalCode shows it: 12345 or 12345-6789."""
    return f"CASE WHEN {zip4_sql(raw)} IS NULL THEN {zip5_sql(raw)} ELSE {zip5_sql(raw)} || '-' || {zip4_sql(raw)} END"


def state_usps_sql(raw: str) -> str:
    """USPS code from a USPS code in any case or a full state name; NULL when unknown."""
    branches = []
    for state in us_states():
        branches.append(f"WHEN {_lit(state.usps.lower())} THEN {_lit(state.usps)}")
        branches.append(f"WHEN {_lit(state.name.lower())} THEN {_lit(state.usps)}")
    return f"CASE lower({text_sql(raw)}) {' '.join(branches)} END"


def state_issue_sql(raw: str) -> str:
    return (
        f"CASE WHEN {text_sql(raw)} IS NOT NULL AND {state_usps_sql(raw)} IS NULL "
        f"THEN 'unknown state' END"
    )


#: The ZIP-prefix and state-box tables, derived from ``zipcodes`` once and shipped (reading
#: 42,000 ZIP places costs seconds, and rules are built when the code location loads).
#: ``python -m resources.normalize`` rewrites the file; a test checks it matches the package.
ZIP_STATE_TABLES = "zip_state_tables.json"


def compute_zip_state_tables() -> dict[str, dict[str, list]]:
    """From ``zipcodes``: each state's 3-digit ZIP prefixes and the box of its ZIP centroids."""
    prefixes: dict[str, set[str]] = {}
    boxes: dict[str, list[float]] = {}
    for place in zip_places():
        prefixes.setdefault(place.state, set()).add(place.zip_code[:3])
        box = boxes.setdefault(place.state, [90.0, -90.0, 180.0, -180.0])
        box[0] = min(box[0], place.latitude)
        box[1] = max(box[1], place.latitude)
        box[2] = min(box[2], place.longitude)
        box[3] = max(box[3], place.longitude)
    return {
        "zip3_by_state": {state: sorted(p) for state, p in sorted(prefixes.items())},
        "state_boxes": {state: [round(v, 4) for v in box] for state, box in sorted(boxes.items())},
    }


@functools.cache
def _zip_state_tables() -> dict[str, dict[str, list]]:
    text = package_files.files("resources").joinpath(ZIP_STATE_TABLES).read_text("utf-8")
    return json.loads(text)


def zip3_by_state() -> dict[str, tuple[str, ...]]:
    """USPS code -> the 3-digit ZIP prefixes the ``zipcodes`` package lists for the state."""
    return {s: tuple(p) for s, p in _zip_state_tables()["zip3_by_state"].items()}


def zip_state_issue_sql(zip5: str, state_usps: str) -> str:
    """'ZIP not in state' when a 5-digit ZIP's prefix does not belong to the state; else NULL."""
    branches = [
        f"WHEN {_lit(state)} THEN substr({zip5}, 1, 3) IN ({', '.join(_lit(p) for p in prefixes)})"
        for state, prefixes in zip3_by_state().items()
    ]
    return (
        f"CASE WHEN {zip5} IS NOT NULL AND {state_usps} IS NOT NULL AND NOT coalesce("
        f"CASE {state_usps} {' '.join(branches)} END, TRUE) THEN 'ZIP not in state' END"
    )


# --- numbers and coordinates -----------------------------------------------------------

_PLAIN = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_US_GROUPED = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+[.][0-9]+$"
_EU_GROUPED = r"^[+-]?[0-9]{1,3}([.][0-9]{3})+,[0-9]+$"
_DECIMAL_COMMA = r"^[+-]?[0-9]+,([0-9]{1,2}|[0-9]{4,})$"


def _number_text(raw: str) -> str:
    t = text_sql(raw)
    return (
        f"CASE WHEN regexp_matches({t}, '{_PLAIN}') THEN {t} "
        f"WHEN regexp_matches({t}, '{_US_GROUPED}') THEN replace({t}, ',', '') "
        f"WHEN regexp_matches({t}, '{_EU_GROUPED}') THEN replace(replace({t}, '.', ''), ',', '.') "
        f"WHEN regexp_matches({t}, '{_DECIMAL_COMMA}') THEN replace({t}, ',', '.') END"
    )


def number_sql(raw: str, sql_type: str = "DOUBLE") -> str:
    """The number of the raw text as ``sql_type``, NULL when absent or not a number.

    A DOUBLE beyond the finite range is NULL too (``number_issue_sql`` says "out of
    range"): Infinity is no value a source meant, and JSON cannot carry it.
    """
    value = f"try_cast({_number_text(raw)} AS {sql_type})"
    if sql_type.upper() in ("DOUBLE", "FLOAT", "REAL"):
        # Text beyond the finite range (1e400) casts to +-Infinity on both engines.
        infinity = f"CAST('Infinity' AS {sql_type})"
        return f"nullif(nullif({value}, {infinity}), -{infinity})"
    return value


def number_issue_sql(raw: str, sql_type: str = "DOUBLE") -> str:
    """Why a present number is unusable; NULL if fine. 'NaN' counts as missing, not an issue."""
    t = text_sql(raw)
    return (
        f"CASE WHEN {t} IS NULL OR lower({t}) = 'nan' THEN NULL "
        f"WHEN regexp_matches({t}, '^[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+$') "
        f"THEN 'ambiguous thousands separator' "
        f"WHEN {_number_text(raw)} IS NULL THEN 'not a number' "
        f"WHEN {number_sql(raw, sql_type)} IS NULL THEN 'out of range' END"
    )


def in_us_bounds_sql(lat: str, lon: str) -> str:
    """True when (lat, lon) lies inside one of :data:`US_BOUNDS`."""
    boxes = [
        f"({lat} BETWEEN {a} AND {b} AND {lon} BETWEEN {c} AND {d})" for a, b, c, d in US_BOUNDS
    ]
    return "(" + " OR ".join(boxes) + ")"


def state_boxes() -> dict[str, tuple[float, float, float, float]]:
    """USPS code -> (lat_min, lat_max, lon_min, lon_max) of its ZIP centroids."""
    return {s: (a, b, c, d) for s, (a, b, c, d) in _zip_state_tables()["state_boxes"].items()}


def coordinate_issue_sql(lat: str, lon: str, state_usps: str) -> str:
    """'outside the US' or 'not in state' for parsed coordinates; NULL when fine or absent."""
    tol = STATE_BOX_TOLERANCE
    branches = [
        f"WHEN {_lit(state)} THEN {lat} BETWEEN {a - tol:.4f} AND {b + tol:.4f} "
        f"AND {lon} BETWEEN {c - tol:.4f} AND {d + tol:.4f}"
        for state, (a, b, c, d) in state_boxes().items()
    ]
    return (
        f"CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL "
        f"WHEN NOT {in_us_bounds_sql(lat, lon)} THEN 'outside the US' "
        f"WHEN {state_usps} IS NOT NULL AND NOT coalesce(CASE {state_usps} {' '.join(branches)} "
        f"END, TRUE) THEN 'not in state' END"
    )


def field_issues_sql(*specs: str) -> str:
    """``'COLUMN reason [raw]; ...'`` for each ``"COLUMN kind"`` spec whose value is unusable.

    ``kind`` is ``date``, ``timestamp``, ``number`` or ``zip``; NULL when every value is fine.
    """
    checks = {
        "date": date_issue_sql,
        "timestamp": timestamp_issue_sql,
        "number": number_issue_sql,
        "zip": zip_issue_sql,
    }
    parts = []
    for spec in specs:
        column, kind = spec.split()
        issue = checks[kind](column)
        parts.append(
            f"CASE WHEN ({issue}) IS NOT NULL THEN {_lit(column + ' ')} || ({issue}) "
            f"|| ' [' || {text_sql(column)} || ']' END"
        )
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


# --- templates -------------------------------------------------------------------------

#: The rules a ``.sql`` file may call as ``{{ name(arg, ...) }}``.
TEMPLATE_FUNCTIONS: dict[str, Callable[..., str]] = {
    "text": text_sql,
    "uuid_shape": uuid_shape_sql,
    "date": date_sql,
    "date_issue": date_issue_sql,
    "timestamp": timestamp_sql,
    "timestamp_issue": timestamp_issue_sql,
    "zip5": zip5_sql,
    "zip4": zip4_sql,
    "postal_code": postal_code_sql,
    "zip_issue": zip_issue_sql,
    "zip_state_issue": zip_state_issue_sql,
    "state_usps": state_usps_sql,
    "state_issue": state_issue_sql,
    "number": number_sql,
    "number_issue": number_issue_sql,
    "coordinate_issue": coordinate_issue_sql,
    "field_issues": field_issues_sql,
}
_TEMPLATE = re.compile(r"\{\{\s*([a-z_0-9]+)\(([^{}]*)\)\s*\}\}")


def _split_args(args: str) -> list[str]:
    """Split on the commas outside parentheses: ``a, DECIMAL(18, 2)`` is two arguments."""
    parts, depth, current = [], 0, ""
    for char in args:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def render(sql: str) -> str:
    """Expand ``{{ rule(arg, ...) }}`` placeholders with the rules above (args: SQL text)."""

    def expand(match: re.Match[str]) -> str:
        name, args = match.group(1), match.group(2)
        if name not in TEMPLATE_FUNCTIONS:
            raise ValueError(f"Unknown normalization rule {name!r} in SQL template.")
        parts = _split_args(args)
        return "(" + TEMPLATE_FUNCTIONS[name](*parts) + ")"

    # Comment lines may mention placeholders; only SQL text is expanded.
    return "\n".join(
        line if line.lstrip().startswith("--") else _TEMPLATE.sub(expand, line)
        for line in sql.split("\n")
    )


if __name__ == "__main__":  # regenerate the shipped ZIP/state tables from ``zipcodes``
    target = Path(__file__).with_name(ZIP_STATE_TABLES)
    target.write_text(json.dumps(compute_zip_state_tables(), indent=0) + "\n", encoding="utf-8")
    print(f"wrote {target}")
