"""The code location as a whole: one Definitions, loadable by Dagster's own CLI, and
every asset described, owned, kinded, and in the duckdb pool when it writes the warehouse."""

import subprocess
import sys

import dagster as dg
import pytest

from resources import WAREHOUSE_POOL
from tests.support import PROJECT_ROOT, load_definitions

WAREHOUSE_RESOURCES = {"warehouse", "io_manager"}


@pytest.mark.slow  # loads the whole location in a dagster subprocess
def test_dagster_cli_validates_the_code_location():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "narr_platform.definitions",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Validation successful" in proc.stdout + proc.stderr


def test_every_asset_is_described_owned_and_kinded():
    specs = load_definitions().resolve_all_asset_specs()
    assert specs
    problems = []
    for spec in specs:
        name = spec.key.to_user_string()
        if not (spec.description and len(spec.description.strip()) >= 20):
            problems.append(f"{name}: no business description")
        if not spec.group_name or spec.group_name == "default":
            problems.append(f"{name}: no group")
        if not spec.owners:
            problems.append(f"{name}: no owner")
        if not spec.kinds:
            problems.append(f"{name}: no kinds")
    assert not problems, "\n".join(problems)


def test_every_step_touching_the_warehouse_is_in_the_duckdb_pool():
    defs = load_definitions()
    jobs = [defs.resolve_implicit_global_asset_job_def(), *defs.resolve_all_job_defs()]
    offenders = set()
    checked = 0
    for job in jobs:
        for node in job.all_node_defs:
            if not isinstance(node, dg.OpDefinition):
                continue
            if node.required_resource_keys & WAREHOUSE_RESOURCES:
                checked += 1
                if node.pool != WAREHOUSE_POOL:
                    offenders.add(f"{job.name}/{node.name} (pool={node.pool!r})")
    assert checked > 0
    assert not offenders, sorted(offenders)


def test_materialize_all_job_selects_every_asset():
    defs = load_definitions()
    job = defs.resolve_job_def("materialize_all")
    graph = defs.resolve_asset_graph()
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert job.asset_layer.selected_asset_keys == materializable
