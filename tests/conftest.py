"""Shared fixtures: every test runs against its own real DuckDB file and landing folder.

Helpers (paths, the environment, sample data) are in ``tests/support``; tests import them
from there, never from this file."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.support import (
    SHARED_DIR,
    SHIPPED_DAGSTER_HOME,
    generate_sample,
    isolate_platform_env,
    load_definitions,
)

#: Markers given by what a test uses, so a new test is marked without remembering to.
FIXTURE_MARKERS = {"spark_connect_server": "spark"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test using the Spark Connect server (directly or through a fixture) is ``spark``.

    Modules marked ``long_setup`` run first: with two workers (``make test``, which keeps
    this order with ``--no-loadscope-reorder``), the module that takes minutes starts at
    once on one worker while the other works through the rest, so both finish together.
    """
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
    items.sort(key=lambda item: item.get_closest_marker("long_setup") is None)


@pytest.fixture(autouse=True)
def platform_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local deployment, a private warehouse file and landing folder under tmp_path."""
    return isolate_platform_env(monkeypatch, tmp_path)


@pytest.fixture
def landing_dir(platform_env: Path) -> Path:
    return platform_env / "landing"


@pytest.fixture
def warehouse_path(platform_env: Path) -> Path:
    return platform_env / "warehouse.duckdb"


@pytest.fixture
def shared_dir() -> Path:
    """The read-only real samples beside the project; tests that need them skip without."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is not present")
    return SHARED_DIR


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME with the project's shipped instance config (the duckdb pool)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(SHIPPED_DAGSTER_HOME / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def materialize() -> Callable[..., dg.ExecuteInProcessResult]:
    """Run an asset selection (with its checks) in-process against the test warehouse.

    ``materialize("group:reference")`` or ``materialize(dg.AssetSelection.groups(...))``.
    """

    def run(
        selection: str | dg.AssetSelection, raise_on_error: bool = True, **kwargs: object
    ) -> dg.ExecuteInProcessResult:
        defs = load_definitions()
        if isinstance(selection, str):
            selection = dg.AssetSelection.from_string(selection)
        job = defs.resolve_implicit_global_asset_job_def()
        keys = selection.resolve(defs.resolve_asset_graph())
        return job.execute_in_process(
            asset_selection=list(keys), raise_on_error=raise_on_error, **kwargs
        )

    return run


@pytest.fixture
def sample_sources(landing_dir: Path) -> Iterator[Callable[..., dict[str, list[Path]]]]:
    """``sample_sources("reference/states", scale=0.01)`` writes sample files to the landing dir."""
    yield lambda *sources, **options: generate_sample(landing_dir, *sources, **options)
