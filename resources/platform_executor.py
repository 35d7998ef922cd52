"""The executor of every platform job: Dagster's in-process executor plus fault recovery.

Every asset, check and op of the platform writes the one DuckDB file and takes the single
``duckdb`` pool slot, so steps run one at a time whatever the executor; in one process a run
skips a Python start per step. Before the first step, this executor:

1. tags the run with the process executing it (``resources/run_recovery.py``), the evidence
   a later run uses to tell a dead run from a live one;
2. fails runs whose process is gone and frees the pool slots they held, so a run killed
   with ``kill -9`` never blocks the next one;
3. installs the pool-wait fix (``resources/dagster_pool_wait.py``): a step waiting for the
   pool sleeps, stops on SIGTERM/Ctrl-C, and re-runs the recovery while it waits;
4. lowers the run's CPU priority to ``PLATFORM_RUN_NICENESS`` (default 10, 0 keeps it): a
   run is batch work, and on a shared host the processes that answer people (the directory
   API, the Dagster UI) should not queue behind it. Alone on the machine a niced run is as
   fast as before; the scheduler only favours the others when both want the CPU. Loading
   the code location (``narr_platform/definitions.py``) already took it in a run's process;
   this covers jobs defined without it and a location loaded on another thread than the
   run's (Linux keeps a niceness per thread).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from resources import dagster_pool_wait
from resources.deployment import PlatformConfigError
from resources.run_recovery import record_run_process, recover_dead_runs

RUN_NICENESS_VAR = "PLATFORM_RUN_NICENESS"
DEFAULT_RUN_NICENESS = 10


def run_niceness(environ: Mapping[str, str] | None = None) -> int:
    """The niceness runs execute at (0-19), from ``PLATFORM_RUN_NICENESS``."""
    raw = (os.environ if environ is None else environ).get(RUN_NICENESS_VAR, "").strip()
    if not raw:
        return DEFAULT_RUN_NICENESS
    if not raw.isdigit() or int(raw) > 19:
        raise PlatformConfigError(
            f"{RUN_NICENESS_VAR}={raw!r}: give a niceness from 0 (the caller's priority) to 19 "
            f"(the lowest); the default is {DEFAULT_RUN_NICENESS}."
        )
    return int(raw)


def lower_priority(niceness: int) -> int:
    """Raise this thread's niceness to ``niceness`` (never lower it); the niceness after.

    Threads started afterwards (DuckDB's workers, opened per step) inherit it.
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)


def _recover_while_waiting(instance: dg.DagsterInstance, run_id: str) -> None:
    recover_dead_runs(instance, exclude=[run_id])


class RecoveringExecutor(dg.Executor):
    """Delegates to Dagster's in-process executor after recording and recovering runs."""

    def __init__(self, inner: dg.Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> Any:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self._inner.step_dependency_config

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        instance: dg.DagsterInstance = plan_context.instance
        run_id: str = plan_context.run_id
        record_run_process(instance, run_id)
        report = recover_dead_runs(instance, exclude=[run_id])
        for line in report.lines():
            plan_context.log.warning(f"Dead-run recovery: {line}")
        dagster_pool_wait.install(on_wait=_recover_while_waiting)
        niceness = lower_priority(run_niceness())
        plan_context.log.debug(f"Steps run at niceness {niceness} ({RUN_NICENESS_VAR}).")
        yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(
    name="in_process",
    config_schema=dg.in_process_executor.config_schema,
)
def platform_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """In-process execution with dead-run recovery and an interruptible pool wait."""
    inner = dg.in_process_executor.executor_creation_fn(init_context)  # type: ignore[misc]
    return RecoveringExecutor(inner)
