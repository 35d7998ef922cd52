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
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]


def test_states_check_fails_on_duplicate(sample_sources, materialize, landing_dir):
    sample_sources("reference/states")
    extra = landing_dir / "reference" / "states" / "extra.csv"
    extra.write_text("usps,name,fips\nca,California again,6\n")
    result = materialize("key:reference/ref_us_states", raise_on_error=False)
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1 and not evaluations[0].passed
    assert evaluations[0].metadata["duplicate_usps"].value == 1


def test_row_count_drop_check(sample_sources, materialize, landing_dir):
    """The shared row-count-drop rule passes on the first load and fails on a big drop."""
    import dagster as dg

    from resources.quality_checks import row_count_drop_result

    sample_sources("reference/states")
    instance = dg.DagsterInstance.ephemeral()
    key = dg.AssetKey(["reference", "ref_us_states"])
    assert materialize("key:reference/ref_us_states", instance=instance).success
    assert row_count_drop_result(instance, key).passed  # first load
    states = landing_dir / "reference" / "states" / "us_states.csv"
    lines = states.read_text().splitlines()
    states.write_text("\n".join(lines[:20]) + "\n")  # 19 of 56 states remain
    assert materialize("key:reference/ref_us_states", instance=instance).success
    result = row_count_drop_result(instance, key)
    assert not result.passed
    assert result.metadata["previous_rows"].value == 56
    assert result.metadata["current_rows"].value == 19
