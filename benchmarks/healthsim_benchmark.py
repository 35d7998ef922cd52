"""HealthSim: generator and in-engine build (canonical tables + star schema) at two sizes.

    .venv/bin/python benchmarks/healthsim_benchmark.py [--small 1000] [--large 10000]

Writes only under /tmp/healthsim-bench/. For each size: generator seconds, build seconds
(the canonical + analytics assets with their checks, in-process, one warehouse file),
rows per second and the process's peak RSS. The large/small time ratio against the
size ratio says whether the build scales linearly (measured in the same run, so machine
noise affects both). A county table in the ref_geography contract shape is installed
directly (the reference domain has its own benchmark).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path("/tmp/healthsim-bench")
SELECTION = (
    "(group:healthsim or group:analytics) and not key:healthsim/scenarios "
    "and not key:healthsim/readmission_capture "
    "and not key:healthsim/patient_fhir_resources"
)


def run(patients: int) -> dict[str, float]:
    import dagster as dg
    import duckdb

    from narr_platform.sample_data import SampleDataRequest, generate
    from tests.support.healthsim import install_geography

    folder = OUT / f"n{patients}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["DUCKDB_DATABASE_PATH"] = str(folder / "warehouse.duckdb")
    os.environ["PLATFORM_LANDING_DIR"] = str(folder / "landing")
    os.environ.pop("DAGSTER_HOME", None)

    started = time.perf_counter()
    generate(SampleDataRequest(out=folder / "landing", healthsim_patients=patients), ("healthsim",))
    generated = time.perf_counter() - started

    install_geography(folder / "warehouse.duckdb")
    from narr_platform.definitions import defs

    definitions = defs()
    keys = dg.AssetSelection.from_string(SELECTION).resolve(definitions.resolve_asset_graph())
    job = definitions.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(
        asset_selection=list(keys), instance=dg.DagsterInstance.ephemeral()
    )
    built = time.perf_counter() - started
    assert result.success
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        rows = sum(
            con.execute(f"SELECT count(*) FROM healthsim.{t}").fetchone()[0]
            for t in ("patients", "encounters", "conditions", "claims", "medications", "procedures")
        )
    return {
        "patients": patients,
        "source_rows": rows,
        "generate_s": generated,
        "build_s": built,
        "rows_per_s": rows / built,
        "peak_rss_mb": psutil.Process().memory_info().rss / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    results = [run(args.small), run(args.large)]
    print(
        f"{'patients':>9} {'rows':>9} {'generate s':>11} {'build s':>8} {'rows/s':>9} {'rss MB':>7}"
    )
    for r in results:
        print(
            f"{r['patients']:>9,} {r['source_rows']:>9,} {r['generate_s']:>11.2f} "
            f"{r['build_s']:>8.2f} {r['rows_per_s']:>9,.0f} {r['peak_rss_mb']:>7.0f}"
        )
    small, large = results
    size_ratio = large["source_rows"] / small["source_rows"]
    print(
        f"size x{size_ratio:.1f}: generate x{large['generate_s'] / small['generate_s']:.1f}, "
        f"build x{large['build_s'] / small['build_s']:.1f} "
        "(build time is mostly fixed Dagster step overhead at these sizes)"
    )


if __name__ == "__main__":
    main()
