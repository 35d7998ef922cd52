"""Benchmark of the whole-record FHIR mappings: records/s per resource type.

    .venv/bin/python benchmarks/fhir_record.py --patients 100000

Writes under ``--workdir`` (default ``/tmp/fhir-record-bench``):

1. sample files: reference data and ``--patients`` HealthSim patients with their history in
   the Synthea layout (reused when already there for the same count);
2. the canonical HealthSim tables and the patients' FHIR resources, materialized once;
3. per resource type, in the same run: the asset (stage, audit, publish, through Dagster)
   against the same mapping SQL as one bare ``CREATE TABLE AS`` on a plain DuckDB
   connection (the engine's limit), as records/s and their ratio.

The machine may be shared: each ratio is measured in the same run, one type after another.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))


def configure(workdir: Path) -> None:
    os.environ["DUCKDB_DATABASE_PATH"] = str(workdir / "warehouse.duckdb")
    os.environ["PLATFORM_LANDING_DIR"] = str(workdir / "landing")
    os.environ.setdefault("DUCKDB_TEMP_DIRECTORY", str(workdir / "spill"))
    os.environ.pop("DAGSTER_HOME", None)


def write_sample(workdir: Path, patients: int) -> float:
    from narr_platform import sample_data

    marker = workdir / "landing" / f".healthsim-{patients}"
    if marker.exists():
        return 0.0
    started = time.perf_counter()
    request = sample_data.SampleDataRequest(out=workdir / "landing", healthsim_patients=patients)
    sample_data.generate(
        request,
        ("reference/states", "reference/places", "reference/svi", "reference/adi", "healthsim"),
    )
    marker.touch()
    return time.perf_counter() - started


def materialize(selection, keys) -> dict[str, dict]:
    """Materialize ``selection`` (checks included) once; the metadata of each of ``keys``."""
    from narr_platform.definitions import defs

    definitions = defs()
    selected = selection.resolve(definitions.resolve_asset_graph())
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(selected)
    )
    assert result.success
    return {
        key.to_user_string(): {
            k: v.value
            for k, v in result.asset_materializations_for_node("__".join(key.path))[
                0
            ].metadata.items()
            if not k.startswith("dagster/column")
        }
        for key in keys
    }


def bare_seconds(sql: str) -> tuple[float, int]:
    import duckdb

    from resources import local_warehouse

    warehouse = local_warehouse()
    connection = duckdb.connect(warehouse.database_path, config=warehouse.connection_config())
    try:
        started = time.perf_counter()
        connection.execute(f"CREATE OR REPLACE TABLE fhir.bare_mapping AS {sql}")
        seconds = time.perf_counter() - started
        rows = connection.execute("SELECT count(*) FROM fhir.bare_mapping").fetchall()[0][0]
        connection.execute("DROP TABLE fhir.bare_mapping")
    finally:
        connection.close()
    return seconds, int(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fhir-record-bench"))
    args = parser.parse_args()
    if args.patients < 1:
        raise SystemExit("--patients must be at least 1.")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    configure(workdir)

    import dagster as dg

    from fhir_assets.clinical.assets import MAPPINGS, mapping_sql

    sample = write_sample(workdir, args.patients)
    print(f"Whole-record FHIR benchmark: {args.patients:,} HealthSim patients, workdir {workdir}")
    print(f"  sample files {sample:.1f} s (0 = reused), load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    metadata = materialize(
        dg.AssetSelection.groups("fhir_clinical").upstream(), [m.key for m in MAPPINGS]
    )
    print(f"  canonical tables and resources materialized in {time.perf_counter() - started:.1f} s")
    print(
        f"  {'type':<20} {'resources':>11} {'asset rec/s':>12} {'bare rec/s':>12} {'asset/bare':>10}"
    )
    for mapping in MAPPINGS:
        figures = metadata[mapping.key.to_user_string()]
        rows = int(figures["dagster/row_count"])
        asset_rate = float(figures["records_per_second"])
        seconds, bare_rows = bare_seconds(mapping_sql(mapping.sql_name))
        assert bare_rows == rows, (mapping.resource_type, bare_rows, rows)
        bare_rate = rows / seconds if seconds > 0 else float("inf")
        print(
            f"  {mapping.resource_type:<20} {rows:>11,} {asset_rate:>12,.0f} {bare_rate:>12,.0f} "
            f"{bare_rate / asset_rate if asset_rate else float('inf'):>9.2f}x"
        )


if __name__ == "__main__":
    main()
