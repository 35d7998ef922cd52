"""Reference data end to end: sample files -> typed tables -> checks, and the real PA SVI file."""

from __future__ import annotations

import csv
import math
import shutil

import dagster as dg
import pytest

import tests.support.reference as support
from reference_assets.layouts import ADI_SUPPRESSION_CODES
from reference_assets.svi_layout import SVI_2022_COLUMNS, SVI_2022_SCHEMA
from tests.support.reference import check_results, copy_states, query

# The reference domain end to end, from sample files to checked tables.
pytestmark = pytest.mark.slow

# Fixtures of the reference tests (the sample written once; the domain's own job).
reference_sample = support.reference_sample
materialize_reference = support.materialize_reference

ALABAMA, CALIFORNIA, DELAWARE = "01", "06", "10"
GEOGRAPHY_CONTRACT = {
    "county_fips": "VARCHAR",
    "county_name": "VARCHAR",
    "state_fips": "VARCHAR",
    "state_usps": "VARCHAR",
    "state_name": "VARCHAR",
    "svi_overall_rank": "DOUBLE",
    "svi_rank_scope": "VARCHAR",
    "adi_national_rank_weighted": "DOUBLE",
    "total_population": "BIGINT",
}


def test_sample_builds_every_reference_table(
    reference_sample, landing_dir, materialize_reference, warehouse_path
):
    copy_states(reference_sample, landing_dir, [ALABAMA, CALIFORNIA, DELAWARE])
    result = materialize_reference("group:reference")
    assert result.success
    failed = [key for key, e in check_results(result).items() if not e.passed]
    assert failed == []

    # The ref_geography contract: one row per county of the county list, typed columns.
    types = dict(
        query(
            warehouse_path,
            "SELECT column_name, data_type FROM "
            "information_schema.columns WHERE table_name = 'ref_geography'",
        )
    )
    assert {k: types[k] for k in GEOGRAPHY_CONTRACT} == GEOGRAPHY_CONTRACT
    from resources.geography import us_counties

    counties = query(
        warehouse_path, "SELECT count(*), count(DISTINCT county_fips) FROM reference.ref_geography"
    )[0]
    assert counties == (len(us_counties()), len(us_counties()))
    autauga = query(
        warehouse_path,
        "SELECT county_name, state_fips, state_usps, state_name, svi_rank_scope, "
        "svi_overall_rank BETWEEN 0 AND 1, adi_national_rank_weighted BETWEEN 1 AND 100, "
        "total_population > 0 FROM reference.ref_geography WHERE county_fips = '01001'",
    )
    assert autauga == [("Autauga County", "01", "AL", "Alabama", "national", True, True, True)]
    # A county no source covers is still present, with NULL figures.
    texas = query(
        warehouse_path,
        "SELECT svi_overall_rank, adi_national_rank_weighted "
        "FROM reference.ref_geography WHERE county_fips = '48001'",
    )
    assert texas == [(None, None)]

    # Leading-zero states keep their zeros at every level.
    for table, column, width in [
        ("ref_svi_county", "county_fips", 5),
        ("ref_svi_tract", "tract_fips", 11),
        ("ref_places_tract", "tract_fips", 11),
        ("ref_adi_blockgroup", "blockgroup_fips", 12),
    ]:
        rows = query(
            warehouse_path,
            f"SELECT DISTINCT state_fips, length({column}) FROM reference.{table} ORDER BY 1",
        )
        assert rows == [(ALABAMA, width), (CALIFORNIA, width), (DELAWARE, width)], table
    assert query(
        warehouse_path,
        "SELECT county_name FROM reference.ref_places_county WHERE county_fips = '06037' LIMIT 1",
    ) == [("Los Angeles",)]

    # The tract files rank within their state, the county file nationally.
    scopes = query(warehouse_path, "SELECT DISTINCT svi_rank_scope FROM reference.ref_svi_tract")
    assert scopes == [("state",)]
    # Tracts without residents carry -999 in the file: NULL in the table.
    empty = query(
        warehouse_path,
        "SELECT count(*), count(rpl_themes), count(ep_pov150) "
        "FROM reference.ref_svi_tract WHERE e_totpop = 0",
    )[0]
    assert empty[0] > 0 and empty[1:] == (0, 0)

    # ADI: ranks as integers, suppression codes apart.
    codes = dict(
        query(
            warehouse_path,
            "SELECT suppression_code, count(*) FROM "
            "reference.ref_adi_blockgroup WHERE suppression_code IS NOT NULL GROUP BY 1",
        )
    )
    assert set(codes) <= set(ADI_SUPPRESSION_CODES) and "PH" in codes
    assert query(
        warehouse_path,
        "SELECT count(*) FROM reference.ref_adi_blockgroup WHERE "
        "suppression_code IS NOT NULL AND adi_national_rank IS NOT NULL",
    ) == [(0,)]

    # PLACES: long, typed, both value types at county level; wide pivot per county.
    assert query(
        warehouse_path,
        "SELECT DISTINCT data_value_type_id FROM reference.ref_places_county ORDER BY 1",
    ) == [("AgeAdjPrv",), ("CrdPrv",)]
    wide = query(
        warehouse_path,
        "SELECT w.diabetes_crude_prev = l.data_value FROM "
        "reference.ref_places_county_wide w JOIN reference.ref_places_county l "
        "USING (county_fips) WHERE l.measure_id = 'DIABETES' AND "
        "l.data_value_type_id = 'CrdPrv' AND county_fips = '01001'",
    )
    assert wide == [(True,)]
    places = result.asset_materializations_for_node("reference__ref_places_county")[0]
    assert places.metadata["national_rows_not_loaded"].value == 0  # cut to three states


def test_national_row_of_a_places_county_pull_is_counted_not_loaded(
    reference_sample, landing_dir, materialize_reference, warehouse_path
):
    places = landing_dir / "reference/places"
    places.mkdir(parents=True)
    for path in (reference_sample / "reference/places").glob("*County*"):
        shutil.copy(path, places / path.name)
    result = materialize_reference("key:reference/ref_places_county")
    metadata = result.asset_materializations_for_node("reference__ref_places_county")[0].metadata
    assert metadata["national_rows_not_loaded"].value == 32  # 16 measures x 2 value types
    assert query(
        warehouse_path, "SELECT count(*) FROM reference.ref_places_county WHERE state_usps = 'US'"
    ) == [(0,)]
    checks = check_results(result)
    assert checks[("ref_places_county", "counties_cover_states")].passed is True
    assert checks[("ref_places_county", "counties_cover_states")].metadata["counties"].value == 3235


def _svi_file_rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_real_pennsylvania_svi_file(shared_dir, landing_dir, materialize_reference, warehouse_path):
    real = shared_dir / "data/svi/2022svi_pa_co_cdc.csv"
    target = landing_dir / "reference/svi" / real.name
    target.parent.mkdir(parents=True)
    target.symlink_to(real)  # read in place, never copied into the project
    result = materialize_reference("key:reference/ref_svi_county")
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    rows = query(
        warehouse_path,
        "SELECT count(*), min(svi_rank_scope), max(svi_rank_scope) FROM reference.ref_svi_county",
    )
    assert rows == [(67, "state", "state")]
    adams = query(
        warehouse_path,
        "SELECT county_fips, county, state_fips, rpl_themes, e_totpop "
        "FROM reference.ref_svi_county WHERE county_fips = '42001'",
    )
    assert adams == [("42001", "Adams County", "42", 0.2273, 104604)]

    # Every value of every row reads exactly as written in the file.
    expected = {row["FIPS"]: row for row in _svi_file_rows(real)}
    columns = ", ".join(c.lower() for c in SVI_2022_COLUMNS)
    loaded = query(warehouse_path, f"SELECT {columns} FROM reference.ref_svi_county")
    assert len(loaded) == len(expected) == 67
    for values in loaded:
        row = dict(zip(SVI_2022_COLUMNS, values, strict=True))
        source = expected[row["FIPS"]]
        for name, value in row.items():
            text = source[name]
            if SVI_2022_SCHEMA[name] == "VARCHAR":
                assert value == text, (row["FIPS"], name)
            elif text.strip() in ("-999", "-999.0"):
                assert value is None, (row["FIPS"], name)
            else:
                assert math.isclose(value, float(text), rel_tol=0, abs_tol=0), (row["FIPS"], name)


def test_svi_minus_999_becomes_null_and_bom_is_handled(
    landing_dir, materialize_reference, warehouse_path
):
    import pandas as pd

    from reference_assets.sample_universe import rng_for
    from reference_assets.svi_sample import svi_frame

    geo = pd.DataFrame(
        {
            "fips": ["01001", "01003", "01005"],
            "state_fips": ["01"] * 3,
            "state_name": ["Alabama"] * 3,
            "state_usps": ["AL"] * 3,
            "county_fips": ["01001", "01003", "01005"],
            "county_name": ["Autauga County", "Baldwin County", "Barbour County"],
            "location": ["a", "b", "c"],
            "population": [59_000, 0, 24_000],  # Baldwin without residents: -999 everywhere
        }
    )
    frame = svi_frame(geo, pd.Series([0, 0, 0]), rng_for(1, "test"))
    assert (frame.loc[1, ["EP_POV150", "RPL_THEMES", "F_TOTAL"]] == -999).all()
    path = landing_dir / "reference/svi/svi_al.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:  # with a BOM
        frame.to_csv(handle, index=False)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfST,")
    assert materialize_reference("key:reference/ref_svi_county").success
    rows = query(
        warehouse_path,
        "SELECT county_fips, st, rpl_themes IS NULL, ep_pov150 IS NULL, "
        "f_total IS NULL FROM reference.ref_svi_county ORDER BY 1",
    )
    assert rows == [
        ("01001", "01", False, False, False),
        ("01003", "01", True, True, True),
        ("01005", "01", False, False, False),
    ]


@pytest.mark.parametrize("source", ["reference/svi", "reference/adi", "reference/places"])
def test_landing_sources_name_the_assets_reading_each_folder(source):
    from reference_assets.definitions import LANDING_SOURCES

    graph = support.reference_definitions().resolve_asset_graph()
    keys = LANDING_SOURCES[source].resolve(graph)
    assert keys and all(k.path[0] == "reference" for k in keys)
    assert dg.AssetKey(["reference", "ref_us_states"]) in LANDING_SOURCES[
        "reference/states"
    ].resolve(graph)
