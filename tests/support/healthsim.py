"""Helpers for the HealthSim tests (no tests here).

``install_geography`` writes ``reference.ref_geography`` in the contract's shape (one row
per real county, from ``resources.geography``) straight into the test warehouse, so the
HealthSim tests need not build the whole reference domain. SVI ranks are a deterministic
function of the FIPS code, so quartiles are populated.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from resources.geography import us_counties, us_states


def install_geography(warehouse_path: Path) -> int:
    states = {s.usps: s for s in us_states()}
    rows = [
        {
            "county_fips": c.fips,
            "county_name": c.name,
            "state_fips": c.fips[:2],
            "state_usps": c.state,
            "state_name": states[c.state].name if c.state in states else None,
            "svi_overall_rank": (int(c.fips) * 7919 % 10_000) / 10_000,
            "svi_rank_scope": "national",
            "adi_national_rank_weighted": float(int(c.fips) * 31 % 100 + 1),
            "total_population": int(c.fips) % 100_000 + 1_000,
        }
        for c in us_counties()
    ]
    frame = pd.DataFrame(rows)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS reference")
        con.register("geo_frame", frame)
        con.execute(
            "CREATE OR REPLACE TABLE reference.ref_geography AS SELECT county_fips, county_name, "
            "state_fips, state_usps, state_name, CAST(svi_overall_rank AS DOUBLE) AS svi_overall_rank, "
            "svi_rank_scope, CAST(adi_national_rank_weighted AS DOUBLE) AS adi_national_rank_weighted, "
            "CAST(total_population AS BIGINT) AS total_population FROM geo_frame"
        )
    return len(rows)


def query(warehouse_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()
