"""The directory's query API: nearby, search, service availability, network, statistics.

Every function takes either a :class:`Warehouse` (one session per call, e.g. the CLI) or an
open :class:`WarehouseSession` (many calls on one connection, e.g. a service or the
benchmark: ``with local_warehouse(read_only=True).session() as s: nearby(s, ...)``).
User values are always bound parameters; only names from the fixed maps below are ever
placed into SQL text.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from directory_assets import search_index
from directory_assets.index import DirectoryIndex, haversine_miles
from directory_assets.normalize import EARTH_RADIUS_MILES, haversine_miles_sql
from directory_assets.search_index import SearchIndex
from resources.geography import us_states
from resources.warehouse import Warehouse, WarehouseSession

#: --service NAME -> a predicate on directory.organizations (fixed text, never user input).
SERVICES: dict[str, str] = {
    "mat": "medication_assisted_treatment",
    "otp": "opioid_treatment_program",
    "outpatient": "level_of_care = 'outpatient'",
    "residential": "level_of_care = 'residential'",
    "inpatient": "level_of_care = 'inpatient'",
}
#: --payment NAME -> a predicate on directory.organizations.
PAYMENTS: dict[str, str] = {
    "medicaid": "accepts_medicaid",
    "medicare": "accepts_medicare",
    "private": "accepts_private_insurance",
    "self_pay": "accepts_cash_self_payment",
    "sliding_fee": "sliding_fee_scale",
}
ORG_TYPES = ("treatment_center", "narr_residence", "recovery_center", "recovery_organization")
MILES_PER_DEGREE_LAT_MIN = 68.7  # shortest degree of latitude (at the equator): a safe box
MILES_PER_DEGREE_LON_EQUATOR = 2 * math.pi * EARTH_RADIUS_MILES / 360

_ORG_COLUMNS = (
    "org_id, org_type, name, street, city, state, zip_code, phone, website, latitude, longitude"
)

Target = Warehouse | WarehouseSession
#: nearby, service_availability and directory_stats also accept a loaded DirectoryIndex.
Indexed = Target | DirectoryIndex


class QueryError(ValueError):
    """A query parameter is invalid; the message says which and why, ``parameter`` names it."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


@contextlib.contextmanager
def _session(target: Target) -> Iterator[WarehouseSession]:
    if isinstance(target, WarehouseSession):
        yield target
    else:
        with target.session() as session:
            yield session


def _dicts(
    session: WarehouseSession, sql: str, params: Mapping[str, Any], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows as dicts keyed by ``columns`` (the SELECT list, in order)."""
    return [dict(zip(columns, row, strict=True)) for row in session.fetch_rows(sql, dict(params))]


def _names(select_list: str) -> list[str]:
    """Output names of a simple SELECT list ("a, b AS c, round(x, 3) AS d" -> a, c, d)."""
    names, depth, current = [], 0, ""
    for ch in select_list + ",":
        if ch == "," and depth == 0:
            names.append(current.strip().split()[-1].split(".")[-1])
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    return names


def normalize_state(state: str | None) -> str | None:
    """A USPS code from a code or full name in any case; None passes through."""
    if state is None or not state.strip():
        return None
    key = state.strip().lower()
    for s in us_states():
        if key in (s.usps.lower(), s.name.lower()):
            return s.usps
    raise QueryError(
        f"Unknown state {state!r}; use a USPS code such as CA or a state name.", "state"
    )


def _filters(service: str | None, payment: str | None) -> list[str]:
    clauses = []
    if service is not None:
        if service not in SERVICES:
            raise QueryError(
                f"Unknown service {service!r}; choose from {', '.join(SERVICES)}.", "service"
            )
        clauses.append(SERVICES[service])
    if payment is not None:
        if payment not in PAYMENTS:
            raise QueryError(
                f"Unknown payment {payment!r}; choose from {', '.join(PAYMENTS)}.", "payment"
            )
        clauses.append(PAYMENTS[payment])
    return clauses


def bounding_box(lat: float, lon: float, miles: float) -> tuple[float, float, float, float] | None:
    """(lat_min, lat_max, lon_min, lon_max) containing every point within ``miles``.

    None for the longitude part (returned as the full range) near the poles or when the
    box would cross the antimeridian.
    """
    dlat = miles / MILES_PER_DEGREE_LAT_MIN
    lat_min, lat_max = lat - dlat, lat + dlat
    polar = max(abs(lat_min), abs(lat_max))
    if polar >= 89.0:
        return (lat_min, lat_max, -180.0, 180.0)
    dlon = miles / (MILES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(polar)))
    if lon - dlon < -180.0 or lon + dlon > 180.0:
        return (lat_min, lat_max, -180.0, 180.0)
    return (lat_min, lat_max, lon - dlon, lon + dlon)


def nearby(
    target: Indexed,
    lat: float,
    lon: float,
    miles: float = 10.0,
    limit: int = 25,
    org_type: str | None = None,
) -> list[dict[str, Any]]:
    """Organizations within ``miles`` (great-circle) of (lat, lon), nearest first."""
    _check_point(lat, lon, miles)
    if org_type is not None and org_type not in ORG_TYPES:
        raise QueryError(
            f"Unknown organization type {org_type!r}; choose from {', '.join(ORG_TYPES)}.",
            "type",
        )
    box = bounding_box(lat, lon, miles)
    if isinstance(target, DirectoryIndex):
        return target.nearby(float(lat), float(lon), float(miles), int(limit), org_type, box)
    lat_min, lat_max, lon_min, lon_max = box
    distance = haversine_miles_sql("$lat", "$lon", "latitude", "longitude")
    sql = f"""
        SELECT {_ORG_COLUMNS}, round(distance_miles, 3) AS distance_miles
        FROM (
            SELECT {_ORG_COLUMNS}, {distance} AS distance_miles
            FROM directory.organizations
            WHERE latitude BETWEEN $lat_min AND $lat_max
              AND longitude BETWEEN $lon_min AND $lon_max
              AND ($org_type IS NULL OR org_type = $org_type)
        ) AS box
        WHERE distance_miles <= $miles
        ORDER BY distance_miles, org_id
        LIMIT $limit
    """
    params = {
        "lat": float(lat), "lon": float(lon), "miles": float(miles), "limit": int(limit),
        "lat_min": lat_min, "lat_max": lat_max, "lon_min": lon_min, "lon_max": lon_max,
        "org_type": org_type,
    }  # fmt: skip
    with _session(target) as session:
        return _dicts(session, sql, params, [*_names(_ORG_COLUMNS), "distance_miles"])


def search(
    index: SearchIndex,
    text: str,
    state: str | None = None,
    service: str | None = None,
    payment: str | None = None,
    limit: int = 25,
    org_type: str | None = None,
    near: tuple[float, float, float] | None = None,
) -> list[dict[str, Any]]:
    """Relevance search of the published search index (``directory_assets.search_index``).

    Every word must match name, DBA names, city or address, in any order, exactly, as a
    prefix or with one typo; BM25-ranked, name hits above address hits. ``near`` =
    (lat, lon, miles) keeps organizations within that great-circle distance and adds
    ``distance_miles``.
    """
    if not search_index.words(text):
        raise QueryError("Search text is empty (it needs at least one letter or digit).", "q")
    _filters(service, payment)
    if org_type is not None and org_type not in ORG_TYPES:
        raise QueryError(
            f"Unknown organization type {org_type!r}; choose from {', '.join(ORG_TYPES)}.",
            "type",
        )
    box = None
    if near is not None:
        lat, lon, miles = near
        _check_point(lat, lon, miles)
        box = bounding_box(lat, lon, miles)
    # A box is wider than its circle: fetch more, then keep those truly within ``miles``.
    fetch = int(limit) * 4 if near is not None else int(limit)
    _, rows = index.search(text, normalize_state(state), org_type, service, payment, fetch, box)
    if near is not None:
        lat, lon, miles = near
        kept = []
        for row in rows:
            if row["latitude"] is None:
                continue
            distance = float(
                haversine_miles(
                    lat, lon, np.array([row["latitude"]]), np.array([row["longitude"]])
                )[0]
            )
            if distance <= miles:
                row["distance_miles"] = round(distance, 3)
                kept.append(row)
        rows = kept
    return rows[: int(limit)]


def _check_point(lat: float, lon: float, miles: float) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise QueryError(f"({lat}, {lon}) is not a valid latitude/longitude.", "lat")
    if not 0 < miles <= 500:
        raise QueryError("--miles must be greater than 0 and at most 500.", "miles")


def service_availability(
    target: Indexed,
    state: str,
    service: str = "mat",
    payment: str | None = "medicaid",
    limit: int = 50,
) -> dict[str, Any]:
    """Treatment centers in ``state`` offering ``service`` (and accepting ``payment``)."""
    if service is None:
        raise QueryError("A service is required (e.g. mat).")
    clauses = _filters(service, payment)
    usps = normalize_state(state)
    if isinstance(target, DirectoryIndex):
        total, rows = target.service_availability(usps or "", clauses, int(limit))
        return {"state": usps, "service": service, "payment": payment, "total": total,
                "organizations": rows}  # fmt: skip
    where = " AND ".join(["org_type = 'treatment_center'", "state = $state", *clauses])
    sql = f"""
        SELECT {_ORG_COLUMNS}, count(*) OVER () AS total
        FROM directory.organizations
        WHERE {where}
        ORDER BY name, org_id
        LIMIT $limit
    """
    params = {"state": usps, "limit": int(limit)}
    with _session(target) as session:
        rows = _dicts(session, sql, params, [*_names(_ORG_COLUMNS), "total"])
    total = int(rows[0].pop("total")) if rows else 0
    for row in rows[1:]:
        row.pop("total", None)
    return {"state": params["state"], "service": service, "payment": payment, "total": total,
            "organizations": rows}  # fmt: skip


def network(target: Indexed, org_id: str, limit: int = 25) -> list[dict[str, Any]]:
    """The organizations within 25 miles of ``org_id``, nearest (strongest) first."""
    if isinstance(target, DirectoryIndex):
        rows = target.neighbours(org_id, int(limit))
        if rows is not None:
            return rows
        raise QueryError("This index holds no network; query the warehouse session instead.")
    select = (
        "n.neighbour_rank, n.related_org_id AS org_id, n.related_name AS name, "
        "n.related_org_type AS org_type, n.related_city AS city, n.related_state AS state, "
        "n.distance_miles, n.strength"
    )
    sql = f"""
        SELECT {select}
        FROM directory.network_relationships AS n
        WHERE n.org_id = $org_id
        ORDER BY n.neighbour_rank
        LIMIT $limit
    """
    with _session(target) as session:
        return _dicts(session, sql, {"org_id": org_id, "limit": int(limit)}, _names(select))


def directory_stats(warehouse: Indexed, state: str | None = None) -> list[dict[str, Any]]:
    """Organizations per state and type, with coordinates, contact, MAT and Medicaid counts."""
    if isinstance(warehouse, DirectoryIndex):
        usps = normalize_state(state)
        return [dict(r) for r in warehouse.stats if usps is None or r["state"] == usps]
    select = (
        "state, org_type, organizations, with_coordinates, with_phone, with_website, "
        "mat_providers, accepts_medicaid"
    )
    sql = f"""
        SELECT {select}
        FROM directory.v_organization_summary
        WHERE $state IS NULL OR state = $state
        ORDER BY state, org_type
    """
    with _session(warehouse) as session:
        rows = _dicts(session, sql, {"state": normalize_state(state)}, _names(select))
    return [
        {k: (int(v) if k not in ("state", "org_type") else v) for k, v in r.items()} for r in rows
    ]
