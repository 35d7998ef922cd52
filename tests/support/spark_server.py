"""Pytest plugin: ONE real Spark Connect server per test session (pip pyspark, Java 17).

Test modules load it with ``pytest_plugins = ["tests.support.spark_server"]``. The server binds
127.0.0.1 on a free port with its own warehouse/log folders under the session's tmp dir
and is stopped by its PID when the session ends. Without Java the tests that need it FAIL
with a message saying how to install it; they are never skipped silently.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def spark_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkConnectServer]:
    base: Path = tmp_path_factory.mktemp("spark-connect")
    try:
        server = start_server(base, driver_memory="2g", cores=2, extra_conf=TEST_SERVER_CONF)
    except SparkServerError as exc:
        pytest.fail(f"The Spark tests need a local Spark Connect server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        # Its folders are the session's scratch: nothing to flush. An idle server exits in
        # about 2 s; one that has run the parity module sometimes ignored TERM for the
        # whole 20 s default before the KILL, at the end of the suite.
        stop_server(server, timeout=5)


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
