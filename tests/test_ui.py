"""The Dagster UI for real: `dagster dev` on a free port, headless Chromium, a GraphQL launch."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests

from tests.support import PROJECT_ROOT, generate_sample, load_definitions, ui

pytestmark = [pytest.mark.ui, pytest.mark.long_setup]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query Status($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
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


@pytest.fixture
def dagster_dev(dagster_home: Path, landing_dir: Path, tmp_path: Path) -> Iterator[str]:
    generate_sample(landing_dir, "reference/states")
    port = free_port()
    log = (tmp_path / "dagster_dev.log").open("w")
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
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_reset_signals,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"dagster dev exited: {(tmp_path / 'dagster_dev.log').read_text()[-3000:]}"
                )
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("dagster dev did not answer within 180 s")
            time.sleep(1)
        yield url
    finally:
        stop_process_group(proc)
        log.close()
        assert proc.poll() is not None, "dagster dev is still running"


def graphql(url: str, query: str, variables: dict) -> dict:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, json.dumps(body["errors"])[:2000]
    return body["data"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_lineage_page_lists_groups_and_a_launched_run_succeeds(dagster_dev: str, tmp_path: Path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    groups = sorted({spec.group_name for spec in load_definitions().resolve_all_asset_specs()})
    assert "reference" in groups
    # The lineage graph labels group boxes only when there is more than one group.
    assert len(groups) > 1, "the code location should expose several asset groups"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,  # Playwright gives each launch a fresh, empty profile
        )
        try:
            page = browser.new_page()
            page.goto(f"{dagster_dev}/asset-groups", wait_until="domcontentloaded")
            skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter dialog
            with contextlib.suppress(PlaywrightTimeoutError):
                skip.click(timeout=15_000)
            for group in groups:
                page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "lineage.png"))
        finally:
            browser.close()

    params = {
        "selector": {
            "repositoryLocationName": "narr_platform",
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": ["reference", "ref_us_states"]}],
            # No assetCheckSelection: the asset runs with its audits (write-audit-publish
            # makes them part of the asset, which cannot be launched without them).
        },
        "mode": "default",
        "runConfigData": {},
        "executionMetadata": {"tags": []},
    }
    launched = graphql(dagster_dev, LAUNCH_RUN, {"params": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = graphql(dagster_dev, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert status == "SUCCESS"


def test_chromium_is_the_debian_build():
    """The browser test must not depend on a downloaded Playwright browser."""
    assert shutil.which("chromium") == str(CHROMIUM) or not CHROMIUM.exists()


# ---------------------------------------------------------------------------------------
# Issue 15: a new file updates everything downstream, and the UI launches nothing unasked.

ARTIFACT_DIR = Path(os.environ.get("UI_ARTIFACT_DIR", PROJECT_ROOT / "build" / "test-artifacts"))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_new_patient_file_refreshes_everything_downstream_and_nothing_runs_unasked(
    dagster_home: Path, landing_dir: Path, tmp_path: Path
):
    from playwright.sync_api import sync_playwright

    generate_sample(landing_dir, "patients", patients=2_000)
    instance = dg.DagsterInstance.get()
    keys = ui.materialize_patient_pipeline(instance)
    made_by_make_run = {r.run_id for r in instance.get_runs()}
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)

    with ui.dagster_dev(dagster_home, {}, tmp_path / "dagster_dev.log") as url:
        # Two landing-sensor intervals (three ticks) and the automation sensor's ticks:
        # the files were loaded already, so nothing may run.
        ui.wait_for_ticks(url, "landing_patients_sensor", 3, timeout=240)
        ui.wait_for_ticks(url, "automation_condition_sensor", 2, timeout=120)
        unasked = [r for r in ui.runs(url) if r["runId"] not in made_by_make_run]
        assert unasked == [], f"runs nobody asked for: {unasked}"

        dropped = time.time()
        ui.drop_patient_file(landing_dir, tmp_path / "scratch", "patients_2024_07_new_clinic.csv")
        fresh_at = ui.wait_until_fresh(url, keys, dropped, timeout=900)
        print(f"dropped file -> last downstream asset fresh: {fresh_at - dropped:.1f} s")

        launched = [r for r in ui.runs(url) if r["runId"] not in made_by_make_run]
        tags = [{t["key"]: t["value"] for t in r["tags"]} for r in launched]
        summary = [
            (
                r["pipelineName"],
                r["status"],
                [".".join(a["path"]) for a in r["assetSelection"] or []],
                t.get("dagster/sensor_name"),
            )
            for r, t in zip(launched, tags, strict=True)
        ]
        (ARTIFACT_DIR / "runs_after_new_patient_file.json").write_text(
            json.dumps(summary, indent=1)
        )
        by_sensor = [t for t in tags if t.get("dagster/sensor_name") == "landing_patients_sensor"]
        assert len(by_sensor) == 1, summary  # exactly one reader run for the new file
        assert all(r["status"] == "SUCCESS" for r in launched), summary
        # Every run shows its target: the assets it materializes.
        assert all(r["assetSelection"] for r in launched), summary
        reader_run = next(
            r
            for r, t in zip(launched, tags, strict=True)
            if t.get("dagster/sensor_name") == "landing_patients_sensor"
        )
        assert reader_run["assetSelection"] == [{"path": ["fhir", "patient_data"]}]
        # The reader loaded the new file (its hash is recorded for the next first tick).
        states = ui.asset_states(url, keys)
        assert all(s["staleStatus"] == "FRESH" for s in states.values()), states

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(
                    f"{url}/locations/narr_platform/asset-groups/fhir",
                    wait_until="domcontentloaded",
                )
                with contextlib.suppress(Exception):
                    page.get_by_role("button", name="Skip").click(timeout=15_000)
                page.get_by_text("fhir_patients", exact=True).first.wait_for(timeout=60_000)
                page.wait_for_timeout(3_000)  # let the live status badges load
                page.screenshot(path=str(ARTIFACT_DIR / "asset_graph_after_new_patient_file.png"))
                body = page.inner_text("body")
                assert "Unsynced" not in body and "Stale" not in body, body[:2000]
                page.goto(f"{url}/runs", wait_until="domcontentloaded")
                page.get_by_text("patient_data").first.wait_for(timeout=60_000)
                page.screenshot(path=str(ARTIFACT_DIR / "runs_after_new_patient_file.png"))
            finally:
                browser.close()
    assert (ARTIFACT_DIR / "asset_graph_after_new_patient_file.png").stat().st_size > 10_000
