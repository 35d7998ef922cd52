"""The foundation's example source end to end: sample file -> asset -> check."""

import duckdb


def test_states_load_from_sample(sample_sources, materialize, warehouse_path):
    sample_sources("reference/states")
    result = materialize("key:reference/ref_us_states")
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = dict(
            con.sql("SELECT state_usps, state_fips FROM reference.ref_us_states").fetchall()
        )
    assert rows["AL"] == "01"
    assert rows["CA"] == "06"
    assert rows["PR"] == "72"
    assert len(rows) == 56
    materialization = result.asset_materializations_for_node("reference__ref_us_states")[0]
    assert materialization.metadata["dagster/row_count"].value == 56
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"state_codes_unique": True, "state_fips_unique": True, "row_count_drop": True}


def test_states_check_fails_on_duplicate(sample_sources, materialize, landing_dir):
    sample_sources("reference/states")
    extra = landing_dir / "reference" / "states" / "extra.csv"
    extra.write_text("usps,name,fips\nca,California again,6\n")
    result = materialize("key:reference/ref_us_states", raise_on_error=False)
    assert not result.success  # audited before publish: nothing was published
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["state_codes_unique"].passed
    assert evaluations["state_codes_unique"].metadata["duplicate_keys"].value == 1


def test_row_count_drop_check(sample_sources, materialize, landing_dir):
    """The shared row-count guard passes on the first load and blocks a big drop."""
    sample_sources("reference/states")
    assert materialize("key:reference/ref_us_states").success
    states = landing_dir / "reference" / "states" / "us_states.csv"
    lines = states.read_text().splitlines()
    states.write_text("\n".join(lines[:20]) + "\n")  # 19 of 56 states remain
    result = materialize("key:reference/ref_us_states", raise_on_error=False)
    assert not result.success
    drop = {e.check_name: e for e in result.get_asset_check_evaluations()}["row_count_drop"]
    assert not drop.passed
    assert drop.metadata["previous_rows"].value == 56
    assert drop.metadata["current_rows"].value == 19
