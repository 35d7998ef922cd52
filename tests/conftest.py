"""Shared fixtures: every test runs against its own real DuckDB file and landing folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
SHIPPED_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"


@pytest.fixture(autouse=True)
def platform_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local deployment, a private warehouse file and landing folder under tmp_path."""
    for name in (
        "PLATFORM_DEPLOYMENT",
        "DUCKDB_MEMORY_LIMIT",
        "DUCKDB_WORKER_THREADS",
        "DUCKDB_TEMP_DIRECTORY",
        "DUCKDB_MAX_MEMORY_PERCENTAGE",
        "DUCKDB_EXTENSIONS",
        "PARQUET_COMPRESSION",
        "PARQUET_ROW_GROUP_SIZE",
        "SPARK_REMOTE",
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
        "DAGSTER_HOME",
        "DIRECTORY_SNAPSHOT_DIR",
        "NARR_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUCKDB_DATABASE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PLATFORM_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path


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


def load_definitions() -> dg.Definitions:
    """The code location's Definitions, built now from the current environment."""
    from narr_platform.definitions import defs

    return defs()


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


def generate_sample(landing: Path, *sources: str, **options: object) -> dict[str, list[Path]]:
    """Write sample sources (all by default) into ``landing``."""
    from narr_platform import sample_data

    request = sample_data.SampleDataRequest(out=landing, **options)  # type: ignore[arg-type]
    return sample_data.generate(request, tuple(sources))


@pytest.fixture
def sample_sources(landing_dir: Path) -> Iterator[Callable[..., dict[str, list[Path]]]]:
    """``sample_sources("reference/states", scale=0.01)`` writes sample files to the landing dir."""
    yield lambda *sources, **options: generate_sample(landing_dir, *sources, **options)
