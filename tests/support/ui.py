"""Driving `dagster dev` (webserver + daemon, as `make ui` starts it) from tests and benchmarks.

Shared by tests/test_ui.py and benchmarks/automation_latency.py: start the server on a free
port with a given DAGSTER_HOME and environment, ask GraphQL about runs and assets, stop
the whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import dagster as dg
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"

RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs {
      results {
        runId status pipelineName creationTime
        assetSelection { path }
        tags { key value }
      }
    }
  }
}
"""

ASSET_STATES = """
query Assets($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    staleStatus
    assetMaterializations(limit: 1) { timestamp runId }
  }
}
"""

SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor { name sensorState { status ticks(limit: 20) { status timestamp } } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_signals() -> None:
    # A non-interactive shell starts children with SIGINT ignored; dagster dev must honour it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def prepare_home(home: Path) -> Path:
    """A DAGSTER_HOME holding the shipped instance configuration."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_DAGSTER_HOME / "dagster.yaml", home / "dagster.yaml")
    return home


@contextlib.contextmanager
def dagster_dev(
    home: Path, env: Mapping[str, str], log_path: Path, timeout: float = 180
) -> Iterator[str]:
    """`dagster dev` (what `make ui` runs) on a free 127.0.0.1 port; yields its URL."""
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                str(PROJECT_ROOT / ".venv" / "bin" / "dagster"),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "workspace.yaml",
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_reset_signals,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"dagster dev exited: {log_path.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/server_info", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dagster dev did not answer within {timeout:.0f} s")
                time.sleep(1)
            yield url
        finally:
            stop_process_group(proc)
        if proc.poll() is None:
            raise RuntimeError("dagster dev is still running")


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise AssertionError(json.dumps(body["errors"])[:2000])
    return body["data"]


def runs(url: str) -> list[dict]:
    return graphql(url, RUNS)["runsOrError"]["results"]


def asset_states(url: str, keys: Iterable[dg.AssetKey]) -> dict[dg.AssetKey, dict]:
    nodes = graphql(url, ASSET_STATES, {"keys": [{"path": list(k.path)} for k in keys]})
    return {dg.AssetKey(n["assetKey"]["path"]): n for n in nodes["assetNodes"]}


def sensor_ticks(url: str, name: str, location: str = "narr_platform") -> list[dict]:
    selector = {
        "repositoryLocationName": location,
        "repositoryName": "__repository__",
        "sensorName": name,
    }
    sensor = graphql(url, SENSOR_TICKS, {"selector": selector})["sensorOrError"]
    return sensor["sensorState"]["ticks"]


def wait_for_ticks(url: str, sensor: str, count: int, timeout: float) -> None:
    """Until ``sensor`` has evaluated ``count`` ticks (the daemon is really running it)."""
    deadline = time.monotonic() + timeout
    while len(sensor_ticks(url, sensor)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{sensor} did not tick {count} times within {timeout:.0f} s")
        time.sleep(2)


def materialized_after(state: dict, timestamp: float) -> bool:
    events = state["assetMaterializations"]
    return bool(events) and float(events[0]["timestamp"]) / 1000 > timestamp


def wait_until_fresh(
    url: str, keys: Iterable[dg.AssetKey], since: float, timeout: float, poll: float = 1.0
) -> float:
    """Until every key was materialized after ``since``, none is stale and no run is
    queued or in progress; returns the time (epoch s) it became so."""
    keys = list(keys)
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        states = asset_states(url, keys)
        busy = [r for r in runs(url) if r["status"] in ("QUEUED", "STARTING", "STARTED")]
        last = {
            k.to_user_string(): (s["staleStatus"], materialized_after(s, since))
            for k, s in states.items()
        }
        if (
            not busy
            and len(states) == len(keys)
            and all(materialized_after(s, since) for s in states.values())
            and all(s["staleStatus"] == "FRESH" for s in states.values())
        ):
            return time.time()
        time.sleep(poll)
    raise AssertionError(f"not fresh within {timeout:.0f} s: {last}")


PATIENT_DATA = dg.AssetKey(["fhir", "patient_data"])


def write_sample(landing: Path, source: str, **options: object) -> None:
    from narr_platform import sample_data

    request = sample_data.SampleDataRequest(out=landing, **options)  # type: ignore[arg-type]
    sample_data.generate(request, (source,))


def materialize_patient_pipeline(instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """What `make run` does for the patient reader and everything downstream of it."""
    from narr_platform.definitions import defs as code_location

    defs = code_location()
    keys = sorted(
        dg.AssetSelection.assets(PATIENT_DATA).downstream().resolve(defs.resolve_asset_graph())
    )
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
    if not job.execute_in_process(instance=instance).success:
        raise RuntimeError("materializing the patient pipeline failed")
    return keys


def drop_patient_file(landing: Path, scratch: Path, name: str, patients: int = 2_000) -> Path:
    """A new patients file (other patients: another seed) moved into the landing folder the
    way writers do: written under a hidden name, then renamed."""
    write_sample(scratch, "patients", patients=patients, seed=7)
    source = scratch / "patients" / "patients_2024_01_ehr_extract.csv"
    target = landing / "patients" / name
    hidden = target.with_name(f".{name}.partial")
    shutil.copy(source, hidden)
    hidden.rename(target)
    return target
