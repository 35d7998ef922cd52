"""After `make run` on every domain, opening the UI launches no run.

    .venv/bin/python benchmarks/no_storm.py [--workdir /tmp/no-storm]

In a private DAGSTER_HOME (the shipped dagster.yaml), warehouse and landing folder: the
sample sources of every domain, `materialize_all` (what `make run` executes, timed), then
`dagster dev` (as `make ui`) until every landing sensor and the automation sensor have
ticked three times (two intervals). Prints the make run time and the runs the UI launched
by itself (the issue-15 storm was 8 runs rebuilding 35 assets for 13 minutes; goal 0).
Takes about 10 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_RUN = ["-j", "materialize_all"]
WATCHED = (
    "landing_synthea_sensor",
    "landing_patients_sensor",
    "landing_directory_sensor",
    "automation_condition_sensor",
)
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from tests.support import ui  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/no-storm"))
    args = parser.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    home = ui.prepare_home(work / "home")
    env = {
        "DAGSTER_HOME": str(home),
        "DUCKDB_DATABASE_PATH": str(work / "warehouse.duckdb"),
        "PLATFORM_LANDING_DIR": str(work / "landing"),
    }
    os.environ.update(env)
    venv = ROOT / ".venv" / "bin"
    subprocess.run(
        [str(venv / "narr-platform"), "sample-data", "--out", str(work / "landing")],
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    run = subprocess.run(
        [str(venv / "dagster"), "job", "execute", "-m", "narr_platform.definitions", *MAKE_RUN],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    (work / "make_run.log").write_text(run.stdout + run.stderr)
    print(f"make run (materialize_all): exit {run.returncode}, {time.monotonic() - started:.0f} s")
    before = {r.run_id for r in dg.DagsterInstance.get().get_runs()}
    with ui.dagster_dev(home, env, work / "dagster_dev.log") as url:
        for name in WATCHED:
            ui.wait_for_ticks(url, name, 3, timeout=600)
        launched = [r for r in ui.runs(url) if r["runId"] not in before]
    print(f"runs launched by opening the UI after make run: {len(launched)} (goal 0)")
    for r in launched:
        print(
            "  ",
            r["pipelineName"],
            r["status"],
            [".".join(a["path"]) for a in r["assetSelection"] or []],
        )


if __name__ == "__main__":
    main()
