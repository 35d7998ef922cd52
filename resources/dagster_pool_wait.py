"""The one patch of Dagster internals in this project: waiting for a pool sleeps and stops.

Dagster 1.13.x (``dagster/_core/execution/plan/instance_concurrency_context.py``):
``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` returns
``min([0, *waits])``, which is never positive, so ``ActiveExecution.sleep_til_ready`` never
sleeps and a step blocked on a pool spins a full CPU core until the slot frees. The run
also ignores SIGTERM and Ctrl-C while it waits: Dagster captures the signal to raise it at
the next step boundary, and a blocked step never reaches one. The report with a minimal
reproduction is ``docs/upstream/dagster-pool-spin.md``.

:func:`install` replaces that one method (only on the Dagster versions listed in
``PATCHED_VERSIONS``; elsewhere it leaves Dagster alone and says so) by one that waits until
the next claim check, in ticks of :data:`TICK_SECONDS`, and:

- raises ``DagsterExecutionInterruptedError`` as soon as a SIGTERM or SIGINT was captured,
  so the run ends (FAILURE, pending claims released) within a tick;
- every :data:`RECOVERY_INTERVAL_SECONDS` of waiting calls ``on_wait(instance, run_id)``:
  the platform passes its dead-run recovery, so a run waiting behind a killed run gets its
  slot without anyone stepping in.

It then returns 0, so Dagster's own loop goes straight on to the claim check. The platform
executor (``resources/platform_executor.py``) installs it in the run's process, at run
start: importing this module changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg

#: Dagster versions whose wait loop is known to spin (checked at install time).
PATCHED_VERSIONS = ("1.13.",)
TICK_SECONDS = 0.1
#: Longest sleep between two claim checks (Dagster's own back-off goes up to 15 s).
MAX_WAIT_SECONDS = 2.0
RECOVERY_INTERVAL_SECONDS = 5.0

OnWait = Callable[[dg.DagsterInstance, str], object]
_state: dict[str, object] = {"installed": False, "on_wait": None}


def install(on_wait: OnWait | None = None) -> bool:
    """Patch the wait once per process; return whether the patch is active."""
    _state["on_wait"] = on_wait
    if _state["installed"]:
        return True
    if not dg.__version__.startswith(PATCHED_VERSIONS):
        return False
    # The private imports are confined to this function: the patch point and Dagster's own
    # flag for a captured SIGTERM/SIGINT.
    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )
    from dagster._utils.interrupts import pop_captured_interrupt

    def interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
        if not self._pending_claims:
            return 0.0
        now = time.time()
        next_check = min(self._pending_timeouts.values(), default=now)
        until = now + min(max(next_check - now, 0.0), MAX_WAIT_SECONDS)
        while True:
            if pop_captured_interrupt():
                raise dg.DagsterExecutionInterruptedError(
                    "Interrupted while waiting for a pool slot."
                )
            remaining = until - time.time()
            if remaining <= 0:
                break
            time.sleep(min(TICK_SECONDS, remaining))
        waited = getattr(self, "_platform_waited", 0.0) + (time.time() - now)
        if waited >= RECOVERY_INTERVAL_SECONDS and callable(_state["on_wait"]):
            waited = 0.0
            _state["on_wait"](self._instance, self._run_id)  # type: ignore[operator]
        self._platform_waited = waited
        return 0.0

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = (  # type: ignore[method-assign]
        interval_to_next_pending_claim_check
    )
    _state["installed"] = True
    return True
