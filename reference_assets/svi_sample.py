"""Sample CDC/ATSDR SVI 2022 files: all 158 columns, county and tract, with the real dirt.

A national county file (ranked nationally) always; tract files per detailed state (ranked
within the state) by default, or one national tract file with ``--reference national``.
Files start with a UTF-8 byte-order mark like the published ones, and ``-999`` marks a
missing value (tracts without residents, a few suppressed estimates).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reference_assets.sample_universe import rng_for, universe_for, write_csv
from reference_assets.svi_layout import SVI_2022_COLUMNS
from resources.sample_files import SampleDataRequest

SVI_FOLDER = "reference/svi"
MISSING = -999

#: The SVI themes and their variables (EPL_ percentile ranks sum into SPL_THEMEn).
THEMES: dict[str, tuple[str, ...]] = {
    "THEME1": ("POV150", "UNEMP", "HBURD", "NOHSDP", "UNINSUR"),
    "THEME2": ("AGE65", "AGE17", "DISABL", "SNGPNT", "LIMENG"),
    "THEME3": ("MINRTY",),
    "THEME4": ("MUNIT", "MOBILE", "CROWD", "NOVEH", "GROUPQ"),
}
EXTRA_VARIABLES = ("NOINT", "AFAM", "HISP", "ASIAN", "AIAN", "NHPI", "TWOMORE", "OTHERRACE")
#: Typical share of the population for each variable (beta-distributed around it).
TYPICAL_SHARE = {
    "POV150": 0.18, "UNEMP": 0.05, "HBURD": 0.22, "NOHSDP": 0.10, "UNINSUR": 0.08,
    "AGE65": 0.18, "AGE17": 0.21, "DISABL": 0.14, "SNGPNT": 0.05, "LIMENG": 0.02,
    "MINRTY": 0.30, "MUNIT": 0.06, "MOBILE": 0.08, "CROWD": 0.02, "NOVEH": 0.06,
    "GROUPQ": 0.02, "NOINT": 0.12, "AFAM": 0.09, "HISP": 0.10, "ASIAN": 0.02,
    "AIAN": 0.01, "NHPI": 0.002, "TWOMORE": 0.03, "OTHERRACE": 0.004,
}  # fmt: skip


def _percentile_rank(values: pd.Series, groups: pd.Series) -> pd.Series:
    """SVI's rank: (rank - 1) / (n - 1) within each ranking group, missing stays missing."""
    ranks = values.groupby(groups).rank(method="min")
    counts = values.notna().groupby(groups).transform("sum")
    return ((ranks - 1) / (counts - 1).where(counts > 1, 1)).round(4)


def svi_frame(geo: pd.DataFrame, rank_groups: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """The 158 SVI columns for the rows of ``geo`` (county or tract), ranked within groups.

    ``geo`` has fips, state_fips, state_name, state_usps, county_fips, county_name,
    location, population.
    """
    n = len(geo)
    population = geo["population"].to_numpy()
    data: dict[str, object] = {
        "ST": geo["state_fips"].to_numpy(),
        "STATE": geo["state_name"].to_numpy(),
        "ST_ABBR": geo["state_usps"].to_numpy(),
        "STCNTY": geo["county_fips"].to_numpy(),
        "COUNTY": geo["county_name"].to_numpy(),
        "FIPS": geo["fips"].to_numpy(),
        "LOCATION": geo["location"].to_numpy(),
        "AREA_SQMI": np.where(
            geo["fips"].str.len() == 5, rng.lognormal(6.3, 0.8, n), rng.lognormal(0.8, 1.4, n)
        ).round(6),
        "E_TOTPOP": population,
        "M_TOTPOP": np.where(population > 0, rng.integers(0, 400, n), 0),
        "E_HU": np.round(population * rng.uniform(0.38, 0.5, n)).astype(np.int64),
        "E_HH": np.round(population * rng.uniform(0.34, 0.42, n)).astype(np.int64),
        "E_DAYPOP": np.round(population * rng.uniform(0.6, 1.4, n)).astype(np.int64),
    }
    data["M_HU"] = np.round(np.sqrt(data["E_HU"]) * rng.uniform(0.2, 2, n)).astype(np.int64)
    data["M_HH"] = np.round(np.sqrt(data["E_HH"]) * rng.uniform(0.5, 3, n)).astype(np.int64)
    nobody = population == 0
    suppressed = rng.random((n, len(TYPICAL_SHARE))) < 0.001
    for i, (var, typical) in enumerate(TYPICAL_SHARE.items()):
        share = rng.beta(4, 4 / typical - 4, n)
        estimate = np.round(population * share).astype(np.int64)
        data[f"E_{var}"] = estimate
        data[f"M_{var}"] = np.round(np.sqrt(estimate + 1) * rng.uniform(1, 4, n)).astype(np.int64)
        percent = np.round(share * 100, 1)
        missing = nobody | suppressed[:, i]
        data[f"EP_{var}"] = np.where(missing, MISSING, percent)
        data[f"MP_{var}"] = np.where(missing, MISSING, np.round(rng.uniform(0.1, 4, n), 1))
    theme_flags = {}
    theme_sums = []
    for theme, variables in THEMES.items():
        epls = []
        for var in variables:
            ep = pd.Series(data[f"EP_{var}"]).where(lambda s: s != MISSING)
            epl = _percentile_rank(ep, rank_groups)
            epls.append(epl)
            data[f"EPL_{var}"] = epl.fillna(MISSING).to_numpy()
            flag = (epl >= 0.9).astype(np.int64).where(epl.notna(), MISSING)
            data[f"F_{var}"] = flag.to_numpy()
        spl = pd.concat(epls, axis=1).sum(axis=1, min_count=len(epls)).round(4)
        theme_sums.append(spl)
        data[f"SPL_{theme}"] = spl.fillna(MISSING).to_numpy()
        data[f"RPL_{theme}"] = _percentile_rank(spl, rank_groups).fillna(MISSING).to_numpy()
        flags = pd.concat([pd.Series(data[f"F_{v}"]) for v in variables], axis=1)
        theme_flag = flags.where(flags != MISSING).sum(axis=1, min_count=len(variables))
        theme_flags[theme] = theme_flag
        data[f"F_{theme}"] = theme_flag.fillna(MISSING).astype(np.int64).to_numpy()
    spl_all = pd.concat(theme_sums, axis=1).sum(axis=1, min_count=len(theme_sums)).round(4)
    data["SPL_THEMES"] = spl_all.fillna(MISSING).to_numpy()
    data["RPL_THEMES"] = _percentile_rank(spl_all, rank_groups).fillna(MISSING).to_numpy()
    total = pd.concat(theme_flags.values(), axis=1).sum(axis=1, min_count=len(theme_flags))
    data["F_TOTAL"] = total.fillna(MISSING).astype(np.int64).to_numpy()
    return pd.DataFrame({name: data[name] for name in SVI_2022_COLUMNS})


def _county_geo(counties: pd.DataFrame) -> pd.DataFrame:
    geo = counties.rename(columns={"county_fips": "fips"}).copy()
    geo["county_fips"] = geo["fips"]
    geo["location"] = geo["county_name"] + ", " + geo["state_name"]
    return geo


def _tract_geo(tracts: pd.DataFrame) -> pd.DataFrame:
    geo = tracts.rename(columns={"tract_fips": "fips"}).copy()
    geo["location"] = (
        "Census Tract " + geo["tract_label"] + "; " + geo["county_name"] + "; " + geo["state_name"]
    )
    return geo


def write_svi(request: SampleDataRequest) -> list[Path]:
    universe = universe_for(request)
    folder = request.out / SVI_FOLDER
    rng = rng_for(request.seed, "svi")
    counties = _county_geo(universe.counties)
    national = pd.Series(np.zeros(len(counties), dtype=np.int64))
    written = [
        write_csv(
            folder / "SVI_2022_US_county.csv",
            svi_frame(counties, national, rng),
            byte_order_mark=True,
        )
    ]
    tracts = _tract_geo(universe.tracts)
    if request.reference == "national":
        ranks = pd.Series(np.zeros(len(tracts), dtype=np.int64))
        frame = svi_frame(tracts, ranks, rng)
        written.append(write_csv(folder / "SVI_2022_US_tract.csv", frame, byte_order_mark=True))
        return written
    for state, rows in tracts.groupby("state_usps", sort=True):
        rows = rows.reset_index(drop=True)
        frame = svi_frame(rows, pd.Series(np.zeros(len(rows), dtype=np.int64)), rng)
        path = folder / f"SVI_2022_{state}_tract.csv"
        written.append(write_csv(path, frame, byte_order_mark=True))
    return written
