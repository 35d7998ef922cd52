"""Load time and rows/s of the national-size reference sample (PLACES, SVI, ADI).

    .venv/bin/python benchmarks/reference_load.py [--out /tmp/reference-bench] [--seed 42]

Generates ``--reference national`` sample files (about 85 thousand tracts, 242 thousand
block groups, PLACES tract rows in the millions) into ``OUT/landing``, materializes the
reference group with its checks into ``OUT/warehouse.duckdb`` and prints, per table, the
step time and rows/s. As a baseline measured in the same run, each source file is also
read by DuckDB's auto-detecting CSV reader into a scratch table (no header check, no
explicit schema, no typing rules); the ratio says what the typed load costs on top.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

#: table -> the landing files it reads (glob under the landing root), for the baseline.
SOURCES = {
    "ref_places_county": "reference/places/*County*.csv",
    "ref_places_tract": "reference/places/*Tract*.csv",
    "ref_svi_county": "reference/svi/*.csv",
    "ref_svi_tract": "reference/svi/*.csv",
    "ref_adi_blockgroup": "reference/adi/*.csv",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/reference-bench"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    out: Path = args.out
    landing, warehouse = out / "landing", out / "warehouse.duckdb"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.environ["PLATFORM_LANDING_DIR"] = str(landing)
    os.environ["DUCKDB_DATABASE_PATH"] = str(warehouse)

    import dagster as dg
    import duckdb

    from narr_platform import sample_data
    from reference_assets.definitions import defs
    from resources import build_resources

    started = time.perf_counter()
    request = sample_data.SampleDataRequest(out=landing, seed=args.seed, reference="national")
    written = sample_data.generate(
        request, ("reference/states", "reference/places", "reference/svi", "reference/adi")
    )
    generation = time.perf_counter() - started
    size = sum(p.stat().st_size for paths in written.values() for p in paths)
    print(f"generated national sample: {size / 1e6:,.0f} MB in {generation:,.1f} s ({landing})")

    definitions = dg.Definitions.merge(defs, dg.Definitions(resources=build_resources()))
    job = definitions.resolve_implicit_global_asset_job_def()
    keys = dg.AssetSelection.groups("reference").resolve(definitions.resolve_asset_graph())
    started = time.perf_counter()
    result = job.execute_in_process(
        asset_selection=list(keys), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    total = time.perf_counter() - started

    durations = {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    rows = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            rows[materialization.asset_key.path[-1]] = materialization.metadata[
                "dagster/row_count"
            ].value

    baseline = {}
    with duckdb.connect() as con:
        for table, pattern in SOURCES.items():
            files = sorted(landing.glob(pattern))
            t0 = time.perf_counter()
            for i, path in enumerate(files):
                con.execute(
                    f"CREATE OR REPLACE TABLE scratch_{i} AS SELECT * FROM read_csv_auto('{path}')"
                )
            baseline[table] = time.perf_counter() - t0

    print(
        f"\nreference group: {'succeeded' if result.success else 'FAILED'} in {total:,.1f} s "
        f"(all assets and checks, one step at a time)"
    )
    print(f"{'table':<26}{'rows':>12}{'load s':>9}{'rows/s':>13}{'auto-detect s':>15}{'ratio':>7}")
    for table, count in sorted(rows.items(), key=lambda kv: -kv[1]):
        seconds = durations.get(f"reference__{table}", float("nan"))
        base = baseline.get(table)
        ratio = f"{seconds / base:6.2f}" if base else "     -"
        base_text = f"{base:15.2f}" if base else f"{'-':>15}"
        print(
            f"{table:<26}{count:>12,}{seconds:>9.2f}{count / seconds:>13,.0f}{base_text}{ratio:>7}"
        )
    failed = [
        f"{e.asset_key.path[-1]}.{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    checks = len(result.get_asset_check_evaluations())
    print(
        f"\nchecks: {checks - len(failed)} of {checks} passed"
        + (f"; failed: {failed}" if failed else "")
    )
    print("(the auto-detect baseline reads the whole SVI folder for both SVI tables)")


if __name__ == "__main__":
    main()
