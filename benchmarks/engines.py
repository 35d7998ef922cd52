"""DuckDB vs local Spark on the same assets: the FHIR mapping and the directory build.

Generates (once, cached) 1,000,000 patients and the default-scale directory into
``/tmp/engines-bench/landing``, then materializes in ONE run, on each engine:

- FHIR: ``fhir/patient_data`` (landing load) and ``fhir/fhir_patients`` (the SQL mapping);
- directory: every asset of the ``directory`` group (staging JSON -> typed tables -> views);

first on the local deployment (embedded DuckDB) and then on the Databricks deployment
against a local Spark Connect server (``local[2]``, Parquet tables, started and stopped
here by ``narr_platform.spark_connect_server``). The same
asset code and SQL run on both (translated by ``resources/spark_sql.py`` for Spark). It
prints the wall time, records/s and the Spark/DuckDB ratio of each. Asset checks are not
part of the timing. The machine is shared: run it when it is quiet and say so.

    .venv/bin/python benchmarks/engines.py [--patients 1000000] [--scale 1.0] [--out /tmp/engines-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import dagster as dg  # noqa: E402

WORKLOADS = {
    "fhir": (["fhir/patient_data", "fhir/fhir_patients"], "fhir.fhir_patients"),
    "directory": (None, "directory.organizations"),  # None: the whole directory group
}


def generate(landing: Path, patients: int, scale: float) -> None:
    from narr_platform import sample_data

    marker = landing / ".engines-bench.json"
    wanted = {"patients": patients, "scale": scale}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"sample data: reusing {landing}")
        return
    shutil.rmtree(landing, ignore_errors=True)
    started = time.perf_counter()
    request = sample_data.SampleDataRequest(out=landing, patients=patients, scale=scale)
    sample_data.generate(request, ("patients", "directory", "reference/states"))
    marker.write_text(json.dumps(wanted))
    print(
        f"sample data: {patients:,} patients, directory scale {scale} in {time.perf_counter() - started:.0f} s"
    )


def _assets() -> list[dg.AssetsDefinition]:
    import directory_assets.definitions
    import fhir_assets.definitions

    found = []
    for defs in (fhir_assets.definitions.defs, directory_assets.definitions.defs):
        found += [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    return found


def run_workload(name: str, env: dict[str, str]) -> tuple[float, int]:
    """Materialize one workload with the resources ``env`` selects; (seconds, records)."""
    from resources import build_resources

    keys_spec, count_table = WORKLOADS[name]
    assets = _assets()
    if keys_spec is None:
        keys = [k for a in assets for k in a.keys if k.path[0] == "directory"]
    else:
        keys = [dg.AssetKey(k.split("/")) for k in keys_spec]
    resources = build_resources(env)
    started = time.perf_counter()
    result = dg.materialize(
        assets,
        selection=keys,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    seconds = time.perf_counter() - started
    if not result.success:
        failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        raise SystemExit(f"{name} failed on {env.get('PLATFORM_DEPLOYMENT', 'local')}: {failures}")
    with resources["warehouse"].session() as session:
        records = session.row_count(count_table)
    return seconds, records


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0, help="Directory scale (1.0 = default).")
    parser.add_argument("--out", type=Path, default=Path("/tmp/engines-bench"))
    parser.add_argument("--spark-memory", default="6g", help="Heap of the Spark Connect server.")
    parser.add_argument("--only", choices=sorted(WORKLOADS), help="Run one workload only.")
    options = parser.parse_args()

    out = options.out.resolve()
    landing = out / "landing"
    generate(landing, options.patients, options.scale)
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPARK_", "DATABRICKS_", "DUCKDB_"))
    }
    base_env.pop("PLATFORM_DEPLOYMENT", None)
    base_env["PLATFORM_LANDING_DIR"] = str(landing)
    duck_env = {**base_env, "DUCKDB_DATABASE_PATH": str(out / "warehouse.duckdb")}
    from narr_platform.spark_connect_server import start_server, stop_server

    (out / "warehouse.duckdb").unlink(missing_ok=True)
    shutil.rmtree(out / "spark-server", ignore_errors=True)
    os.environ["PLATFORM_LANDING_DIR"] = str(landing)
    server = start_server(out / "spark-server", driver_memory=options.spark_memory, cores=2)
    spark_env = {
        **base_env,
        "PLATFORM_DEPLOYMENT": "databricks",
        "SPARK_REMOTE": server.url,
        "SPARK_SCHEMA_PREFIX": "bench_",
    }

    rows = []
    try:
        for name in [options.only] if options.only else list(WORKLOADS):
            duck_s, duck_n = run_workload(name, duck_env)
            print(
                f"{name:<10} duckdb       {duck_s:8.1f} s  {duck_n:>10,} records  {duck_n / duck_s:>12,.0f} records/s"
            )
            spark_s, spark_n = run_workload(name, spark_env)
            print(
                f"{name:<10} spark local[2] {spark_s:6.1f} s  {spark_n:>10,} records  {spark_n / spark_s:>12,.0f} records/s"
            )
            rows.append((name, duck_s, duck_n, spark_s, spark_n))
    finally:
        stop_server(server)
    print()
    print(
        f"{'workload':<10} {'duckdb s':>9} {'spark s':>9} {'records':>10} {'duckdb rec/s':>13} {'spark rec/s':>12} {'spark/duckdb time':>18}"
    )
    for name, duck_s, duck_n, spark_s, spark_n in rows:
        note = "" if duck_n == spark_n else f"  (record counts differ: {duck_n} vs {spark_n})"
        print(
            f"{name:<10} {duck_s:9.1f} {spark_s:9.1f} {duck_n:>10,} {duck_n / duck_s:13,.0f} "
            f"{spark_n / spark_s:12,.0f} {spark_s / duck_s:17.1f}x{note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
