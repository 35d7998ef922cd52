"""Sample CDC PLACES (long format) and Neighborhood Atlas ADI files in the real layouts.

PLACES: a county file (every county, crude and age-adjusted prevalence, plus the national
summary rows a county pull carries) and a tract file (crude prevalence, like CDC's) for
the detailed states or the whole country. Tracts with very few residents have their
values suppressed (empty value, footnote ``*``).

ADI: block groups with national percentile (1-100) and state decile (1-10) written as
text, some replaced by the suppression codes GQ, PH, GQ-PH and QDI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reference_assets.layouts import ADI_SCHEMA, PLACES_COUNTY_SCHEMA, PLACES_TRACT_SCHEMA
from reference_assets.sample_universe import DATA_YEAR, rng_for, universe_for, write_csv
from resources.sample_files import SampleDataRequest

PLACES_FOLDER = "reference/places"
ADI_FOLDER = "reference/adi"
COUNTY_FILE = "PLACES__Local_Data_for_Better_Health__County_Data_2024_release.csv"
TRACT_FILE = "PLACES__Local_Data_for_Better_Health__Census_Tract_Data_2024_release.csv"
ADI_FILE = "US_2021_ADI_Census_Block_Group_v4_0_1.csv"

CATEGORIES = {
    "HLTHOUT": "Health Outcomes",
    "PREVENT": "Prevention",
    "RISKBEH": "Health Risk Behaviors",
    "HLTHSTAT": "Health Status",
}
#: MeasureId -> (CategoryID, Measure, Short_Question_Text, typical prevalence %).
MEASURES: dict[str, tuple[str, str, str, float]] = {
    "ARTHRITIS": ("HLTHOUT", "Arthritis among adults", "Arthritis", 26.0),
    "CASTHMA": ("HLTHOUT", "Current asthma among adults", "Current Asthma", 10.3),
    "CHD": ("HLTHOUT", "Coronary heart disease among adults", "Coronary Heart Disease", 6.8),
    "COPD": ("HLTHOUT", "Chronic obstructive pulmonary disease among adults", "COPD", 7.2),
    "DEPRESSION": ("HLTHOUT", "Depression among adults", "Depression", 21.5),
    "DIABETES": ("HLTHOUT", "Diagnosed diabetes among adults", "Diabetes", 12.1),
    "OBESITY": ("HLTHOUT", "Obesity among adults", "Obesity", 35.8),
    "STROKE": ("HLTHOUT", "Stroke among adults", "Stroke", 3.5),
    "ACCESS2": ("PREVENT", "Current lack of health insurance among adults aged 18-64 years", "Health Insurance", 11.5),
    "CHECKUP": ("PREVENT", "Visits to doctor for routine checkup within the past year among adults", "Annual Checkup", 76.0),
    "BINGE": ("RISKBEH", "Binge drinking among adults", "Binge Drinking", 16.5),
    "CSMOKING": ("RISKBEH", "Current cigarette smoking among adults", "Current Smoking", 15.0),
    "LPA": ("RISKBEH", "No leisure-time physical activity among adults", "Physical Inactivity", 25.0),
    "SLEEP": ("RISKBEH", "Short sleep duration among adults", "Sleep <7 hours", 36.0),
    "MHLTH": ("HLTHSTAT", "Frequent mental distress among adults", "Frequent Mental Distress", 16.0),
    "GHLTH": ("HLTHSTAT", "Fair or poor self-rated health status among adults", "General Health", 18.0),
}  # fmt: skip
VALUE_TYPES = {"CrdPrv": "Crude prevalence", "AgeAdjPrv": "Age-adjusted prevalence"}
SUPPRESSED_FOOTNOTE = "Estimates suppressed for population less than 50"
ADI_SUPPRESSION_SHARES = {"GQ": 0.006, "PH": 0.004, "GQ-PH": 0.002, "QDI": 0.003}


def _long_rows(
    geo: pd.DataFrame, value_types: tuple[str, ...], rng: np.random.Generator
) -> pd.DataFrame:
    """One row per geography x measure x value type (vectorised cross join)."""
    measure_ids = np.array(list(MEASURES))
    n_geo, n_measure, n_type = len(geo), len(measure_ids), len(value_types)
    geo_index = np.repeat(np.arange(n_geo), n_measure * n_type)
    measure = np.tile(np.repeat(measure_ids, n_type), n_geo)
    type_id = np.tile(np.array(value_types), n_geo * n_measure)
    typical = pd.Series({k: v[3] for k, v in MEASURES.items()})[measure].to_numpy()
    geo_factor = rng.lognormal(0, 0.18, n_geo)[geo_index]
    adjust = np.where(type_id == "AgeAdjPrv", rng.uniform(0.9, 1.05, len(measure)), 1.0)
    value = np.clip(typical * geo_factor * adjust * rng.lognormal(0, 0.05, len(measure)), 0.3, 95)
    population = geo["population"].to_numpy()[geo_index]
    half_width = np.clip(value * rng.uniform(0.05, 0.2, len(measure)), 0.1, None)
    suppressed = population < 50
    value = np.round(value, 1)
    frame = pd.DataFrame(
        {
            "Year": DATA_YEAR,
            "StateAbbr": geo["state_usps"].to_numpy()[geo_index],
            "StateDesc": geo["state_name"].to_numpy()[geo_index],
            "DataSource": "BRFSS",
            "Category": pd.Series(CATEGORIES)[
                pd.Series({k: v[0] for k, v in MEASURES.items()})[measure]
            ].to_numpy(),
            "Measure": pd.Series({k: v[1] for k, v in MEASURES.items()})[measure].to_numpy(),
            "Data_Value_Unit": "%",
            "Data_Value_Type": pd.Series(VALUE_TYPES)[type_id].to_numpy(),
            "Data_Value": np.where(suppressed, np.nan, value),
            "Data_Value_Footnote_Symbol": np.where(suppressed, "*", None),
            "Data_Value_Footnote": np.where(suppressed, SUPPRESSED_FOOTNOTE, None),
            "Low_Confidence_Limit": np.where(suppressed, np.nan, np.round(value - half_width, 1)),
            "High_Confidence_Limit": np.where(suppressed, np.nan, np.round(value + half_width, 1)),
            "TotalPopulation": population,
            "TotalPop18plus": np.round(population * 0.78).astype(np.int64),
            "LocationID": geo["location_id"].to_numpy()[geo_index],
            "CategoryID": pd.Series({k: v[0] for k, v in MEASURES.items()})[measure].to_numpy(),
            "MeasureId": measure,
            "DataValueTypeID": type_id,
            "Short_Question_Text": pd.Series({k: v[2] for k, v in MEASURES.items()})[
                measure
            ].to_numpy(),
            "Geolocation": geo["geolocation"].to_numpy()[geo_index],
        }
    )
    for column in ("LocationName", "CountyName", "CountyFIPS"):
        if column in geo:
            frame[column] = geo[column].to_numpy()[geo_index]
    return frame


def _geolocation(frame: pd.DataFrame, rng: np.random.Generator, jitter: float) -> pd.Series:
    lon = (frame["lon"] + rng.normal(0, jitter, len(frame))).round(6).astype(str)
    lat = (frame["lat"] + rng.normal(0, jitter, len(frame))).round(6).astype(str)
    return "POINT (" + lon + " " + lat + ")"


def write_places(request: SampleDataRequest) -> list[Path]:
    universe = universe_for(request)
    rng = rng_for(request.seed, "places")
    folder = request.out / PLACES_FOLDER
    counties = universe.counties.copy()
    counties["location_id"] = counties["county_fips"]
    counties["LocationName"] = counties["county_name"].str.replace(
        r" (County|Parish)$", "", regex=True
    )
    counties["geolocation"] = _geolocation(counties, rng, 0.0)
    county_rows = _long_rows(counties, tuple(VALUE_TYPES), rng)
    # A county pull carries the national summary rows too (LocationID 59, StateAbbr US).
    nation = pd.DataFrame(
        {
            "state_usps": ["US"], "state_name": ["United States"],
            "population": [int(counties["population"].sum())],
            "location_id": ["59"], "LocationName": ["United States"], "geolocation": [None],
        }
    )  # fmt: skip
    national_rows = _long_rows(nation, tuple(VALUE_TYPES), rng)
    county_frame = pd.concat([national_rows, county_rows], ignore_index=True)
    written = [write_csv(folder / COUNTY_FILE, county_frame[list(PLACES_COUNTY_SCHEMA)])]

    tracts = universe.tracts.copy()
    tracts["location_id"] = tracts["tract_fips"]
    tracts["LocationName"] = tracts["tract_fips"]
    tracts["CountyName"] = tracts["county_name"].str.replace(r" (County|Parish)$", "", regex=True)
    tracts["CountyFIPS"] = tracts["county_fips"]
    tracts["geolocation"] = _geolocation(tracts, rng, 0.15)
    tract_frame = _long_rows(tracts, ("CrdPrv",), rng)
    written.append(write_csv(folder / TRACT_FILE, tract_frame[list(PLACES_TRACT_SCHEMA)]))
    return written


def write_adi(request: SampleDataRequest) -> list[Path]:
    universe = universe_for(request)
    rng = rng_for(request.seed, "adi")
    groups = universe.blockgroups
    n = len(groups)
    fips = groups["blockgroup_fips"]
    gisjoin = "G" + fips.str[:2] + "0" + fips.str[2:5] + "0" + fips.str[5:11] + fips.str[11:]
    national = np.clip(np.round(rng.beta(1.6, 1.6, n) * 100 + 0.5), 1, 100).astype(np.int64)
    # The state decile follows the national rank loosely, within each state.
    state_rank = (
        pd.Series(national + rng.normal(0, 8, n))
        .groupby(groups["state_usps"].to_numpy())
        .rank(pct=True)
    )
    state_decile = np.clip(np.ceil(state_rank * 10), 1, 10).astype(np.int64)
    national_text = pd.Series(national.astype(str))
    state_text = pd.Series(state_decile.astype(str))
    draw = rng.random(n)
    low = 0.0
    for code, share in ADI_SUPPRESSION_SHARES.items():
        hit = (draw >= low) & (draw < low + share)
        national_text[hit] = code
        state_text[hit] = code
        low += share
    empty = (groups["tract_population"] == 0).to_numpy()
    national_text[empty] = "PH"
    state_text[empty] = "PH"
    frame = pd.DataFrame(
        {"GISJOIN": gisjoin, "FIPS": fips, "ADI_NATRANK": national_text, "ADI_STATERNK": state_text}
    )
    return [write_csv(request.out / ADI_FOLDER / ADI_FILE, frame[list(ADI_SCHEMA)])]
