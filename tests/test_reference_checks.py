"""Each reference check and the header guard, with a case that must fail."""

from __future__ import annotations

import csv
import shutil

import dagster as dg
import pandas as pd
import pytest

import tests.support.reference as support
from reference_assets.layouts import header_problems
from reference_assets.svi_layout import SVI_2022_COLUMNS
from tests.support.reference import check_results, copy_states, query, svi_rows, write_csv

reference_sample = support.reference_sample
materialize_reference = support.materialize_reference

ADI_HEADER = ["GISJOIN", "FIPS", "ADI_NATRANK", "ADI_STATERNK"]
ADI_KEY = "key:reference/ref_adi_blockgroup"


def adi_rows(*ranks: tuple[str, str]) -> list[list[str]]:
    """Block groups 010010201001, 010010201002, ... of Autauga County with the given ranks."""
    return [
        [f"G0100010020100{i}", f"01001020100{i}", national, state]
        for i, (national, state) in enumerate(ranks, start=1)
    ]


def write_adi(landing, rows, name="US_2021_ADI_bg.csv"):
    """An ADI file of the described 2021 release (the year is in its name)."""
    return write_csv(landing / "reference/adi" / name, ADI_HEADER, rows)


# ---- header guard -------------------------------------------------------------------------


def test_header_problems_name_missing_unexpected_and_order():
    expected = ["A", "B", "C"]
    assert header_problems(["A", "B", "C"], expected) == []
    assert header_problems(["A", "X", "C"], expected) == [
        "missing columns ['B']",
        "unexpected columns ['X']",
    ]
    assert header_problems(["A", "C", "B"], expected) == [
        "columns out of order: position 2 is 'C', expected 'B'"
    ]


def test_wrong_svi_header_is_refused_into_rejected_files_and_the_rest_loads(
    landing_dir, materialize_reference, warehouse_path
):
    good = svi_rows([1000, 2000, 3000])
    path = landing_dir / "reference/svi/svi_al.csv"
    path.parent.mkdir(parents=True)
    good.to_csv(path, index=False, encoding="utf-8-sig")
    assert materialize_reference("key:reference/ref_svi_county").success

    # A second file drops RPL_THEMES and renames E_TOTPOP: that file alone is refused.
    bad = good.drop(columns=["RPL_THEMES"]).rename(columns={"E_TOTPOP": "TOTPOP"})
    bad["ST"] = "13"
    bad.to_csv(landing_dir / "reference/svi/svi_ga.csv", index=False)
    result = materialize_reference("key:reference/ref_svi_county")
    assert result.success
    meta = result.asset_materializations_for_node("reference__ref_svi_county")[0].metadata
    (refusal,) = meta["refused_files"].value
    assert refusal.startswith("svi_ga.csv: header does not match the SVI layout")
    assert "missing columns ['E_TOTPOP', 'RPL_THEMES']" in refusal
    assert "unexpected columns ['TOTPOP']" in refusal
    rows = query(
        warehouse_path,
        "SELECT source, file_name, reason, missing_columns, found_columns, refused_at IS NOT NULL "
        "FROM reference.rejected_files",
    )
    assert [r[:2] for r in rows] == [("SVI", "svi_ga.csv")]
    assert rows[0][3] == "E_TOTPOP, RPL_THEMES" and "TOTPOP" in rows[0][4].split(", ")
    assert rows[0][5] is True
    # The good file still loads: the three Alabama rows.
    assert query(
        warehouse_path, "SELECT count(*), min(state_fips) FROM reference.ref_svi_county"
    ) == [(3, "01")]

    # Every file refused: the run fails naming them and publishes nothing.
    path.unlink()
    result = materialize_reference("key:reference/ref_svi_county", raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("reference__ref_svi_county")
    text = failure.user_failure_data.description if failure.user_failure_data else ""
    assert text.startswith("Every SVI file was refused") and "svi_ga.csv" in text
    assert query(
        warehouse_path, "SELECT count(*), min(state_fips) FROM reference.ref_svi_county"
    ) == [(3, "01")]
    assert query(warehouse_path, "SELECT file_name FROM reference.rejected_files") == [
        ("svi_ga.csv",)
    ]


def test_unparsable_value_fails_the_run_naming_file_and_column(
    landing_dir, materialize_reference, warehouse_path
):
    path = landing_dir / "reference/svi/svi_al.csv"
    path.parent.mkdir(parents=True)
    svi_rows([1000, 2000]).to_csv(path, index=False)
    assert materialize_reference("key:reference/ref_svi_county").success
    frame = svi_rows([1000, 2000]).astype(str)
    frame.loc[1, "E_TOTPOP"] = "2,0O0"  # a typo the engine cannot read as an integer
    frame.to_csv(path, index=False)
    result = materialize_reference("key:reference/ref_svi_county", raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("reference__ref_svi_county")
    text = failure.user_failure_data.description if failure.user_failure_data else ""
    assert "svi_al.csv" in text and "E_TOTPOP" in text and "nothing was loaded" in text
    assert query(warehouse_path, "SELECT sum(e_totpop) FROM reference.ref_svi_county") == [(3000,)]


def test_wrong_places_tract_header_is_refused(reference_sample, landing_dir, tmp_path):
    from reference_assets import layouts

    source = next((reference_sample / "reference/places").glob("*Tract*"))
    with open(source, newline="") as handle:
        header = next(csv.reader(handle))
    broken = landing_dir / "reference/places" / source.name
    write_csv(broken, [h for h in header if h != "CountyFIPS"] + ["Extra"], [])
    accepted, (refused,) = layouts.screen_headers(
        "PLACES tract", [broken, source], list(layouts.PLACES_TRACT_SCHEMA)
    )
    assert accepted == [source] and refused.path == broken
    assert "missing columns ['CountyFIPS']" in refused.reason and refused.missing == ("CountyFIPS",)
    # The county layout refuses a tract file: the two layouts are told apart.
    _, (county,) = layouts.screen_headers("PLACES county", [source], layouts.PLACES_COUNTY_SCHEMA)
    assert "unexpected columns ['CountyName', 'CountyFIPS']" in county.reason


# ---- ADI: suppression codes, ranks, FIPS, keys ----------------------------------------


def test_adi_suppression_codes_are_split_from_ranks(
    landing_dir, materialize_reference, warehouse_path
):
    write_adi(
        landing_dir,
        adi_rows(("57", "6"), ("GQ", "GQ"), ("PH", "PH"), ("GQ-PH", "GQ-PH"), ("QDI", "QDI")),
    )
    result = materialize_reference(ADI_KEY)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    rows = query(
        warehouse_path,
        "SELECT adi_national_rank, adi_state_rank, suppression_code "
        "FROM reference.ref_adi_blockgroup ORDER BY blockgroup_fips",
    )
    assert rows == [
        (57, 6, None),
        (None, None, "GQ"),
        (None, None, "PH"),
        (None, None, "GQ-PH"),
        (None, None, "QDI"),
    ]
    types = dict(
        query(
            warehouse_path,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'ref_adi_blockgroup'",
        )
    )
    assert types["adi_national_rank"] == types["adi_state_rank"] == "INTEGER"
    assert types["blockgroup_fips"] == "VARCHAR"


@pytest.mark.parametrize(
    ("ranks", "bad"),
    [
        ((("57", "6"), ("XX", "XX")), 1),  # an unknown suppression code
        ((("101", "6"), ("12", "11")), 2),  # ranks out of range
        ((("57", ""), ("12", "3")), 1),  # a rank missing with no code
    ],
)
def test_adi_ranks_check_fails(landing_dir, materialize_reference, ranks, bad):
    write_adi(landing_dir, adi_rows(*ranks))
    result = materialize_reference(ADI_KEY, raise_on_error=False)
    evaluation = check_results(result)[("ref_adi_blockgroup", "adi_ranks_valid")]
    assert not evaluation.passed
    assert evaluation.metadata["violating_rows"].value == bad


def test_fips_keep_leading_zeros_and_bad_fips_fail(
    landing_dir, materialize_reference, warehouse_path
):
    # An Alabama block group whose leading zero was lost by a spreadsheet is padded back.
    write_adi(landing_dir, [["G01000100201001", "10010201001", "40", "4"]])
    assert materialize_reference(ADI_KEY).success
    assert query(
        warehouse_path,
        "SELECT blockgroup_fips, county_fips, state_fips FROM reference.ref_adi_blockgroup",
    ) == [("010010201001", "01001", "01")]

    # A letter in a code, and a 13-digit code: neither is cut or hidden, both are reported.
    write_adi(
        landing_dir,
        [
            ["G06003700201001", "06037A201001", "40", "4"],
            ["G06003700201002", "0603700201002", "41", "4"],
        ],
    )
    result = materialize_reference(ADI_KEY, raise_on_error=False)
    evaluation = check_results(result)[("ref_adi_blockgroup", "fips_format")]
    assert not evaluation.passed
    assert evaluation.metadata["failing_rows"].value == 2
    assert "06037A201001" in str(evaluation.metadata["examples"].value)
    assert "0603700201002" in str(evaluation.metadata["examples"].value)


def test_key_unique_check_fails_on_a_file_landed_twice(landing_dir, materialize_reference):
    rows = adi_rows(("57", "6"), ("12", "2"))
    write_adi(landing_dir, rows, name="adi.csv")
    write_adi(landing_dir, rows, name="adi_copy.csv")
    result = materialize_reference(ADI_KEY, raise_on_error=False)
    evaluation = check_results(result)[("ref_adi_blockgroup", "key_unique")]
    assert not evaluation.passed
    assert evaluation.metadata["duplicate_keys"].value == 2


def test_row_count_drop_check_on_a_reference_table(landing_dir, materialize_reference):
    instance = dg.DagsterInstance.ephemeral()
    ranks = [(str(10 + i), "5") for i in range(9)]
    write_adi(landing_dir, adi_rows(*ranks))
    first = materialize_reference(ADI_KEY, instance=instance)
    assert check_results(first)[("ref_adi_blockgroup", "row_count_drop")].passed
    write_adi(landing_dir, adi_rows(*ranks[:5]))  # 9 -> 5 block groups
    second = materialize_reference(ADI_KEY, instance=instance, raise_on_error=False)
    evaluation = check_results(second)[("ref_adi_blockgroup", "row_count_drop")]
    assert not evaluation.passed
    assert evaluation.metadata["previous_rows"].value == 9
    assert evaluation.metadata["current_rows"].value == 5


# ---- SVI and PLACES value checks --------------------------------------------------------


def test_svi_rank_outside_zero_one_fails(landing_dir, materialize_reference):
    frame = svi_rows([1000, 2000])
    frame.loc[0, "RPL_THEMES"] = 1.5
    path = landing_dir / "reference/svi/svi_al.csv"
    path.parent.mkdir(parents=True)
    frame.to_csv(path, index=False)
    result = materialize_reference("key:reference/ref_svi_county", raise_on_error=False)
    evaluation = check_results(result)[("ref_svi_county", "svi_ranks_in_range")]
    assert not evaluation.passed
    assert evaluation.metadata["violating_rows"].value == 1
    assert list(frame.columns) == list(SVI_2022_COLUMNS)


def _places_county_rows(reference_sample, landing_dir, edit) -> None:
    """The Alabama rows of the sample's PLACES county file, changed by ``edit``."""
    copy_states(reference_sample, landing_dir, ["01"])
    for path in (landing_dir / "reference").iterdir():
        if path.name != "places":
            shutil.rmtree(path)
    for path in (landing_dir / "reference/places").glob("*Tract*"):
        path.unlink()
    county = next((landing_dir / "reference/places").glob("*County*"))
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    edit(frame).to_csv(county, index=False)


def test_places_value_outside_confidence_limits_fails(
    reference_sample, landing_dir, materialize_reference
):
    def edit(frame):
        frame.loc[0, "Data_Value"] = "99.9"
        frame.loc[0, "High_Confidence_Limit"] = "20.0"
        return frame

    _places_county_rows(reference_sample, landing_dir, edit)
    result = materialize_reference("key:reference/ref_places_county", raise_on_error=False)
    checks = check_results(result)
    assert checks[("ref_places_county", "counties_cover_states")].passed
    evaluation = checks[("ref_places_county", "values_within_confidence_limits")]
    assert not evaluation.passed
    assert evaluation.metadata["violating_rows"].value == 1


def test_county_coverage_fails_when_a_county_of_a_present_state_is_missing(
    reference_sample, landing_dir, materialize_reference
):
    _places_county_rows(
        reference_sample, landing_dir, lambda frame: frame[frame["LocationID"] != "01003"]
    )
    result = materialize_reference("key:reference/ref_places_county", raise_on_error=False)
    evaluation = check_results(result)[("ref_places_county", "counties_cover_states")]
    assert not evaluation.passed
    assert evaluation.metadata["missing_counties_by_state"].value == {"AL": 1}
    assert evaluation.metadata["counties"].value == 66


# ---- ref_geography ------------------------------------------------------------------------


def test_block_group_of_an_unknown_county_fails_the_geography_check(
    reference_sample, landing_dir, materialize_reference, warehouse_path
):
    copy_states(reference_sample, landing_dir, ["10"])  # Delaware: three counties
    with open(landing_dir / "reference/adi/US_2021_ADI_Census_Block_Group_v4_0_1.csv", "a") as f:
        f.write("G10099909999991,109999999991,50,5\n")  # county 10999 does not exist
    result = materialize_reference("group:reference", raise_on_error=False)
    checks = check_results(result)
    evaluation = checks[("ref_geography", "tract_counties_in_geography")]
    assert not evaluation.passed
    assert evaluation.metadata["orphan_rows"].value == {
        "reference.ref_places_tract": 0,
        "reference.ref_svi_tract": 0,
        "reference.ref_adi_blockgroup": 1,
    }
    assert evaluation.metadata["orphan_counties"].value == {"reference.ref_adi_blockgroup": "10999"}
    # Everything else about the Delaware load passes.
    others = [
        key for key, e in checks.items() if not e.passed and key[1] != "tract_counties_in_geography"
    ]
    assert others == []
    assert query(
        warehouse_path,
        "SELECT count(*) FROM reference.ref_geography WHERE state_usps = 'DE' "
        "AND adi_national_rank_weighted IS NOT NULL",
    ) == [(3,)]
    # The national county file cut to one state is still nationally ranked (by its name);
    # the Delaware tract file, one state, is ranked within the state.
    assert query(
        warehouse_path,
        "SELECT DISTINCT svi_rank_scope FROM reference.ref_geography WHERE state_usps = 'DE'",
    ) == [("national",)]
    assert query(warehouse_path, "SELECT DISTINCT svi_rank_scope FROM reference.ref_svi_tract") == [
        ("state",)
    ]


def test_reference_check_command_names_a_bad_header(landing_dir):
    from click.testing import CliRunner

    from reference_assets.cli import reference_check

    write_adi(landing_dir, adi_rows(("57", "6")))
    runner = CliRunner()
    ok = runner.invoke(reference_check, ["--landing", str(landing_dir)])
    assert ok.exit_code == 0 and "1 of 1 file(s) match" in ok.output
    write_csv(landing_dir / "reference/adi/bad.csv", ["GISJOIN", "FIPS", "ADI_NATRANK"], [])
    bad = runner.invoke(reference_check, ["--landing", str(landing_dir)])
    assert bad.exit_code == 1
    assert "reference/adi/bad.csv: refused: missing columns ['ADI_STATERNK']" in bad.output


def test_national_county_load_below_3000_counties_fails(
    reference_sample, landing_dir, materialize_reference
):
    places = landing_dir / "reference/places"
    places.mkdir(parents=True)
    county = next((reference_sample / "reference/places").glob("*County*"))
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    dropped = sorted(set(frame["LocationID"]) - {"59"})[::10]  # every tenth county
    frame[~frame["LocationID"].isin(dropped)].to_csv(places / county.name, index=False)
    result = materialize_reference("key:reference/ref_places_county", raise_on_error=False)
    evaluation = check_results(result)[("ref_places_county", "counties_cover_states")]
    assert not evaluation.passed
    assert evaluation.metadata["national_load"].value is True
    assert evaluation.metadata["counties"].value == 3235 - len(dropped) < 3000


def test_sample_files_are_deterministic_for_a_seed(tmp_path):
    from narr_platform import sample_data
    from reference_assets.sample_universe import build_universe

    def generate(name: str, seed: int) -> dict[str, bytes]:
        build_universe.cache_clear()  # rebuild the geography from the seed too
        out = tmp_path / name
        request = sample_data.SampleDataRequest(out=out, seed=seed)
        sample_data.generate(request, ("reference/adi", "reference/svi"))
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.csv"))}

    first, again, other = generate("a", 42), generate("b", 42), generate("c", 43)
    assert first == again
    assert first.keys() == other.keys() and first != other


# ---- vintages -----------------------------------------------------------------------------


def test_every_reference_source_records_and_reports_its_vintage(
    reference_sample, landing_dir, materialize_reference, warehouse_path
):
    """ADI recorded no vintage in its metadata, PLACES none anywhere but a column: one rule
    for SVI, ADI and PLACES (the SVI case is in test_dirty_exports)."""
    write_adi(landing_dir, adi_rows(("57", "6"), ("12", "1")), name="US_2019_ADI_bg.csv")
    places = landing_dir / "reference/places"
    places.mkdir(parents=True)
    county = next((reference_sample / "reference/places").glob("*County*"))
    shutil.copy(county, places / "places_county.csv")  # a file name without a year
    result = materialize_reference(f"{ADI_KEY} or key:reference/ref_places_county")
    assert result.success
    checks = check_results(result)

    adi = result.asset_materializations_for_node("reference__ref_adi_blockgroup")[0].metadata
    assert adi["vintages"].value == {"2019": 2} and adi["described_vintage"].value == 2021
    assert adi["vintage_note"].value == "loaded 2019 (2 rows), described as 2021"
    warning = checks[("ref_adi_blockgroup", "vintage_as_described")]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.metadata["vintages_loaded"].value == {"2019": 2}

    places_meta = result.asset_materializations_for_node("reference__ref_places_county")[0].metadata
    rows = query(warehouse_path, "SELECT count(*) FROM reference.ref_places_county")[0][0]
    assert places_meta["vintages"].value == {"unknown": rows}
    assert not checks[("ref_places_county", "vintage_as_described")].passed
    (comment,) = query(
        warehouse_path,
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'ref_adi_blockgroup'",
    )[0]
    assert comment.startswith("Neighborhood Atlas ADI, vintages held: 2019;")

    # The described releases pass: the file names carry 2021 and 2024.
    (landing_dir / "reference/adi/US_2019_ADI_bg.csv").rename(
        landing_dir / "reference/adi/US_2021_ADI_bg.csv"
    )
    (places / "places_county.csv").rename(places / county.name)
    result = materialize_reference(f"{ADI_KEY} or key:reference/ref_places_county")
    checks = check_results(result)
    assert checks[("ref_adi_blockgroup", "vintage_as_described")].passed
    assert checks[("ref_places_county", "vintage_as_described")].passed
    meta = result.asset_materializations_for_node("reference__ref_places_county")[0].metadata
    assert meta["vintage_note"].value == "as described (2024)"
