"""Fault suite, runs: real `dagster job execute` processes killed with SIGKILL or SIGTERM.

Each test starts runs on the shipped instance config (the single-slot ``duckdb`` pool),
kills them at a known point and asserts the next warehouse job completes by itself: no
run left STARTED, no pool slot left held. Before the platform executor, a killed run kept
its slot and every later step waited for it forever, spinning a CPU core.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from resources.run_recovery import held_slots, in_progress_runs
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.slow

START_TIMEOUT = 90.0


@pytest.fixture
def launch(dagster_home: Path, warehouse_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``dagster job execute`` in its own process group; every group is killed at the end."""
    procs: list[subprocess.Popen] = []
    with instance_at(dagster_home):  # create the storage before processes race to migrate it
        pass

    def start(
        module: str, job: str, hold_seconds: float = 0, in_session: bool = False
    ) -> subprocess.Popen:
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
        env["FAULT_HOLD_SECONDS"] = str(hold_seconds)
        if in_session:
            env["FAULT_HOLD_IN_SESSION"] = "1"
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", module, "-j", job],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for(condition: Callable[[], object], what: str, timeout: float = START_TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def instance_at(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def run_holding_slot(home: Path) -> str | None:
    with instance_at(home) as instance:
        slots = held_slots(instance)
    return slots[0].run_id if slots else None


def pending_runs(home: Path) -> set[str]:
    with instance_at(home) as instance:
        storage = instance.event_log_storage
        if "duckdb" not in storage.get_concurrency_keys():
            return set()
        info = storage.get_concurrency_info("duckdb")
        return {p.run_id for p in info.pending_steps if p.assigned_timestamp is None}


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def assert_nothing_stuck(home: Path) -> None:
    with instance_at(home) as instance:
        assert in_progress_runs(instance) == []
        assert held_slots(instance) == []


def test_after_kill_9_at_each_point_the_next_job_completes_by_itself(
    launch, dagster_home: Path, warehouse_path: Path
) -> None:
    holder = launch("tests.support.fault_location", "hold", hold_seconds=300)
    holder_run = wait_for(lambda: run_holding_slot(dagster_home), "the holder to take the slot")

    # A run waiting for the pool: costs no CPU and stops on SIGTERM within 5 s.
    waiter = launch("tests.support.fault_location", "hold")
    wait_for(lambda: pending_runs(dagster_home), "the second run to wait for the pool")
    time.sleep(5.0)  # past the run's start-up work
    before, started = cpu_seconds(waiter.pid), time.monotonic()
    time.sleep(4.0)
    share = (cpu_seconds(waiter.pid) - before) / (time.monotonic() - started)
    assert share < 0.05, f"a run waiting for the pool used {share:.0%} of a CPU core"
    sent = time.monotonic()
    waiter.send_signal(signal.SIGTERM)
    waiter.wait(timeout=30)
    assert time.monotonic() - sent < 5.0, "the waiting run ignored SIGTERM"

    # Killed while waiting for the pool, then the holder killed while holding the slot.
    seen = pending_runs(dagster_home)  # the stopped run's claim must not count as the next's
    killed_waiting = launch("tests.support.fault_location", "hold")
    wait_for(lambda: pending_runs(dagster_home) - seen, "the third run to wait for the pool")
    os.killpg(killed_waiting.pid, signal.SIGKILL)
    killed_waiting.wait()
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()

    # The next warehouse job, a real one of the platform, completes with no manual step.
    duckdb.connect(str(warehouse_path)).close()
    backup = launch("narr_platform.definitions", "daily_backup")
    out = finish(backup)
    assert backup.returncode == 0, out[-3000:]
    assert "Dead-run recovery: failed run " + str(holder_run) in out
    assert_nothing_stuck(dagster_home)
    with instance_at(dagster_home) as instance:
        statuses = {r.job_name + r.run_id: r.status for r in instance.get_runs()}
    assert dg.DagsterRunStatus.SUCCESS in statuses.values()
    assert list(statuses.values()).count(dg.DagsterRunStatus.FAILURE) == 3, statuses


def test_a_run_waiting_behind_a_run_killed_mid_write_takes_the_slot_by_itself(
    launch, dagster_home: Path
) -> None:
    # Killed inside a write: it holds the pool slot and DuckDB's file lock.
    holder = launch("tests.support.fault_location", "hold", hold_seconds=300, in_session=True)
    wait_for(lambda: run_holding_slot(dagster_home), "the holder to take the slot")
    waiter = launch("tests.support.fault_location", "hold")
    wait_for(lambda: pending_runs(dagster_home), "the second run to wait for the pool")
    killed_at = time.monotonic()
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    out = finish(waiter)
    assert waiter.returncode == 0, out[-3000:]
    assert time.monotonic() - killed_at < 60
    assert_nothing_stuck(dagster_home)
