"""Runs are batch work: the platform executor lowers their CPU priority, as configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resources.deployment import PlatformConfigError
from resources.platform_executor import DEFAULT_RUN_NICENESS, run_niceness

ROOT = Path(__file__).resolve().parents[1]

# Run by `dagster job execute` in a child process, as a run is: the niceness is per
# process and can never be lowered again.
ONE_STEP_JOB = """
import json, os, threading
import dagster as dg
import duckdb
from resources.platform_executor import platform_executor

@dg.asset
def batch() -> None:
    seen = {"step": os.getpriority(os.PRIO_PROCESS, 0)}
    worker = threading.Thread(target=lambda: seen.update(thread=os.getpriority(os.PRIO_PROCESS, 0)))
    worker.start()
    worker.join()
    duckdb.connect().execute("SELECT count(*) FROM range(1000000)").fetchall()
    with open(os.environ["SEEN_FILE"], "w") as f:
        json.dump(seen, f)

batch_job = dg.define_asset_job("batch_job", executor_def=platform_executor)
defs = dg.Definitions(assets=[batch], jobs=[batch_job])
"""


def run_step(tmp_path: Path, niceness: str | None) -> dict[str, int]:
    job_file = tmp_path / "one_step_job.py"
    job_file.write_text(ONE_STEP_JOB)
    seen_file = tmp_path / "seen.json"
    env = {k: v for k, v in os.environ.items() if k != "PLATFORM_RUN_NICENESS"}
    env.update(SEEN_FILE=str(seen_file), DAGSTER_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    if niceness is not None:
        env["PLATFORM_RUN_NICENESS"] = niceness
    dagster = Path(sys.executable).with_name("dagster")
    subprocess.run(
        [str(dagster), "job", "execute", "-f", str(job_file), "-j", "batch_job"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=180,
    )  # fmt: skip
    return json.loads(seen_file.read_text())


@pytest.mark.slow
def test_steps_run_at_the_default_niceness_and_threads_inherit_it(tmp_path: Path) -> None:
    parent = os.getpriority(os.PRIO_PROCESS, 0)
    seen = run_step(tmp_path, None)
    expected = max(parent, DEFAULT_RUN_NICENESS)
    assert seen["step"] == expected
    assert seen["thread"] == expected


@pytest.mark.slow
def test_zero_keeps_the_callers_niceness(tmp_path: Path) -> None:
    parent = os.getpriority(os.PRIO_PROCESS, 0)
    assert run_step(tmp_path, "0")["step"] == parent


@pytest.mark.parametrize("raw", ["-5", "20", "high", "1.5"])
def test_a_malformed_niceness_is_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(PlatformConfigError, match="PLATFORM_RUN_NICENESS"):
        run_niceness({"PLATFORM_RUN_NICENESS": raw})


def test_the_code_location_refuses_a_malformed_niceness_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from narr_platform.definitions import defs

    monkeypatch.setenv("PLATFORM_RUN_NICENESS", "twenty")
    with pytest.raises(PlatformConfigError, match="PLATFORM_RUN_NICENESS='twenty'"):
        defs()


@pytest.mark.slow
def test_loading_the_code_location_takes_the_run_niceness_before_the_first_step(
    tmp_path: Path,
) -> None:
    # A run process spends ~1.5 CPU s after loading the location and before its first step
    # (Dagster builds the job and the run): that work is batch work too.
    parent = os.getpriority(os.PRIO_PROCESS, 0)
    if parent >= 19:
        pytest.skip("the test process already runs at the lowest priority")
    wanted = min(19, max(parent + 5, DEFAULT_RUN_NICENESS))
    env = {**os.environ, "PLATFORM_RUN_NICENESS": str(wanted), "DAGSTER_HOME": str(tmp_path)}
    load = (
        "import os\n"
        "from narr_platform.definitions import defs\n"
        "before = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "defs()\n"
        "print(before, os.getpriority(os.PRIO_PROCESS, 0))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", load], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=180,
    ).stdout.split()  # fmt: skip
    assert [int(n) for n in out[-2:]] == [parent, wanted]
