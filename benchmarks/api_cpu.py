"""CPU per request of the directory API, in process: what one request costs the server.

    .venv/bin/python benchmarks/api_cpu.py [--snapshots /tmp/api-bench/x1/directory_snapshot]

Wall-clock figures on a shared machine say more about the neighbours than about the
server; CPU time (``time.process_time``) of this process does not. For each endpoint it
sends the same varied requests as ``benchmarks/api_load.py`` (``request_pool``) through
the whole ASGI application (routing, parameter validation, the handler, JSON encoding),
called directly without a socket or HTTP parser, and prints CPU ms per request; then the
handler's work alone (the ``Published`` / ``queries`` call, no FastAPI) so the framework's
share is the difference. ``health`` is the baseline: the framework's cost with no work
behind it. Run ``--profile ENDPOINT`` for a cProfile of that endpoint's requests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api_load import request_pool  # noqa: E402


async def _asgi_get(app, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI application, as uvicorn would call it."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": urllib.parse.unquote(route), "raw_path": route.encode(),
        "query_string": query.encode(), "root_path": "", "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    status, body = 0, []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


def _direct_call(published, path: str):
    """The handler's work for ``path`` without FastAPI (the same calls the handlers make)."""
    from directory_assets import queries

    route, _, query = path.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    if route.endswith("/nearby"):
        return published.nearby(
            float(params["lat"]), float(params["lon"]), float(params["miles"]), 25,
            params.get("type"),
        )  # fmt: skip
    if route.endswith("/search"):
        return queries.search(published.search, params["q"], limit=25)
    if route.endswith("/health"):
        return published.manifest.version
    return published.organization(route.rsplit("/", 1)[1], int(params.get("neighbours", 10)))


def measure(label: str, call, paths: list[str], repeat: int) -> float:
    for path in paths[:50]:  # warm-up
        call(path)
    started = time.process_time()
    for i in range(repeat):
        call(paths[i % len(paths)])
    cpu_ms = 1000 * (time.process_time() - started) / repeat
    print(f"  {label:<28} {cpu_ms:7.3f} CPU ms/request  ({repeat} requests)", flush=True)
    return cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--snapshots", type=Path, default=Path("/tmp/api-bench/x1/directory_snapshot")
    )
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", choices=("health", "nearby", "search", "organization"))
    parser.add_argument("--sort", default="cumulative", help="cProfile order (tottime, ...)")
    args = parser.parse_args()

    os.environ.setdefault("NARR_API_TOKEN", "bench")
    from directory_assets.api.app import create_app

    app = create_app(root=args.snapshots)
    holder = app.state.holder
    holder.refresh()
    if holder.current is None:
        raise SystemExit(f"no snapshot under {args.snapshots}: {holder.error}")
    pool = request_pool(args.snapshots, args.seed)
    loop = asyncio.new_event_loop()

    def through_app(path: str) -> None:
        status, _ = loop.run_until_complete(_asgi_get(app, path))
        if status != 200:
            raise SystemExit(f"{status} for {path}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        measure(f"{args.profile} (profiled)", through_app, pool[args.profile], args.requests)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
        return
    print(f"load average: {os.getloadavg()}; snapshot {holder.current.manifest.version}")
    for endpoint in ("health", "nearby", "search", "organization"):
        paths = pool[endpoint]
        measure(f"{endpoint} through the app", through_app, paths, args.requests)
        measure(
            f"{endpoint} handler work only",
            lambda p: _direct_call(holder.current, p),
            paths,
            args.requests,
        )


if __name__ == "__main__":
    main()
