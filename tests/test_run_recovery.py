"""The evidence behind dead-run recovery, on real processes: never a guess."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from resources.run_recovery import (
    BOOT_ID_TAG,
    HOST_TAG,
    PID_START_TAG,
    PID_TAG,
    assess_run,
    process_tags,
    recover_dead_runs,
)


def run_with(tags: dict[str, str], run_id: str = "r1") -> dg.DagsterRun:
    return dg.DagsterRun(
        job_name="hold", run_id=run_id, tags=tags, status=dg.DagsterRunStatus.STARTED
    )


def test_alive_dead_reused_and_unknown_from_the_recorded_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tags = process_tags(proc.pid)
        assert assess_run(run_with(tags)).state == "alive"
        reused = {**tags, PID_START_TAG: str(int(tags[PID_START_TAG]) - 1)}
        assert assess_run(run_with(reused)).state == "dead"
        assert "reused" in assess_run(run_with(reused)).reason
        rebooted = {**tags, BOOT_ID_TAG: "another-boot"}
        assert assess_run(run_with(rebooted)).state == "dead"
        elsewhere = {**tags, HOST_TAG: "some-other-host"}
        assert assess_run(run_with(elsewhere)).state == "unknown"
        assert assess_run(run_with({})).state == "unknown"
    finally:
        proc.kill()
        proc.wait()
    verdict = assess_run(run_with(tags))
    assert verdict.state == "dead" and f"PID {tags[PID_TAG]}" in verdict.reason


def test_recovery_fails_only_dead_runs_and_frees_their_slots() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        with dg.instance_for_test(
            overrides={"concurrency": {"pools": {"granularity": "op", "default_limit": 1}}}
        ) as instance:
            storage = instance.event_log_storage
            storage.initialize_concurrency_limit_to_default("duckdb")
            runs = {}
            for name, pid in (("alive", proc.pid), ("dead", gone.pid), ("untagged", None)):
                tags = process_tags(proc.pid) if pid == proc.pid else {}
                if name == "dead":
                    tags = {**process_tags(proc.pid), PID_TAG: str(pid)}
                    tags.pop(PID_START_TAG, None)
                run = instance.create_run_for_job(
                    dg.GraphDefinition(name="g").to_job(name=f"job_{name}"), tags=tags
                )
                instance.handle_new_event(
                    dg.EventLogEntry(
                        error_info=None,
                        level="debug",
                        user_message="",
                        run_id=run.run_id,
                        timestamp=0.0,
                        dagster_event=dg.DagsterEvent(
                            dg.DagsterEventType.RUN_START.value, job_name=run.job_name
                        ),
                    )
                )
                runs[name] = run.run_id
            storage.claim_concurrency_slot("duckdb", runs["dead"], "step")
            report = recover_dead_runs(instance)
            assert [r.run_id for r in report.failed] == [runs["dead"]]
            assert report.freed_runs == [runs["dead"]]
            assert {r.run_id for r in report.unknown} == {runs["untagged"]}
            status = {n: instance.get_run_by_id(i).status for n, i in runs.items()}
            assert status == {
                "alive": dg.DagsterRunStatus.STARTED,
                "dead": dg.DagsterRunStatus.FAILURE,
                "untagged": dg.DagsterRunStatus.STARTED,
            }
            assert storage.get_concurrency_info("duckdb").claimed_slots == []
    finally:
        proc.kill()
        proc.wait()
