"""Declarative automation: after a reader loads a landing file, everything downstream follows.

The rule, one for the whole code location (applied in ``narr_platform/definitions.py``):

- The readers (the assets a landing folder's sensor targets) run when a file lands; they
  carry no automation condition.
- Every asset downstream of a reader carries :data:`DOWNSTREAM_CONDITION`: ``eager`` (run
  when any dependency was updated, never while one is missing or in progress) AND
  ``all_deps_blocking_checks_passed`` (a dependency whose blocking check failed stops the
  cascade there, see docs/operations.md for which checks block).
- Checks have no condition of their own, so they ride along with their asset's run.
- ``on_cron`` is for tables whose inputs change continuously and that are read on a daily
  rhythm; no table here is fed that way today (every input is a landing file), so none
  uses it. :func:`daily_condition` is the one to use when one is.

The automation condition sensor (:func:`automation_sensor`) evaluates them every 15 s. It
is on in the shipped configuration; ``PLATFORM_AUTOMATION=off`` ships it stopped (or stop
``automation_condition_sensor`` on the UI's Automation page; the instance remembers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

AUTOMATION_ENV_VAR = "PLATFORM_AUTOMATION"
AUTOMATION_SENSOR_NAME = "automation_condition_sensor"
AUTOMATION_INTERVAL_SECONDS = 15

#: Every asset downstream of a landing reader.
DOWNSTREAM_CONDITION: dg.AutomationCondition = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, after upstream blocking checks pass")


def daily_condition(cron: str = "0 6 * * *") -> dg.AutomationCondition:
    """Once a day after all dependencies updated since the cron tick, checks passed."""
    return (
        dg.AutomationCondition.on_cron(cron)
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label(f"daily ({cron} UTC), after upstream blocking checks pass")


def automation_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``PLATFORM_AUTOMATION`` is ``on`` (default) or ``off``; anything else is refused."""
    env = os.environ if environ is None else environ
    value = env.get(AUTOMATION_ENV_VAR, "on").strip().lower() or "on"
    if value not in ("on", "off"):
        raise ValueError(f"{AUTOMATION_ENV_VAR}={value!r}: expected 'on' or 'off'")
    return value == "on"


def with_downstream_automation(defs: dg.Definitions, readers: dg.AssetSelection) -> dg.Definitions:
    """``defs`` with :data:`DOWNSTREAM_CONDITION` on every asset that has a dependency
    which is a reader or downstream of one (a reader fed by another reader's output, like
    ``healthsim/patients`` from ``reference/ref_geography``, gets it too).

    An asset that declares its own condition keeps it.
    """
    graph = defs.resolve_asset_graph()
    fed = readers.downstream().resolve(graph)
    targets = {key for key in fed if any(parent in fed for parent in graph.get(key).parent_keys)}

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key not in targets or spec.automation_condition is not None:
            return spec
        return spec.replace_attributes(automation_condition=DOWNSTREAM_CONDITION)

    assets = [
        asset.map_asset_specs(add)
        if isinstance(asset, dg.AssetsDefinition) and targets & set(asset.keys)
        else asset
        for asset in defs.assets or []
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )


def automation_sensor(environ: Mapping[str, str] | None = None) -> dg.SensorDefinition:
    """The automation condition sensor of the code location, on unless switched off."""
    enabled = automation_enabled(environ)
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=(
            dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED
        ),
        minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
        emit_backfills=False,
        run_tags={"narr/launched_by": "automation"},
        description=(
            f"Every {AUTOMATION_INTERVAL_SECONDS} s, runs the assets downstream of the landing "
            "readers whose dependencies were updated (eager), once the dependencies' blocking "
            "checks have passed, together with their checks; one run per tick for all that "
            "is due. Turn off with PLATFORM_AUTOMATION=off or the toggle here. Ticks are kept "
            "as dagster_home/dagster.yaml's retention says (skipped 7 days, others 30)."
        ),
    )
