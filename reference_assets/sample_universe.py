"""The synthetic geography the reference sample files share: real counties, nested tracts.

Counties and their FIPS codes are real (``resources.geography.us_counties``); their
populations, tracts (11 digits) and block groups (12 digits) are drawn deterministically
from the seed, sized like the real country (about 85 thousand tracts and 242 thousand
block groups nationally). Every array is built vectorised, never row by row.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from resources.geography import us_counties, us_states, zip_places
from resources.sample_files import SampleDataRequest, atomic_output

#: States written with tracts and block groups in the default (quick) sample; Alabama and
#: California exercise the leading-zero state codes.
DEFAULT_DETAIL_STATES = ("AL", "CA", "DE", "PA")
NATIONAL_TRACTS = 85_000
NATIONAL_BLOCKGROUPS = 242_000
DATA_YEAR = 2022
BYTE_ORDER_MARK = b"\xef\xbb\xbf"


@dataclasses.dataclass(frozen=True)
class Universe:
    """Counties (every one) and the tracts / block groups of the detailed states."""

    counties: (
        pd.DataFrame
    )  # county_fips, county_name, state_usps, state_fips, state_name, population, lat, lon
    tracts: pd.DataFrame  # tract_fips, county_fips, tract_label, population, ...county columns
    blockgroups: pd.DataFrame  # blockgroup_fips, tract_fips, county_fips, state_usps


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent, deterministic random stream per purpose."""
    return np.random.default_rng([seed, *stream.encode()])


def detail_states(reference: str) -> tuple[str, ...] | None:
    """States with tract detail: a handful by default, every state (None) nationally."""
    if reference == "national":
        return None
    if reference == "default":
        return DEFAULT_DETAIL_STATES
    raise ValueError(f"Unknown reference size {reference!r}; use 'default' or 'national'.")


@functools.cache
def _county_centroids() -> dict[str, tuple[float, float]]:
    frame = pd.DataFrame(
        [(p.county_fips, p.latitude, p.longitude) for p in zip_places() if p.county_fips],
        columns=["fips", "lat", "lon"],
    )
    means = frame.groupby("fips")[["lat", "lon"]].mean()
    return {fips: (row.lat, row.lon) for fips, row in means.iterrows()}


@functools.cache
def build_universe(seed: int, reference: str) -> Universe:
    states = {s.usps: s for s in us_states()}
    counties = pd.DataFrame(
        [(c.fips, c.name, c.state) for c in us_counties()],
        columns=["county_fips", "county_name", "state_usps"],
    )
    counties["state_fips"] = counties["county_fips"].str[:2]
    counties["state_name"] = counties["state_usps"].map(
        lambda u: states[u].name if u in states else u
    )
    rng = rng_for(seed, "universe")
    population = np.maximum(rng.lognormal(10.7, 1.3, len(counties)).round(), 60).astype(np.int64)
    counties["population"] = population
    centroids = _county_centroids()
    fallback = rng.uniform([25.0, -120.0], [48.0, -75.0], (len(counties), 2))
    counties["lat"] = [
        centroids.get(f, fb)[0] for f, fb in zip(counties.county_fips, fallback, strict=True)
    ]
    counties["lon"] = [
        centroids.get(f, fb)[1] for f, fb in zip(counties.county_fips, fallback, strict=True)
    ]

    # Tracts in proportion to population, so the country holds about NATIONAL_TRACTS.
    per_tract = population.sum() / NATIONAL_TRACTS
    n_tracts = np.maximum(1, np.round(population / per_tract)).astype(np.int64)
    detailed = detail_states(reference)
    if detailed is not None:
        n_tracts = np.where(counties["state_usps"].isin(detailed), n_tracts, 0)
    county_index = np.repeat(np.arange(len(counties)), n_tracts)
    ordinal = np.arange(len(county_index)) - np.repeat(np.cumsum(n_tracts) - n_tracts, n_tracts)
    split = rng.random(len(county_index)) < 0.2  # split tracts end in 01/02, like 0201.01
    tract_code = (ordinal + 1) * 100 + split.astype(np.int64)
    county_cols = counties.iloc[county_index].reset_index(drop=True)
    tracts = pd.DataFrame(
        {
            "tract_fips": county_cols["county_fips"] + pd.Series(tract_code).map("{:06d}".format),
            "tract_label": pd.Series(tract_code // 100).astype(str)
            + np.where(split, "." + pd.Series(tract_code % 100).map("{:02d}".format), ""),
        }
    )
    tracts = pd.concat([tracts, county_cols], axis=1)
    share = rng.uniform(0.5, 1.5, len(tracts))
    county_share_sum = pd.Series(share).groupby(county_index).transform("sum").to_numpy()
    tract_population = np.round(tracts["population"].to_numpy() * share / county_share_sum)
    empty = rng.random(len(tracts)) < 0.008  # parks, airports, water: no residents
    tracts["population"] = np.where(empty, 0, tract_population).astype(np.int64)

    # Block groups: 1 + Poisson, sized to about NATIONAL_BLOCKGROUPS nationally.
    extra = NATIONAL_BLOCKGROUPS / NATIONAL_TRACTS - 1
    n_groups = np.minimum(1 + rng.poisson(extra, len(tracts)), 9)
    tract_index = np.repeat(np.arange(len(tracts)), n_groups)
    group_number = (
        1 + np.arange(len(tract_index)) - np.repeat(np.cumsum(n_groups) - n_groups, n_groups)
    )
    tract_cols = tracts.iloc[tract_index].reset_index(drop=True)
    blockgroups = pd.DataFrame(
        {
            "blockgroup_fips": tract_cols["tract_fips"] + pd.Series(group_number).astype(str),
            "tract_fips": tract_cols["tract_fips"],
            "county_fips": tract_cols["county_fips"],
            "state_usps": tract_cols["state_usps"],
            "tract_population": tract_cols["population"],
        }
    )
    return Universe(counties=counties, tracts=tracts, blockgroups=blockgroups)


def universe_for(request: SampleDataRequest) -> Universe:
    return build_universe(request.seed, request.reference)


def write_csv(path: Path, frame: pd.DataFrame, byte_order_mark: bool = False) -> Path:
    """Write a frame as CSV (fast, Arrow's writer), atomically; optionally with a BOM."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_output(path, "wb") as handle:
        if byte_order_mark:
            handle.write(BYTE_ORDER_MARK)
        handle.write((",".join(frame.columns) + "\n").encode())  # unquoted, like CDC's
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        pa_csv.write_csv(table, handle, options)
    return path
