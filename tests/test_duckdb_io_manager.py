"""The local pandas IO manager: DataFrames round-trip through the DuckDB file."""

import dagster as dg
import duckdb
import pandas as pd

from resources import build_resources


@dg.asset(key=["small", "counts"], group_name="small")
def counts() -> pd.DataFrame:
    return pd.DataFrame({"state": ["AL", "CA"], "organizations": [3, 5]})


@dg.asset(key=["small", "total"], group_name="small")
def total(counts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"organizations": [int(counts["organizations"].sum())]})


def test_dataframes_round_trip_through_the_warehouse_file(warehouse_path):
    result = dg.materialize([counts, total], resources=build_resources())
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT * FROM small.counts ORDER BY state").fetchall() == [
            ("AL", 3),
            ("CA", 5),
        ]
        assert con.execute("SELECT organizations FROM small.total").fetchall() == [(8,)]


@dg.asset(key=["small", "nothing_found"], group_name="small")
def nothing_found() -> pd.DataFrame:
    return pd.DataFrame(
        {"entity_id": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")}
    )


@dg.asset(key=["small", "found_count"], group_name="small")
def found_count(nothing_found: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"columns": [",".join(nothing_found.columns)], "rows": [len(nothing_found)]}
    )


def test_an_empty_frame_is_an_empty_table_downstream_can_read(warehouse_path):
    """DuckDBPandasIOManager skips empty frames, so the downstream load found no table."""
    result = dg.materialize([nothing_found, found_count], resources=build_resources())
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM small.nothing_found").fetchall() == [(0,)]
        assert con.execute("SELECT * FROM small.found_count").fetchall() == [("entity_id,n", 0)]
