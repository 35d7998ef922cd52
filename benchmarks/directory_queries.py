"""Directory query benchmark: p50/p95 of the four query classes, and materialization time.

    .venv/bin/python benchmarks/directory_queries.py                  # default scale and x100
    .venv/bin/python benchmarks/directory_queries.py --scales 1       # default scale only
    .venv/bin/python benchmarks/directory_queries.py --scales 100 --reuse-sources

For each scale it writes the sample sources into ``<workdir>/x<scale>/landing`` (or reuses
them with ``--reuse-sources``), materializes the whole ``directory`` group in-process into
``<workdir>/x<scale>/warehouse.duckdb`` (timed), then opens the warehouse read-only and
times >= 200 varied calls of each query class on one connection ("engine": SQL in DuckDB)
and, for the classes it serves, on the in-process ``DirectoryIndex`` ("index"):

- geographic radius search (``nearby``; random organizations' coordinates, 5-50 miles),
- service availability (``service_availability``; random state x service x payment),
- network lookup (``network``; random organizations),
- aggregate statistics (``directory_stats``; all states or one random state).

Figures are printed beside the directory's own targets (50 / 100 / 200 / 150 ms) and this
issue's goals (p95 < 5 ms at 41 thousand organizations, < 100 ms at 4.1 million). The
machine is shared: run it when it is quiet, and read the figures as measured, not promised.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from directory_assets import queries  # noqa: E402

STAGED = ("treatment_centers", "narr_residences", "recovery_centers", "recovery_organizations")
TARGETS_MS = {"radius": 50, "service_availability": 100, "network": 200, "statistics": 150}
GOAL_P95_MS = {1.0: 5.0, 100.0: 100.0}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def generate(landing: Path, scale: float, seed: int) -> float:
    from narr_platform.sample_data import SampleDataRequest
    from narr_platform.sample_data import generate as generate_sources

    started = time.perf_counter()
    generate_sources(SampleDataRequest(out=landing, seed=seed, scale=scale), ("directory",))
    return time.perf_counter() - started


def materialize(
    database: Path,
    landing: Path,
    threads: int | None,
    skip_network: bool = False,
    keep_staging: bool = False,
) -> tuple[float, dict[str, float]]:
    import directory_assets.definitions as directory
    from resources import DuckDBWarehouse, LandingZone

    if not keep_staging:
        for suffix in ("", ".wal"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    warehouse = DuckDBWarehouse(database_path=str(database), threads=threads)
    defs = dg.Definitions.merge(
        directory.defs,
        dg.Definitions(
            resources={"warehouse": warehouse, "landing": LandingZone(root=str(landing))}
        ),
    )
    job = defs.resolve_implicit_global_asset_job_def()
    selection = dg.AssetSelection.groups("directory")
    if skip_network:
        selection = selection - dg.AssetSelection.assets(["directory", "network_relationships"])
    if keep_staging:  # the staging tables are already in the warehouse: build what follows
        selection = selection - dg.AssetSelection.assets(
            *[["directory", f"stg_{name}"] for name in STAGED]
        )
    keys = selection.resolve(defs.resolve_asset_graph())
    started = time.perf_counter()
    result = job.execute_in_process(
        asset_selection=list(keys), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    seconds = time.perf_counter() - started
    if not result.success:
        failed = [
            e.step_key
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        raise SystemExit(f"materialization failed: {failed}")
    steps = {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    return seconds, steps


def time_calls(calls: list[Callable[[], Any]], warmup: int = 10) -> list[float]:
    for call in calls[:warmup]:
        call()
    timings = []
    for call in calls:
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def query_classes(
    session: Any, index: Any, calls: int, seed: int, has_network: bool = True
) -> dict[tuple[str, str], list[float]]:
    rng = random.Random(seed)
    points = session.fetch_rows(
        "SELECT latitude, longitude FROM directory.organizations "
        "WHERE latitude IS NOT NULL USING SAMPLE 2000 ROWS (reservoir, 7)"
    )
    states = [
        r[0] for r in session.fetch_rows("SELECT DISTINCT state FROM directory.organizations")
    ]
    org_ids = [
        r[0]
        for r in session.fetch_rows(
            "SELECT org_id FROM directory.organizations WHERE latitude IS NOT NULL "
            "USING SAMPLE 2000 ROWS (reservoir, 11)"
        )
    ]
    services = ["mat", "otp", "outpatient", "residential", "inpatient"]
    payments = ["medicaid", "medicare", "private", "sliding_fee", None]

    def radius(target):
        lat, lon = rng.choice(points)
        miles = rng.choice((5, 10, 25, 50))
        return lambda: queries.nearby(target, lat, lon, miles=miles, limit=50)

    def availability(target):
        state, service, payment = rng.choice(states), rng.choice(services), rng.choice(payments)
        return lambda: queries.service_availability(target, state, service, payment, limit=50)

    def network(target):
        org_id = rng.choice(org_ids)
        return lambda: queries.network(target, org_id, limit=25)

    def stats(target):
        state = rng.choice([None, *states])
        return lambda: queries.directory_stats(target, state=state)

    plans = [
        ("radius", "index", radius, index),
        ("radius", "engine", radius, session),
        ("service_availability", "index", availability, index),
        ("service_availability", "engine", availability, session),
        *([("network", "index", network, index)] if index.network is not None else []),
        *([("network", "engine", network, session)] if has_network else []),
        ("statistics", "index", stats, index),
        ("statistics", "engine", stats, session),
    ]
    return {
        (name, path): time_calls([build(target) for _ in range(calls)])
        for name, path, build, target in plans
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,100", help="comma-separated scales (default 1,100)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/directory-bench"))
    parser.add_argument(
        "--calls", type=int, default=200, help="timed calls per query class (>= 200)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: all cores)"
    )
    parser.add_argument("--reuse-sources", action="store_true", help="reuse existing sample files")
    parser.add_argument(
        "--skip-materialize", action="store_true", help="query an existing warehouse"
    )
    parser.add_argument(
        "--skip-network",
        action="store_true",
        help="materialize the group without network_relationships (e.g. at x100)",
    )
    parser.add_argument(
        "--after-staging",
        action="store_true",
        help="keep the staged tables in the warehouse and materialize only what follows them",
    )
    args = parser.parse_args()

    from resources import DuckDBWarehouse

    for scale in (float(s) for s in args.scales.split(",")):
        folder = args.workdir / f"x{scale:g}"
        landing, database = folder / "landing", folder / "warehouse.duckdb"
        print(f"\n=== scale x{scale:g} ({folder}) ===", flush=True)
        if not (args.reuse_sources and (landing / "directory").is_dir()):
            shutil.rmtree(landing, ignore_errors=True)
            print(
                f"sample sources generated in {generate(landing, scale, args.seed):.1f} s",
                flush=True,
            )
        if not args.skip_materialize:
            seconds, steps = materialize(
                database, landing, args.threads, args.skip_network, args.after_staging
            )
            if args.after_staging:
                print("(staging assets kept from an earlier run: --after-staging)")
            if args.skip_network:
                print("(network_relationships skipped: --skip-network)")
            goal = " (goal at default scale: < 20 s)" if scale == 1.0 else ""
            print(f"materialization of the directory group: {seconds:.1f} s{goal}", flush=True)
            for step, took in sorted(steps.items(), key=lambda kv: -kv[1])[:8]:
                print(f"    {step:<55} {took:7.2f} s")
        from directory_assets.index import DirectoryIndex

        warehouse = DuckDBWarehouse(
            database_path=str(database), read_only=True, threads=args.threads
        )
        with warehouse.session() as s:
            organizations = s.row_count("directory.organizations")
            has_network = s.table_exists("directory.network_relationships")
            relationships = s.row_count("directory.network_relationships") if has_network else 0
            print(f"organizations: {organizations:,}  network relationships: {relationships:,}")
            started = time.perf_counter()
            index = DirectoryIndex.load(s)
            print(f"in-process index loaded in {time.perf_counter() - started:.2f} s")
            results = query_classes(s, index, max(args.calls, 1), args.seed, has_network)
        goal = GOAL_P95_MS.get(scale)
        print(
            f"{'query class':<22} {'path':<7} {'calls':>5} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'target ms':>9} {'goal p95':>9}"
        )
        for (name, path), timings in results.items():
            p50, p95 = statistics.median(timings), percentile(timings, 0.95)
            verdict = "" if goal is None else ("ok" if p95 < goal else "MISSED")
            goal_text = f"{goal:g}" if goal else "-"
            print(
                f"{name:<22} {path:<7} {len(timings):>5} {p50:>8.2f} {p95:>8.2f} "
                f"{TARGETS_MS[name]:>9} {goal_text:>9} {verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
