"""One run, the multiprocess executor, the shipped instance config: writers take turns."""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.support import PROJECT_ROOT, generate_sample
from tests.support.concurrency_location import ALL_WRITERS, WRITERS

# Whole runs in dagster subprocesses (the multiprocess executor, the real staging assets).
pytestmark = pytest.mark.slow


def run_dagster(dagster_home: Path, *args: str) -> str:
    """``dagster ARGS`` in a subprocess on the given instance; fails the test on error."""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            ends[event.step_key] = entry.timestamp
    return {key: (starts[key], ends[key]) for key in starts}


def assert_no_overlap(windows: dict[str, tuple[float, float]]) -> None:
    ordered = sorted(windows.items(), key=lambda kv: kv[1][0])
    for (first, (_, first_end)), (second, (second_start, _)) in itertools.pairwise(ordered):
        assert second_start >= first_end, f"{second} started before {first} finished"


def check_evaluations_after_materializations(
    instance: dg.DagsterInstance, run_id: str, check_name: str
) -> dict[dg.AssetKey, list[bool]]:
    """Per asset: for each evaluation of ``check_name``, whether the asset was already
    materialized in this run when it was evaluated."""
    materialized: set[dg.AssetKey] = set()
    seen: dict[dg.AssetKey, list[bool]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialized.add(event.asset_key)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.check_name == check_name:
                key = evaluation.asset_key
                seen.setdefault(key, []).append(key in materialized)
    return seen


def test_four_writers_share_the_file_in_one_multiprocess_run(dagster_home, warehouse_path):
    run_dagster(
        dagster_home,
        "job",
        "execute",
        "-m",
        "tests.support.concurrency_location",
        "-j",
        "all_writers",
    )
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs(filters=dg.RunsFilter(job_name="all_writers"))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        windows = step_windows(instance, run.run_id)
        drop_checks = check_evaluations_after_materializations(
            instance, run.run_id, "row_count_drop"
        )
        pids = {
            entry.dagster_event.pid
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
    writers = {f"concurrency__writer_{index}" for index in range(4)}
    assert writers | {"concurrency__all_writers"} <= set(windows)
    assert len(pids) == len(windows)  # each step in its own process: the multiprocess executor
    assert_no_overlap(windows)  # the duckdb pool (limit 1) serialized them, checks included
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        counts = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'concurrency'"
        ).fetchone()
        (rows,) = con.execute("SELECT count(*) FROM concurrency.all_writers").fetchone()
    assert counts == (5,)
    assert rows == 4000
    # The shared row_count_drop guard ran once per asset, each after its asset was built
    # (a check that ran before its asset, or not at all, would not guard anything).
    assert drop_checks == {key: [True] for key in [*WRITERS, ALL_WRITERS]}


def test_shipped_instance_config_limits_the_duckdb_pool(dagster_home):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.event_log_storage.supports_global_concurrency_limits
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.pool_config.pool_granularity.value == "op"


DIRECTORY_STAGING = (
    "directory/stg_treatment_centers",
    "directory/stg_narr_residences",
    "directory/stg_recovery_centers",
    "directory/stg_recovery_organizations",
)


def test_the_four_directory_staging_assets_share_the_file(
    dagster_home, landing_dir, warehouse_path
):
    """The real platform assets, not test doubles: four independent writers in one run."""
    generate_sample(landing_dir, "directory", scale=0.03)
    selection = ",".join(DIRECTORY_STAGING)
    run_dagster(
        dagster_home,
        "asset",
        "materialize",
        "-m",
        "narr_platform.definitions",
        "--select",
        selection,
    )
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        windows = step_windows(instance, run.run_id)
        pids = {
            entry.dagster_event.pid
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
    staging_steps = {key.replace("/", "__") for key in DIRECTORY_STAGING}
    assert staging_steps <= set(windows)  # their checks ran too, as steps of their own
    # Every platform job runs on the platform executor: all steps in the run's process
    # (resources/platform_executor.py), still one at a time through the duckdb pool.
    assert len(pids) == 1
    assert_no_overlap(windows)  # assets and checks alike took turns on the file
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        for key in DIRECTORY_STAGING:
            (rows,) = con.execute(f"SELECT count(*) FROM {key.replace('/', '.')}").fetchone()
            assert rows > 0, key
