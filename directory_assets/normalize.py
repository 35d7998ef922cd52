"""SQL fragments that normalize directory values, written once (DuckDB dialect, portable).

- :func:`state_lookup_sql`: the ONE place that maps free-text state values (USPS code in
  any case, full name) to USPS codes, as a VALUES table built from
  :func:`resources.geography.us_states` (so the staging assets stay independent roots).
- :func:`geohash_sql`: a real base-32 geohash in pure SQL (integer arithmetic, no UDF),
  so it transpiles to Spark unchanged in meaning.
- :func:`norm_key_sql`, :func:`haversine_miles_sql`.
- ZIPs (``2451.0`` from a spreadsheet is ``02451``) and US bounds are the shared rules of
  :mod:`resources.normalize`, re-exported here.
"""

from __future__ import annotations

from resources.geography import us_states
from resources.normalize import US_BOUNDS, in_us_bounds_sql, zip5_sql

__all__ = [
    "US_BOUNDS",
    "geohash_sql",
    "haversine_miles_sql",
    "in_us_bounds_sql",
    "norm_key_sql",
    "state_lookup_sql",
    "valid_states_sql",
    "zip5_sql",
]

GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
GEOHASH_PRECISION = 7
EARTH_RADIUS_MILES = 3958.7613


def state_lookup_sql() -> str:
    """``SELECT state_key, state_usps``: lowercase USPS code or full name -> USPS code."""
    rows = []
    for state in us_states():
        usps = state.usps.replace("'", "''")
        rows.append(f"('{usps.lower()}', '{usps}')")
        rows.append(f"('{state.name.lower().replace(chr(39), chr(39) * 2)}', '{usps}')")
    return (
        "SELECT state_key, state_usps FROM (VALUES "
        + ", ".join(rows)
        + ") AS t(state_key, state_usps)"
    )


def valid_states_sql() -> str:
    """A parenthesized list of the valid USPS codes, for ``IN`` predicates."""
    return "(" + ", ".join(f"'{s.usps}'" for s in us_states()) + ")"


def norm_key_sql(expr: str) -> str:
    """Lowercase letters and digits only: the comparison form of names and addresses."""
    return f"coalesce(regexp_replace(lower({expr}), '[^a-z0-9]', '', 'g'), '')"


def geohash_sql(lat: str, lon: str, precision: int = GEOHASH_PRECISION) -> str:
    """A standard geohash of (lat, lon) with ``precision`` characters, NULL without coordinates.

    Bisecting [-90, 90] n times is the same as taking floor((lat + 90) / 180 * 2^n), so the
    latitude and longitude cell indexes are integers; their bits are interleaved (longitude
    first) and read 5 at a time into the base-32 alphabet.
    """
    bits = 5 * precision
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    lon_idx = (
        f"least(CAST(floor(({lon} + 180.0) / 360.0 * {2**lon_bits}) AS BIGINT), {2**lon_bits - 1})"
    )
    lat_idx = (
        f"least(CAST(floor(({lat} + 90.0) / 180.0 * {2**lat_bits}) AS BIGINT), {2**lat_bits - 1})"
    )
    chars = []
    for c in range(precision):
        terms = []
        for b in range(5):
            i = 5 * c + b  # position in the interleaved bit string, most significant first
            if i % 2 == 0:
                source, width, j = lon_idx, lon_bits, i // 2
            else:
                source, width, j = lat_idx, lat_bits, i // 2
            terms.append(f"(({source} >> {width - 1 - j}) & 1) * {2 ** (4 - b)}")
        chars.append(f"substr('{GEOHASH_ALPHABET}', CAST({' + '.join(terms)} AS INTEGER) + 1, 1)")
    return f"CASE WHEN {lat} IS NOT NULL AND {lon} IS NOT NULL THEN " + " || ".join(chars) + " END"


def haversine_miles_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in miles (haversine), numerically safe for tiny distances."""
    return (
        f"(2 * {EARTH_RADIUS_MILES} * asin(least(1.0, sqrt("
        f"power(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lon2} - {lon1}) / 2), 2)"
        f"))))"
    )
