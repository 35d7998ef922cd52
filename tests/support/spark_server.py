"""Pytest plugin: ONE real Spark Connect server per test run (pip pyspark, Java 17).

Test modules load it with ``pytest_plugins = ["tests.support.spark_server"]``. The server binds
127.0.0.1 on a free port with its own warehouse/log folders under the run's tmp dir and is
stopped by its PID when the session ends; with xdist workers, the first that needs it
starts it and the last to finish stops it. Without Java the tests that need it FAIL
with a message saying how to install it; they are never skipped silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from narr_platform.spark_connect_server import (
    SparkConnectServer,
    SparkServerError,
    start_server,
    stop_server,
)

#: The tests' tables are small (about 100,000 rows at most) and most statements run once:
#: Spark's generated Java, compiled per query, costs more than it saves there. Interpreted
#: evaluation gives the same results in about half the time.
TEST_SERVER_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def _start(base: Path) -> SparkConnectServer:
    try:
        return start_server(base, driver_memory="2g", cores=2, extra_conf=TEST_SERVER_CONF)
    except SparkServerError as exc:
        pytest.fail(f"The Spark tests need a local Spark Connect server: {exc}", pytrace=False)


def _stop(server: SparkConnectServer) -> None:
    # Its folders are the run's scratch: nothing to flush. An idle server exits about 2 s
    # after TERM; a busy one may not answer it, so KILL follows after 5 s.
    stop_server(server, timeout=5)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _shared_server(root: Path) -> Iterator[SparkConnectServer]:
    """One server for all the xdist workers of a run, started by the first that needs it.

    ``root`` is the run's temporary folder, common to its workers. ``spark-connect.json``
    there names the server and how many workers use it (changed under ``flock``); the last
    worker to finish stops it. Two servers on two cores each compiled the same Java and
    competed for the CPU (the FHIR-in Spark test: 26 s alone, 74 s beside the parity
    module's server). Each test has its own schema prefix (``spark_env``), so the
    workers' tests never see each other's tables.
    """
    state_file, lock_file = root / "spark-connect.json", root / "spark-connect.lock"

    def recorded(state: dict) -> SparkConnectServer:
        return SparkConnectServer(port=state["port"], pid=state["pid"], base=Path(state["base"]))

    with _locked(lock_file):
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is None or not recorded(state).alive():
            # The count is of workers, whichever server they were given: a worker that
            # still holds a dead one leaves later and must not stop this one early.
            users = state["users"] if state else 0
            server = _start(root / f"spark-connect-{uuid.uuid4().hex[:8]}")
            state = {
                "port": server.port,
                "pid": server.pid,
                "base": str(server.base),
                "users": users,
            }
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    try:
        yield recorded(state)
    finally:
        with _locked(lock_file):
            state = json.loads(state_file.read_text())
            state["users"] -= 1
            if state["users"] > 0:
                state_file.write_text(json.dumps(state))
            else:
                state_file.unlink()
                _stop(recorded(state))


@pytest.fixture(scope="session")
def spark_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkConnectServer]:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        with _shared_server(tmp_path_factory.getbasetemp().parent) as server:
            yield server
        return
    server = _start(tmp_path_factory.mktemp("spark-connect"))
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def spark_env(
    request: pytest.FixtureRequest,
    spark_connect_server: SparkConnectServer,
    platform_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Switch this test to the Databricks deployment on the session's Spark Connect server.

    Each test gets its own schema prefix, so tests never see each other's tables. A test
    that asks for it at run time (``request.getfixturevalue``) must carry the ``spark``
    marker itself, or ``make test-fast`` would start a Spark server.
    """
    if request.node.get_closest_marker("spark") is None:
        pytest.fail(f"{request.node.nodeid} uses Spark: mark it @pytest.mark.spark", pytrace=False)
    env = {
        "PLATFORM_DEPLOYMENT": "databricks",
        "SPARK_REMOTE": spark_connect_server.url,
        "SPARK_SCHEMA_PREFIX": f"t{uuid.uuid4().hex[:8]}_",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
