"""``network_relationships`` by expanding radius: exact nearest neighbours with bounded work.

Each round has a radius R (0.5, 1, 2, 4, 8, 16, then 25 miles). Organizations fall into
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

from narr_platform.directory.normalize import haversine_miles_sql

MAX_MILES = 25.0
MAX_NEIGHBORS = 25
RADII = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, MAX_MILES)
MIN_MILES_PER_DEGREE_LAT = 68.7

SETUP_SQL = (
    """CREATE OR REPLACE TEMP TABLE net_points AS
SELECT org_id, org_type, name, city, state, latitude AS lat, longitude AS lon
FROM directory.organizations
WHERE latitude IS NOT NULL AND longitude IS NOT NULL""",
    "CREATE OR REPLACE TEMP TABLE net_open AS SELECT org_id FROM net_points",
    """CREATE OR REPLACE TEMP TABLE net_pairs
(org_id VARCHAR, related_org_id VARCHAR, distance_miles DOUBLE)""",
)


def round_sql(radius: float) -> str:
    """Every pair (open organization, any organization) within ``radius`` miles."""
    cell = radius / MIN_MILES_PER_DEGREE_LAT  # degrees; at least ``radius`` miles tall
    return f"""CREATE OR REPLACE TEMP TABLE net_round AS
WITH grid AS (
    SELECT org_id, lat, lon,
           CAST(floor(lat / {cell!r}) AS BIGINT) AS cy,
           CAST(floor(lon / {cell!r}) AS BIGINT) AS cx
    FROM net_points
),
probe AS (
    SELECT g.org_id, g.lat, g.lon, g.cy, g.cx,
           -- longitude cells spanning the radius at the poleward edge of the cell block
           CAST(ceil(1.0 / greatest(cos(radians(least(89.9, abs(g.lat) + {2 * cell!r}))), 0.02))
                AS BIGINT) AS k
    FROM grid AS g JOIN net_open AS o ON o.org_id = g.org_id
),
rows_ AS (
    SELECT org_id, lat, lon, cy + dy AS ny, cx, k
    FROM (SELECT *, unnest([-1, 0, 1]) AS dy FROM probe) AS p
),
keys AS (
    SELECT org_id, lat, lon, ny, cx + dx AS nx
    FROM (SELECT *, unnest(range(-k, k + 1)) AS dx FROM rows_) AS r
),
pairs AS (
    SELECT k.org_id, b.org_id AS related_org_id,
           {haversine_miles_sql("k.lat", "k.lon", "b.lat", "b.lon")} AS distance_miles
    FROM keys AS k JOIN grid AS b ON b.cy = k.ny AND b.cx = k.nx
    WHERE b.org_id <> k.org_id
)
SELECT * FROM pairs WHERE distance_miles <= {radius!r}"""


def resolve_sql(final: bool, max_neighbors: int = MAX_NEIGHBORS) -> tuple[str, str]:
    """Keep the nearest neighbours of the organizations this round resolved; close them."""
    enough = "TRUE" if final else f"found >= {max_neighbors}"
    keep = f"""INSERT INTO net_pairs
SELECT org_id, related_org_id, distance_miles
FROM (
    SELECT *,
           row_number() OVER (PARTITION BY org_id ORDER BY distance_miles, related_org_id) AS rn,
           count(*) OVER (PARTITION BY org_id) AS found
    FROM net_round
) AS r
WHERE {enough} AND rn <= {max_neighbors}"""
    close = (
        "DELETE FROM net_open WHERE org_id IN (SELECT org_id FROM net_round "
        f"GROUP BY org_id HAVING {'TRUE' if final else f'count(*) >= {max_neighbors}'})"
    )
    return keep, close


#: Land area of the states and territories (square miles), for the starting radius.
US_AREA_SQ_MILES = 3_800_000


def starting_radius(organizations: int, max_neighbors: int = MAX_NEIGHBORS) -> float:
    """The first round's radius: a quarter of the radius that would hold ``max_neighbors``
    organizations at the national average density (metros are far denser), so sparse
    directories skip rounds that would resolve almost nothing."""
    density = max(organizations, 1) / US_AREA_SQ_MILES
    typical = math.sqrt(max_neighbors / (math.pi * density))
    return max([r for r in RADII if r <= typical / 4] or [RADII[0]])


def rounds(organizations: int) -> Iterator[tuple[float, str, str, str]]:
    """(radius, pairs SQL, keep SQL, close SQL) for each round, smallest radius first."""
    first = starting_radius(organizations)
    for radius in (r for r in RADII if r >= first):
        keep, close = resolve_sql(final=radius == RADII[-1])
        yield radius, round_sql(radius), keep, close


NETWORK_SQL = f"""
SELECT
    p.org_id,
    p.related_org_id,
    CAST(row_number() OVER (PARTITION BY p.org_id ORDER BY p.distance_miles, p.related_org_id)
         AS INTEGER) AS neighbour_rank,
    round(p.distance_miles, 3) AS distance_miles,
    b.org_type AS related_org_type,
    b.name AS related_name,
    b.city AS related_city,
    b.state AS related_state,
    round(0.7 * (1 - p.distance_miles / {MAX_MILES})
          + CASE WHEN a.org_type <> b.org_type THEN 0.2 ELSE 0 END
          + CASE WHEN a.state = b.state THEN 0.1 ELSE 0 END, 3) AS strength
FROM net_pairs AS p
JOIN net_points AS a ON a.org_id = p.org_id
JOIN net_points AS b ON b.org_id = p.related_org_id
ORDER BY p.org_id, neighbour_rank
"""
