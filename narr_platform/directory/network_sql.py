"""SQL for ``network_relationships``: each organization's nearest neighbours within 25 miles.

Bounded and exact, without a cross join:

1. Organizations with coordinates fall into grid cells of ``CELL_DEGREES`` (0.05 deg,
   about 3.5 miles north-south). Cell pairs come from an equality join on exploded
   neighbour offsets (wider in longitude at high latitudes), never from a cross join.
2. For each cell, its neighbour cells are ranked by centre distance; ``d_cut`` is the centre
   distance at which they hold ``MAX_NEIGHBORS + 1`` organizations. Every point lies
   within ``h`` (half the cell diagonal) of its cell centre, so the true nearest
   ``MAX_NEIGHBORS`` of any point of the cell lie in cells whose centre is within
   ``d_cut + 4h``; cells farther than ``25 + 2h`` cannot hold a point within 25 miles.
   Only those candidate cells are compared point to point.
3. The haversine distance of each candidate pair is computed, pairs over 25 miles are
   dropped, and the ``MAX_NEIGHBORS`` nearest are kept per organization (ties by org_id).

Strength score (0..1): ``0.7 * (1 - miles / 25)`` for proximity, ``+ 0.2`` when the two
organizations are of different types (a referral path, e.g. treatment -> recovery
residence), ``+ 0.1`` when they are in the same state (same licensing and funding rules).
"""

from __future__ import annotations

import math

from narr_platform.directory.normalize import haversine_miles_sql

MAX_MILES = 25.0
MAX_NEIGHBORS = 25
CELL_DEGREES = 0.05
MILES_PER_DEGREE_LAT = 69.0


def network_sql(
    max_miles: float = MAX_MILES, max_neighbors: int = MAX_NEIGHBORS, cell: float = CELL_DEGREES
) -> str:
    half_diag = math.hypot(cell / 2, cell / 2) * 69.2  # upper bound, miles
    lat_span = math.ceil(max_miles / (cell * MILES_PER_DEGREE_LAT)) + 1
    cell_centre = "(CAST({c} AS DOUBLE) + 0.5) * {cell}"
    cy_lat = cell_centre.format(c="k.cy", cell=cell)
    cx_lon = cell_centre.format(c="k.cx", cell=cell)
    ny_lat = cell_centre.format(c="k.ny", cell=cell)
    nx_lon = cell_centre.format(c="k.nx", cell=cell)
    return f"""
WITH points AS (
    SELECT org_id, org_type, name, city, state, latitude AS lat, longitude AS lon,
           CAST(floor(latitude / {cell}) AS BIGINT) AS cy,
           CAST(floor(longitude / {cell}) AS BIGINT) AS cx
    FROM directory.organizations
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL
),
cells AS (
    SELECT cy, cx, count(*) AS n,
           -- longitude cells needed to span max_miles at the cell's most polar neighbour row
           CAST(ceil({max_miles} / ({cell} * {MILES_PER_DEGREE_LAT}
               * greatest(cos(radians(least(89.0, (abs(cy) + {lat_span} + 1) * {cell}))), 0.02))) AS BIGINT) + 1
               AS lon_span
    FROM points GROUP BY cy, cx
),
offsets AS (
    SELECT cy, cx, cy + dy AS ny, lon_span
    FROM (SELECT cy, cx, lon_span, unnest(range(-{lat_span}, {lat_span + 1})) AS dy FROM cells) AS o
),
neighbour_keys AS (
    SELECT cy, cx, ny, cx + dx AS nx
    FROM (SELECT cy, cx, ny, unnest(range(-lon_span, lon_span + 1)) AS dx FROM offsets) AS o
),
cell_pairs AS (
    SELECT k.cy, k.cx, k.ny, k.nx, c.n,
           {haversine_miles_sql(cy_lat, cx_lon, ny_lat, nx_lon)} AS centre_miles
    FROM neighbour_keys AS k
    JOIN cells AS c ON c.cy = k.ny AND c.cx = k.nx
),
cumulated AS (
    SELECT *,
           sum(n) OVER (PARTITION BY cy, cx ORDER BY centre_miles, ny, nx
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_n
    FROM cell_pairs
),
cutoffs AS (
    SELECT cy, cx, coalesce(min(CASE WHEN running_n > {max_neighbors} THEN centre_miles END), 1e9) AS d_cut
    FROM cumulated GROUP BY cy, cx
),
candidate_cells AS (
    SELECT p.cy, p.cx, p.ny, p.nx
    FROM cell_pairs AS p JOIN cutoffs AS c ON c.cy = p.cy AND c.cx = p.cx
    WHERE p.centre_miles <= least(c.d_cut + {4 * half_diag:.4f}, {max_miles + 2 * half_diag:.4f})
),
pairs AS (
    SELECT a.org_id, b.org_id AS related_org_id, a.org_type, b.org_type AS related_org_type,
           a.state, b.state AS related_state, b.name AS related_name, b.city AS related_city,
           {haversine_miles_sql("a.lat", "a.lon", "b.lat", "b.lon")} AS distance_miles
    FROM candidate_cells AS k
    JOIN points AS a ON a.cy = k.cy AND a.cx = k.cx
    JOIN points AS b ON b.cy = k.ny AND b.cx = k.nx
    WHERE a.org_id <> b.org_id
),
ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY org_id ORDER BY distance_miles, related_org_id) AS neighbour_rank
    FROM pairs
    WHERE distance_miles <= {max_miles}
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
    round(0.7 * (1 - distance_miles / {max_miles})
          + CASE WHEN org_type <> related_org_type THEN 0.2 ELSE 0 END
          + CASE WHEN state = related_state THEN 0.1 ELSE 0 END, 3) AS strength
FROM ranked
WHERE neighbour_rank <= {max_neighbors}
ORDER BY org_id, neighbour_rank
"""
