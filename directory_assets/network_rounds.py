"""``network_relationships`` by expanding radius: exact nearest neighbours with bounded work.

Each round has a radius R (0.125, 0.25, 0.5, ... 16, then 25 miles). Organizations fall into
grid cells at least R miles tall and wide (R / 68.7 degrees of latitude; in longitude,
enough cells to span R at the cell's poleward edge). For every organization still open,
the organizations in the neighbouring cells are compared by haversine distance: together
those cells cover the whole disk of radius R, so every organization within R is found.
An organization with at least ``MAX_NEIGHBORS`` neighbours within R is resolved: its
nearest ``MAX_NEIGHBORS`` are all among them (exact). The others go to the next round with
twice the radius; the last round (25 miles) keeps whatever it finds.

The work stays bounded at any density: an organization is compared in round R only if it
had fewer than ``MAX_NEIGHBORS`` neighbours within R / 2, so its 3 x 3 cell block of side R
holds at most about 36 x MAX_NEIGHBORS / pi organizations on average. A dense metro
resolves at 0.5 or 1 mile, the countryside at 16 or 25; nothing is a cross join.

Strength score (0..1): ``0.7 * (1 - miles / 25)`` for proximity, ``+ 0.2`` when the two
organizations are of different types (a referral path, e.g. treatment -> recovery
residence), ``+ 0.1`` when they are in the same state (same licensing and funding rules).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from directory_assets.normalize import haversine_miles_sql

MAX_MILES = 25.0
MAX_NEIGHBORS = 25
RADII = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, MAX_MILES)
MIN_MILES_PER_DEGREE_LAT = 68.7

SETUP_SQL = (
    # integer ids (in org_id order, so ties still break by org_id) keep the pairs small
    """CREATE OR REPLACE TEMP TABLE net_points AS
SELECT CAST(row_number() OVER (ORDER BY org_id) AS BIGINT) AS pid,
       org_id, org_type, name, city, state, latitude AS lat, longitude AS lon
FROM directory.organizations
WHERE latitude IS NOT NULL AND longitude IS NOT NULL""",
    "CREATE OR REPLACE TEMP TABLE net_open AS SELECT pid FROM net_points",
    "CREATE OR REPLACE TEMP TABLE net_pairs AS "
    "SELECT pid, pid AS related_pid, CAST(0 AS INTEGER) AS neighbour_rank FROM net_points WHERE FALSE",
)


def round_sql(
    radius: float, part: int = 0, parts: int = 1, max_neighbors: int = MAX_NEIGHBORS
) -> str:
    """Per open organization: how many organizations lie within ``radius`` miles, and the
    nearest ``max_neighbors`` of them (a bounded top-N aggregate, not a sort of all pairs)."""
    cell = radius / MIN_MILES_PER_DEGREE_LAT  # degrees; at least ``radius`` miles tall
    return f"""CREATE OR REPLACE TEMP TABLE net_round AS
WITH grid AS (
    SELECT pid, lat, lon,
           CAST(floor(lat / {cell!r}) AS BIGINT) AS cy,
           CAST(floor(lon / {cell!r}) AS BIGINT) AS cx
    FROM net_points
),
probe AS (
    SELECT g.pid, g.lat, g.lon, g.cy, g.cx,
           -- longitude cells spanning the radius at the poleward edge of the cell block
           CAST(ceil(1.0 / greatest(cos(radians(least(89.9, abs(g.lat) + {2 * cell!r}))), 0.02))
                AS BIGINT) AS k
    FROM grid AS g JOIN net_open AS o ON o.pid = g.pid
    WHERE o.pid % {parts} = {part}
),
rows_ AS (
    SELECT pid, lat, lon, cy + dy AS ny, cx, k
    FROM (SELECT *, unnest([-1, 0, 1]) AS dy FROM probe) AS p
),
keys AS (
    SELECT pid, lat, lon, ny, cx + dx AS nx
    FROM (SELECT *, unnest(range(-k, k + 1)) AS dx FROM rows_) AS r
),
pairs AS (
    SELECT k.pid, b.pid AS related_pid,
           {haversine_miles_sql("k.lat", "k.lon", "b.lat", "b.lon")} AS distance_miles
    FROM keys AS k JOIN grid AS b ON b.cy = k.ny AND b.cx = k.nx
    WHERE b.pid <> k.pid
)
SELECT pid,
       count(*) AS found,
       min_by(related_pid, {{'d': distance_miles, 'r': related_pid}}, {max_neighbors}) AS nearest
FROM pairs
WHERE distance_miles <= {radius!r}
GROUP BY pid"""


def resolve_sql(final: bool, max_neighbors: int = MAX_NEIGHBORS) -> tuple[str, str]:
    """Keep the nearest neighbours of the organizations this round resolved; close them."""
    enough = "TRUE" if final else f"found >= {max_neighbors}"
    # min_by returns the nearest first (ties by id, i.e. by org_id): the rank is the position.
    # Each step rewrites its temp table (CREATE AS), which every engine has; Spark has no
    # INSERT or DELETE on a temporary relation.
    keep = f"""CREATE OR REPLACE TEMP TABLE net_pairs AS
SELECT * FROM net_pairs
UNION ALL
SELECT pid, unnest(nearest) AS related_pid,
       CAST(generate_subscripts(nearest, 1) AS INTEGER) AS neighbour_rank
FROM net_round WHERE {enough}"""
    close = f"""CREATE OR REPLACE TEMP TABLE net_open AS
SELECT pid FROM net_open AS o
WHERE NOT EXISTS (SELECT 1 FROM net_round AS r WHERE r.pid = o.pid AND {enough})"""
    return keep, close


#: Land area of the states and territories (square miles), for the starting radius.
US_AREA_SQ_MILES = 3_800_000


def starting_radius(organizations: int, max_neighbors: int = MAX_NEIGHBORS) -> float:
    """The first round's radius: a sixteenth of the radius that would hold
    ``max_neighbors`` organizations at the national average density (metros are far
    denser), so sparse directories skip rounds that would resolve almost nothing."""
    density = max(organizations, 1) / US_AREA_SQ_MILES
    typical = math.sqrt(max_neighbors / (math.pi * density))
    return max([r for r in RADII if r <= typical / 16] or [RADII[0]])


#: Open organizations compared in one statement at most: bounds the memory of a round.
PART_SIZE = 400_000


def rounds(organizations: int) -> Iterator[tuple[float, str, str, str]]:
    """(radius, pairs SQL, keep SQL, close SQL) for each round, smallest radius first; a
    round over more than ``PART_SIZE`` organizations runs in parts (by id modulo)."""
    first = starting_radius(organizations)
    parts = max(1, -(-organizations // PART_SIZE))
    for radius in (r for r in RADII if r >= first):
        keep, close = resolve_sql(final=radius == RADII[-1])
        for part in range(parts):
            yield radius, round_sql(radius, part, parts), keep, close


NETWORK_SQL = f"""
WITH measured AS (
    SELECT p.pid, p.neighbour_rank, a.org_id, b.org_id AS related_org_id, a.org_type, a.state,
           b.org_type AS related_org_type, b.name AS related_name, b.city AS related_city,
           b.state AS related_state,
           {haversine_miles_sql("a.lat", "a.lon", "b.lat", "b.lon")} AS distance_miles
    FROM net_pairs AS p
    JOIN net_points AS a ON a.pid = p.pid
    JOIN net_points AS b ON b.pid = p.related_pid
)
SELECT
    org_id,
    related_org_id,
    neighbour_rank,
    round(distance_miles, 3) AS distance_miles,
    related_org_type,
    related_name,
    related_city,
    related_state,
    round(0.7 * (1 - distance_miles / {MAX_MILES})
          + CASE WHEN org_type <> related_org_type THEN 0.2 ELSE 0 END
          + CASE WHEN state = related_state THEN 0.1 ELSE 0 END, 3) AS strength
FROM measured
ORDER BY pid, neighbour_rank  -- pid follows org_id: the table is sorted for point lookups
"""


def statements() -> list[str]:
    """Every statement shape the network asset runs (its code version is their digest)."""
    keep, close = resolve_sql(final=False)
    final_keep, final_close = resolve_sql(final=True)
    return [*SETUP_SQL, round_sql(RADII[0]), keep, close, final_keep, final_close, NETWORK_SQL]
