"""Load on the directory API while the pipeline writes: requests/s and p50/p95/p99 per endpoint.

    .venv/bin/python benchmarks/api_load.py                      # default scale and x100
    .venv/bin/python benchmarks/api_load.py --scales 1 --seconds 10 --concurrency 8

For each scale it builds the directory once into ``<workdir>/x<scale>/`` (sample sources,
the ``directory`` group in-process, which publishes the snapshot; reused when present),
starts ``narr-platform serve`` (uvicorn, one worker) on a free port, and drives it with
``--concurrency`` aiohttp/asyncio clients on keep-alive connections, each endpoint for
``--seconds``:

- baseline: ``GET /api/v1/health`` (no work behind it), measured in the same run; every
  other endpoint's requests/s is also printed as a ratio of it;
- ``nearby`` (random organizations' coordinates, 5-50 miles), ``search`` (two words of a
  real name and its city, a third of them with a typo, a third as prefixes),
  ``organization`` (random org_ids, with 10 network neighbours);

first on a quiet pipeline, then again while ``dagster asset materialize`` re-materializes
the directory (``organizations`` then ``search_index``, which publishes a new snapshot that
the server swaps to under load) in a loop, as a user's run does: on the code location's
platform executor, at its ``PLATFORM_RUN_NICENESS`` (set it to 0 in the environment to
measure runs at the server's priority). Errors are non-200 answers or failed connections;
lock failures are materialization runs that failed on the warehouse lock plus API errors
that mention a lock. Goals (2 cores, default scale): nearby >= 1,000 requests/s with p95
<= 20 ms, search p95 <= 20 ms, 0 errors and 0 lock failures during the materialization;
x100: p95 <= 100 ms. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

ENDPOINTS = ("nearby", "search", "organization")
GOALS_P95_MS = {1.0: 20.0, 100.0: 100.0}
GOAL_NEARBY_RPS = 1000


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- building the directory ------------------------------------------------------------
def build(work: Path, scale: float, seed: int) -> None:
    from benchmarks.directory_queries import generate, materialize

    if (work / "directory_snapshot" / "current.json").exists():
        print(f"  reusing the directory in {work}", flush=True)
        return
    if not (work / "landing" / "directory").exists():
        print(f"  sources: {generate(work / 'landing', scale, seed):.1f} s", flush=True)
    seconds, _ = materialize(work / "warehouse.duckdb", work / "landing", threads=None)
    print(f"  directory group (with the snapshot publish): {seconds:.1f} s", flush=True)


def synthesize(source: Path, work: Path, factor: int) -> None:
    """A snapshot ``factor`` times the published one at ``source``, without the pipeline.

    Generating the x100 sources and running the whole group takes ~40 min on a quiet
    2-core machine (docs/benchmarks.md); this copies each organization ``factor`` times
    (new org_ids, coordinates moved up to ~3 miles, same names) and its subtype row, keeps
    the network of the original organizations only, and builds the DuckDB copy and the
    search index with the production code. Printed results say "synthetic".
    """
    import datetime as dt

    import duckdb

    from directory_assets import snapshot

    target = work / "directory_snapshot"
    if (target / "current.json").exists():
        print(f"  reusing the synthetic snapshot in {target}", flush=True)
        return
    manifest = snapshot.current(source / "directory_snapshot")
    started = time.monotonic()
    version = f"synthetic-x{factor}"
    folder = target / "versions" / version
    tables = folder / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    copies = f"range({factor}) AS copies(k)"
    new_id = "CASE WHEN k = 0 THEN org_id ELSE org_id || '_' || k END"
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for table in snapshot.TABLES:
            src = str(manifest.folder / "tables" / f"{table}.parquet")
            out = str(tables / f"{table}.parquet")
            if table == "organizations":
                select = (
                    f"SELECT * REPLACE ({new_id} AS org_id, "
                    "latitude + CASE WHEN k = 0 THEN 0 ELSE (hash(org_id, k) % 1000) / 20000.0 END "
                    "AS latitude, "
                    "longitude + CASE WHEN k = 0 THEN 0 ELSE (hash(k, org_id) % 1000) / 20000.0 END "
                    f"AS longitude) FROM read_parquet('{src}'), {copies}"
                )
            elif table in snapshot.SUBTYPE_TABLES:
                select = (
                    f"SELECT * REPLACE ({new_id} AS org_id) FROM read_parquet('{src}'), {copies}"
                )
            else:
                select = f"SELECT * FROM read_parquet('{src}')"
            con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet)")
        counts = {
            t: con.execute(f"SELECT count(*) FROM read_parquet('{tables / t}.parquet')").fetchone()[
                0
            ]
            for t in snapshot.TABLES
        }
    documents = snapshot.build_local_copy(tables, folder)
    (target / "current.json").write_text(
        json.dumps(
            {
                "version": version,
                "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "folder": str(folder),
                "tables": counts,
                "search_documents": documents,
            }
        )
    )
    print(
        f"  synthetic x{factor} snapshot: {counts['organizations']:,} organizations in "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )


def materialize_command(work: Path) -> tuple[list[str], dict[str, str]]:
    """``organizations`` then ``search_index`` as a user's run: ``dagster asset materialize``
    on the code location (the platform executor, its run niceness), on the work's files."""
    dagster = Path(sys.executable).parent / "dagster"
    env = {
        **os.environ,
        "DUCKDB_DATABASE_PATH": str(work / "warehouse.duckdb"),
        "PLATFORM_LANDING_DIR": str(work / "landing"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }
    (work / "dagster_home").mkdir(exist_ok=True)
    command = [str(dagster), "asset", "materialize", "-m", "narr_platform.definitions",
               "--select", "directory/organizations,directory/search_index"]  # fmt: skip
    return command, env


@dataclass
class Materializations:
    work: Path
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def loop(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            command, env = materialize_command(self.work)
            proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            self.runs += 1
            self.seconds.append(time.monotonic() - started)
            if proc.returncode != 0:
                self.failures.append((proc.stdout + proc.stderr)[-2000:])

    @property
    def lock_failures(self) -> int:
        return sum("lock" in f.lower() for f in self.failures)


# -- the server ------------------------------------------------------------------------
@contextlib.contextmanager
def server(snapshots: Path, workers: int):
    port = free_port()
    env = {**os.environ, "DIRECTORY_SNAPSHOT_DIR": str(snapshots),
           "NARR_API_TOKEN": os.urandom(16).hex()}  # fmt: skip
    cli = Path(sys.executable).parent / "narr-platform"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        env=env,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("the server exited")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() - started > 1800:
                raise SystemExit("the server did not become healthy in 30 min")
            time.sleep(0.5)
        print(
            f"  server ready in {time.monotonic() - started:.1f} s at {base}, "
            f"{server_rss_mb(proc.pid):,.0f} MB resident",
            flush=True,
        )
        yield base, proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# -- requests ----------------------------------------------------------------------------
def request_pool(snapshots: Path, seed: int) -> dict[str, list[str]]:
    """Varied request paths per endpoint, from the published snapshot's rows."""
    from directory_assets import snapshot

    rng = random.Random(seed)
    con = snapshot.open_database(snapshot.current(snapshots))
    points = con.execute(
        "SELECT latitude, longitude FROM directory.organizations WHERE latitude IS NOT NULL "
        "USING SAMPLE 2000 ROWS (reservoir, 7)"
    ).fetchall()
    names = con.execute(
        "SELECT name, city, org_id FROM directory.organizations WHERE city IS NOT NULL "
        "USING SAMPLE 2000 ROWS (reservoir, 11)"
    ).fetchall()
    con.close()
    types = [None, None, "treatment_center", "narr_residence", "recovery_center"]
    nearby = []
    for lat, lon in points:
        query = {"lat": lat, "lon": lon, "miles": rng.choice((5, 10, 25, 50))}
        if (kind := rng.choice(types)) is not None:
            query["type"] = kind
        nearby.append("/api/v1/organizations/nearby?" + str(httpx.QueryParams(query)))
    search = []
    for i, (name, city, _) in enumerate(names):
        words = [w for w in name.split() if len(w) > 3 and w.lower() != "of"]
        text = " ".join([rng.choice(words), city.split()[0]]) if words else city
        if i % 3 == 1:  # one typo: drop a letter of the longest word
            longest = max(text.split(), key=len)
            text = text.replace(longest, longest[0] + longest[2:], 1)
        elif i % 3 == 2:  # prefixes
            text = " ".join(w[:5] for w in text.split())
        search.append("/api/v1/organizations/search?" + str(httpx.QueryParams({"q": text})))
    organization = [
        f"/api/v1/organizations/{org_id}?neighbours=10"
        for _, _, org_id in names
        if re.fullmatch(r"org_[0-9a-f]{16}", org_id)  # synthetic copies are not valid ids
    ]
    return {"health": ["/api/v1/health"], "nearby": nearby, "search": search,
            "organization": organization}  # fmt: skip


@dataclass
class Result:
    endpoint: str
    phase: str
    latencies_ms: list[float]
    errors: list[str]
    seconds: float
    server_cpu_ms_per_request: float = float("nan")
    client_cpu_ms_per_request: float = float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def drive(base: str, paths: list[str], seconds: float, concurrency: int, seed: int):
    """``concurrency`` clients on as many keep-alive connections, each sending its next
    request when the previous answer has been read in full; latency is measured here, in
    the client. aiohttp rather than httpx: httpx spent ~1 ms of CPU per request (more than
    the server's 0.5 ms for a radius search), so on 2 shared cores the load generator took
    the CPU the server needed; aiohttp needs ~0.1-0.2 ms (the "client CPU" printed)."""
    import aiohttp
    import yarl

    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            while (now := time.perf_counter()) < deadline:
                path = rng.choice(paths)
                try:
                    # The paths are percent-encoded already (request_pool).
                    async with client.get(yarl.URL(base + path, encoded=True)) as response:
                        body = await response.read()
                        elapsed = (time.perf_counter() - now) * 1000
                    if response.status != 200:
                        errors.append(f"{response.status} {path}: {body[:200]!r}")
                    else:
                        latencies.append(elapsed)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors.append(f"{type(exc).__name__} {path}: {exc}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def server_cpu_seconds(pid: int) -> float:
    """CPU time of the server process and its children (uvicorn workers)."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for p in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children, in MB."""
    import psutil

    process = psutil.Process(pid)
    total = 0
    for p in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 1e6


def measure(base, pid, pool, endpoint, phase, seconds, concurrency, seed) -> Result:
    asyncio.run(drive(base, pool[endpoint][:50], 1.0, concurrency, seed))  # warm-up
    cpu_before, client_before = server_cpu_seconds(pid), time.process_time()
    latencies, errors, elapsed = asyncio.run(
        drive(base, pool[endpoint], seconds, concurrency, seed)
    )
    client = time.process_time() - client_before
    cpu = server_cpu_seconds(pid) - cpu_before
    result = Result(endpoint, phase, latencies, errors, elapsed)
    requests = max(1, len(latencies) + len(errors))
    result.server_cpu_ms_per_request = 1000 * cpu / requests
    result.client_cpu_ms_per_request = 1000 * client / requests
    print(
        f"  {phase:<14} {endpoint:<13} {result.rps:>7.0f} req/s  p50 "
        f"{percentile(latencies, 0.5):6.2f}  p95 {percentile(latencies, 0.95):6.2f}  p99 "
        f"{percentile(latencies, 0.99):6.2f} ms  errors {len(errors)}  server CPU "
        f"{result.server_cpu_ms_per_request:.2f} ms/request, client CPU "
        f"{result.client_cpu_ms_per_request:.2f} ms/request  (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return result


def await_swap(base: str, snapshots: Path, timeout: float = 600.0) -> str:
    """Wait until the server serves the last published version; say how it went."""
    from directory_assets import snapshot

    published = snapshot.current(snapshots).version
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        health = httpx.get(f"{base}/api/v1/health", timeout=30).json()
        if health["snapshot"]["version"] == published:
            return (
                f"the server serves the new snapshot {published} ({health['swaps']} loads since "
                f"start, {time.monotonic() - started:.0f} s after the last publish finished)"
            )
        time.sleep(0.5)
    return f"the server did NOT swap to {published} within {timeout:.0f} s"


def run_scale(args: argparse.Namespace, scale: float) -> list[Result]:
    work = args.workdir / f"x{scale:g}"
    synthetic = args.synthetic and scale != 1.0
    if synthetic:
        work = args.workdir / f"x{scale:g}-synthetic"
    work.mkdir(parents=True, exist_ok=True)
    print(f"\n== scale x{scale:g}{' (synthetic)' if synthetic else ''} ({work})", flush=True)
    if synthetic:
        default = args.workdir / "x1"
        build(default, 1.0, args.seed)
        synthesize(default, work, round(scale))
    else:
        build(work, scale, args.seed)
    snapshots = work / "directory_snapshot"
    # The materialization runs on a real warehouse: a synthetic snapshot's is x1's.
    writer_work = args.workdir / "x1" if synthetic else work
    pool = request_pool(snapshots, args.seed)
    results: list[Result] = []
    with server(snapshots, args.workers) as (base, pid):
        for phase in ("quiet",) if args.quiet_only else ("quiet", "materializing"):
            background = None
            materializations = Materializations(writer_work)
            if phase == "materializing":
                background = threading.Thread(target=materializations.loop, daemon=True)
                background.start()
                time.sleep(args.settle)  # let the writer start before measuring
            for endpoint in ("health", *ENDPOINTS):
                results.append(
                    measure(
                        base, pid, pool, endpoint, phase, args.seconds, args.concurrency, args.seed
                    )
                )
            if background is not None:
                materializations.stop.set()
                background.join()
                print(
                    f"  materializations during the load: {materializations.runs} run(s), "
                    f"{len(materializations.failures)} failed, {materializations.lock_failures} "
                    f"on a lock, {sum(materializations.seconds):.0f} s",
                    flush=True,
                )
                if not synthetic:
                    print(f"  {await_swap(base, snapshots)}", flush=True)
                for failure in materializations.failures[:3]:
                    print("    failure:", failure[-500:], flush=True)
                api_lock_errors = sum(
                    "lock" in e.lower() for r in results if r.phase == phase for e in r.errors
                )
                print(f"  API errors mentioning a lock: {api_lock_errors}", flush=True)
    summarize(scale, results)
    return results


def summarize(scale: float, results: list[Result]) -> None:
    goal = GOALS_P95_MS.get(scale, 100.0)
    print(f"\n  x{scale:g} summary (ratio = requests/s / health requests/s in the same phase):")
    baseline = {r.phase: r.rps for r in results if r.endpoint == "health"}
    for r in results:
        p95 = percentile(r.latencies_ms, 0.95)
        verdict = "meets" if p95 <= goal and not r.errors else "MISSES"
        extra = ""
        if r.endpoint == "nearby" and scale == 1.0:
            ok = r.rps >= GOAL_NEARBY_RPS and p95 <= goal
            extra = f"; nearby goal >= {GOAL_NEARBY_RPS} req/s: {'meets' if ok else 'MISSES'}"
        capacity = 1000 / r.server_cpu_ms_per_request
        print(
            f"  {r.phase:<14} {r.endpoint:<13} {r.rps:>7.0f} req/s ({r.rps / baseline[r.phase]:.2f}x "
            f"health)  p95 {p95:.2f} ms vs goal {goal:g} ms: {verdict}{extra}; server CPU "
            f"{r.server_cpu_ms_per_request:.2f} ms/request = {capacity:.0f} req/s per free core"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,100")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/api-bench"))
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quiet-only", action="store_true", help="skip the materializing phase")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="for scales other than 1, multiply the x1 snapshot instead of running the pipeline",
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}, cores: {os.cpu_count()}")
    for scale in (float(s) for s in args.scales.split(",")):
        run_scale(args, scale)
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
