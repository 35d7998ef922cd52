"""Dead runs are failed and their pool slots freed, on evidence that their process is gone.

Dagster's run monitoring (``run_monitoring`` in ``dagster_home/dagster.yaml``, run by the
daemon of ``make ui``) times out runs stuck STARTING or CANCELING and frees the slots of
finished runs, but it cannot see a STARTED run whose process was killed: the
``DefaultRunLauncher`` does not support run-worker health checks, and ``dagster job
execute`` runs in the calling process with no daemon at all. Such a run stays STARTED and
keeps its ``duckdb`` slot; every later warehouse step waits for it forever.

So every run of this code location records where it executes, as run tags written by
:func:`record_run_process` when its executor starts (host name, boot id, PID and the PID's
start time). A run is *dead* only when that evidence says so:

- it ran on this host and the machine has rebooted since (another boot id), or
- its PID no longer exists, or
- the PID exists but belongs to a process started at another time (the PID was reused).

A run on another host, or without the tags (killed before its executor started, or run by
an executor that is not the platform's), is never touched: it is reported, not guessed at.
:func:`recover_dead_runs` fails dead runs (a normal ``RUN_FAILURE`` event with the
evidence in its message) and frees every slot held by a run that is dead, finished or
deleted. It runs when every platform run starts, every few seconds while a step waits for
the pool (``resources/dagster_pool_wait.py``), and as ``narr-platform runs recover``.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg

HOST_TAG = "narr_platform/host"
BOOT_ID_TAG = "narr_platform/boot_id"
PID_TAG = "narr_platform/pid"
PID_START_TAG = "narr_platform/pid_start"

IN_PROGRESS = (
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def _boot_id() -> str:
    """This boot's id (Linux), or '' where the system does not expose one."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start_ticks(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux ``/proc``); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line: starttime


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that identify the process executing a run."""
    pid = os.getpid() if pid is None else pid
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    if boot := _boot_id():
        tags[BOOT_ID_TAG] = boot
    if (ticks := process_start_ticks(pid)) is not None:
        tags[PID_START_TAG] = ticks
    return tags


def record_run_process(instance: dg.DagsterInstance, run_id: str) -> None:
    """Tag the run with this process's host, boot id, PID and PID start time."""
    instance.add_run_tags(run_id, process_tags())


@dataclasses.dataclass(frozen=True)
class RunLiveness:
    """What the evidence says about one in-progress run."""

    run_id: str
    job_name: str
    status: str
    state: str  # "alive", "dead" or "unknown"
    reason: str

    @property
    def dead(self) -> bool:
        return self.state == "dead"


def assess_run(run: dg.DagsterRun) -> RunLiveness:
    """Alive, dead or unknown, from the run's process tags and this host's process table."""

    def verdict(state: str, reason: str) -> RunLiveness:
        return RunLiveness(run.run_id, run.job_name, run.status.value, state, reason)

    tags = run.tags
    if PID_TAG not in tags or HOST_TAG not in tags:
        return verdict("unknown", "no process recorded (it never reached the platform executor)")
    host, pid = tags[HOST_TAG], int(tags[PID_TAG])
    if host != socket.gethostname():
        return verdict("unknown", f"runs on host {host}, not this one")
    boot = _boot_id()
    if tags.get(BOOT_ID_TAG) and boot and tags[BOOT_ID_TAG] != boot:
        return verdict("dead", f"PID {pid} on {host} ran before this machine restarted")
    if not pid_exists(pid):
        return verdict("dead", f"process PID {pid} on {host} is gone")
    recorded_start = tags.get(PID_START_TAG)
    current_start = process_start_ticks(pid)
    if recorded_start and current_start and recorded_start != current_start:
        return verdict("dead", f"process PID {pid} on {host} is gone (the PID was reused)")
    return verdict("alive", f"process PID {pid} on {host} is running")


def in_progress_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_PROGRESS))))


@dataclasses.dataclass(frozen=True)
class HeldSlot:
    pool: str
    run_id: str
    step_key: str
    run_status: str | None  # None: the run no longer exists


def held_slots(instance: dg.DagsterInstance) -> list[HeldSlot]:
    """Every claimed pool slot with the status of the run holding it."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    slots = []
    for pool in sorted(storage.get_concurrency_keys()):
        for claimed in storage.get_concurrency_info(pool).claimed_slots:
            run = instance.get_run_by_id(claimed.run_id)
            slots.append(
                HeldSlot(pool, claimed.run_id, claimed.step_key, run.status.value if run else None)
            )
    return slots


@dataclasses.dataclass
class RecoveryReport:
    failed: list[RunLiveness] = dataclasses.field(default_factory=list)
    freed_runs: list[str] = dataclasses.field(default_factory=list)
    unknown: list[RunLiveness] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"failed run {r.run_id} ({r.job_name}): {r.reason}" for r in self.failed]
        out += [f"freed the pool slots of run {run_id}" for run_id in self.freed_runs]
        return out


def recover_dead_runs(
    instance: dg.DagsterInstance,
    exclude: Iterable[str] = (),
    log: Callable[[str], None] | None = None,
) -> RecoveryReport:
    """Fail dead runs and free the slots of dead, finished or deleted runs."""
    say = log or (lambda _msg: None)
    skip = set(exclude)
    report = RecoveryReport()
    for run in in_progress_runs(instance):
        if run.run_id in skip:
            continue
        liveness = assess_run(run)
        if liveness.dead:
            current = instance.get_run_by_id(run.run_id)  # another run may have just failed it
            if current is None or current.status not in IN_PROGRESS:
                continue
            instance.report_run_failed(
                run,
                f"Run failed by the platform's dead-run recovery: its {liveness.reason}. "
                "Its pool slots were freed so later runs can proceed.",
            )
            report.failed.append(liveness)
            say(f"failed run {run.run_id} ({run.job_name}): {liveness.reason}")
        elif liveness.state == "unknown":
            report.unknown.append(liveness)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in sorted(storage.get_concurrency_run_ids()):
            if run_id in skip:
                continue
            run = instance.get_run_by_id(run_id)
            if run is None or run.status in FINISHED:
                storage.free_concurrency_slots_for_run(run_id)
                report.freed_runs.append(run_id)
                say(f"freed the pool slots of run {run_id}")
    return report


class NoInstanceError(RuntimeError):
    """DAGSTER_HOME is unset or holds no instance; the message says what to do."""


def open_instance(environ: dict[str, str] | None = None) -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME, refusing to create one where there is none."""
    env = os.environ if environ is None else environ
    home = env.get("DAGSTER_HOME", "").strip()
    if not home:
        raise NoInstanceError(
            "DAGSTER_HOME is not set; point it at the Dagster instance folder "
            "(make run and make ui use dagster_home/ in the project)."
        )
    if not (Path(home) / "dagster.yaml").is_file():
        raise NoInstanceError(f"DAGSTER_HOME={home} holds no dagster.yaml; no instance there.")
    if not (Path(home) / "storage").is_dir():
        # Opening the instance would create its storage: a reader never creates folders.
        raise NoInstanceError(f"DAGSTER_HOME={home} has recorded no runs yet.")
    return dg.DagsterInstance.from_config(home)


def run_health(instance: dg.DagsterInstance) -> tuple[dict[str, object], list[str]]:
    """Facts and problems about in-progress runs and held pool slots (for `health`)."""
    runs = [assess_run(run) for run in in_progress_runs(instance)]
    slots = held_slots(instance)
    dead = [r for r in runs if r.dead]
    orphaned = [s for s in slots if s.run_status is None or s.run_status in _FINISHED_VALUES]
    facts: dict[str, object] = {
        "runs_in_progress": len(runs),
        "dead_runs": [f"{r.run_id} ({r.job_name}): {r.reason}" for r in dead],
        "held_slots": [f"{s.pool}: {s.step_key} of run {s.run_id} ({s.run_status})" for s in slots],
    }
    problems = [
        f"Run {r.run_id} ({r.job_name}) is {r.status} but its {r.reason}; "
        "`narr-platform runs recover` fails it and frees its pool slot "
        "(the next platform run does too)."
        for r in dead
    ]
    problems += [
        f"Pool {s.pool} slot held by run {s.run_id}, which is "
        f"{s.run_status or 'deleted'}; `narr-platform runs recover` frees it."
        for s in orphaned
    ]
    return facts, problems


_FINISHED_VALUES = {status.value for status in FINISHED}
