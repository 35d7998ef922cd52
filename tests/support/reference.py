"""Helpers for the reference-data tests: a default sample generated once, cut to a few states.

Generating the default sample takes seconds, so it is written once per test session and
each test copies the rows of the states it needs into its own landing folder.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from narr_platform import sample_data
from reference_assets.sample_universe import rng_for
from reference_assets.svi_sample import svi_frame

REFERENCE_SOURCES = ("reference/states", "reference/places", "reference/svi", "reference/adi")
#: The FIPS column of each reference source (its first two digits are the state).
FIPS_COLUMN = {"reference/places": "LocationID", "reference/svi": "FIPS", "reference/adi": "FIPS"}


_SAMPLES: dict[str, Path] = {}


@pytest.fixture(scope="session")
def reference_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default reference sample (every county; tracts of AL, CA, DE, PA), written once.

    Each test module binds this fixture under its own name, so the written folder is
    remembered here to be generated once per session, not once per module.
    """
    if "default" not in _SAMPLES:
        out = tmp_path_factory.mktemp("reference-sample")
        sample_data.generate(sample_data.SampleDataRequest(out=out), REFERENCE_SOURCES)
        _SAMPLES["default"] = out
    return _SAMPLES["default"]


def copy_states(sample: Path, landing: Path, state_fips: Iterable[str]) -> None:
    """Copy the sample into ``landing`` keeping only the rows of the given state FIPS codes.

    The states file is copied whole; each other file keeps its header (and BOM) and the
    rows whose FIPS starts with one of the state codes.
    """
    keep = tuple(state_fips)
    shutil.copytree(sample / "reference/states", landing / "reference/states")
    for source, column in FIPS_COLUMN.items():
        for path in sorted((sample / source).glob("*.csv")):
            target = landing / source / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            raw = path.read_bytes()
            bom = raw.startswith(b"\xef\xbb\xbf")
            with open(path, encoding="utf-8-sig", newline="") as src:
                reader = csv.reader(src)
                header = next(reader)
                index = header.index(column)
                rows = [row for row in reader if row[index].startswith(keep)]
            if not rows:
                continue
            with open(target, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as dst:
                writer = csv.writer(dst, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def check_results(result) -> dict[tuple[str, str], object]:
    """``{(table, check_name): evaluation}`` of a run."""
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def write_csv(path: Path, header: list[str], rows: list[list[object]], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def reference_definitions():
    """The reference domain's Definitions with the deployment's resources.

    The reference tests run this domain alone (the same assets, checks and resources as
    the code location), so another domain's work in progress cannot break them.
    """
    import dagster as dg

    from reference_assets.definitions import defs
    from resources import build_resources

    return dg.Definitions.merge(defs, dg.Definitions(resources=build_resources()))


@pytest.fixture
def materialize_reference():
    """Like the shared ``materialize`` fixture, over the reference domain's Definitions."""
    import dagster as dg

    def run(selection: str, raise_on_error: bool = True, **kwargs: object):
        defs = reference_definitions()
        keys = dg.AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph())
        job = defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            asset_selection=list(keys), raise_on_error=raise_on_error, **kwargs
        )

    return run


def svi_rows(populations: list[int]) -> pd.DataFrame:
    fips = [f"010{2 * i + 1:02d}" for i in range(len(populations))]
    geo = pd.DataFrame(
        {
            "fips": fips,
            "state_fips": "01",
            "state_name": "Alabama",
            "state_usps": "AL",
            "county_fips": fips,
            "county_name": [f"County {f}" for f in fips],
            "location": [f"County {f}, Alabama" for f in fips],
            "population": populations,
        }
    )
    return svi_frame(geo, pd.Series([0] * len(fips)), rng_for(7, "checks"))
