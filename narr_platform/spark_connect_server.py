"""A local Spark Connect server from the pip ``pyspark`` distribution (tests and `make run`).

``pyspark`` ships ``sbin/start-connect-server.sh`` and the ``spark-connect`` jar; with
Java 17+ it serves ``sc://127.0.0.1:<port>`` in about five seconds. The server gets its own
warehouse, log, pid and scratch folders under one base folder, binds 127.0.0.1 only, and is
stopped by the PID it wrote::

    python -m narr_platform.spark_connect_server start --dir /tmp/narr-spark --port 15002
    export PLATFORM_DEPLOYMENT=databricks SPARK_REMOTE=sc://127.0.0.1:15002
    python -m narr_platform.spark_connect_server stop --dir /tmp/narr-spark
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_DRIVER_MEMORY = "2g"

#: Server-wide settings; the client sets the same session settings again (see SESSION_CONF).
SERVER_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.sources.default": "parquet",
    # On a loaded machine, long GC pauses must not stop the SparkContext (heartbeat timeout).
    "spark.network.timeout": "600s",
    "spark.executor.heartbeatInterval": "60s",
}


class SparkServerError(RuntimeError):
    """The Spark Connect server could not be started (missing Java, crash, timeout)."""


@dataclasses.dataclass(frozen=True)
class SparkConnectServer:
    """A running server: its URL, PID and folders."""

    port: int
    pid: int
    base: Path

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.base / "logs"

    def alive(self) -> bool:
        """Its process runs and its port answers."""
        return _pid_alive(self.pid) and _port_open(self.port)

    def log_tail(self, lines: int = 30) -> str:
        text = []
        for log in sorted(self.log_dir.glob("*.out")):
            text += log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def find_java_home() -> Path:
    """JAVA_HOME, or the JDK of the ``java`` on PATH; a clear error when Java is missing."""
    configured = os.environ.get("JAVA_HOME", "").strip()
    if configured and (Path(configured) / "bin" / "java").exists():
        return Path(configured)
    java = shutil.which("java")
    if java is None:
        raise SparkServerError(
            "Java 17 or newer is required for the Spark deployment and its tests (pyspark 4 "
            "runs on the JVM), but no `java` is on PATH and JAVA_HOME is not set. Install "
            "OpenJDK 17 (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    return Path(java).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_file(base: Path) -> Path | None:
    files = sorted((base / "run").glob("*.pid"))
    return files[0] if files else None


def start_server(
    base: Path,
    port: int | None = None,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    cores: int = 2,
    timeout: float = 90.0,
    extra_conf: dict[str, str] | None = None,
) -> SparkConnectServer:
    """Start a Spark Connect server bound to 127.0.0.1; return once it accepts connections."""
    java_home = find_java_home()
    home = spark_home()
    script = home / "sbin" / "start-connect-server.sh"
    if not script.exists():
        raise SparkServerError(
            f"{script} is missing: the installed pyspark has no Spark Connect server."
        )
    port = port or free_port()
    base = base.resolve()
    for sub in ("logs", "run", "warehouse", "scratch"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    conf = {
        **SERVER_CONF,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.warehouse.dir": str(base / "warehouse"),
        "spark.local.dir": str(base / "scratch"),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={base / 'scratch'}",
        **(extra_conf or {}),
    }
    args = ["bash", str(script), "--master", f"local[{cores}]", "--driver-memory", driver_memory]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    env = {
        **os.environ,
        "JAVA_HOME": str(java_home),
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(base / "logs"),
        "SPARK_PID_DIR": str(base / "run"),
        "SPARK_IDENT_STRING": f"narr{port}",
        "SPARK_CONF_DIR": str(base / "run"),  # no stray spark-defaults from elsewhere
    }
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    launched = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    pid_file = _pid_file(base)
    if launched.returncode != 0 or pid_file is None:
        raise SparkServerError(
            f"start-connect-server.sh failed (exit {launched.returncode}): "
            f"{launched.stdout[-2000:]}{launched.stderr[-2000:]}"
        )
    server = SparkConnectServer(port=port, pid=int(pid_file.read_text().strip()), base=base)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return server
        if not _pid_alive(server.pid):
            raise SparkServerError(
                f"The Spark Connect server exited at start:\n{server.log_tail()}"
            )
        time.sleep(0.25)
    stop_server(server)
    raise SparkServerError(
        f"The Spark Connect server did not listen within {timeout:.0f} s:\n{server.log_tail()}"
    )


def stop_server(server: SparkConnectServer | Path, timeout: float = 20.0) -> None:
    """Stop the server by the PID it wrote (TERM, then KILL after ``timeout`` seconds)."""
    if isinstance(server, Path):
        pid_file = _pid_file(server.resolve())
        if pid_file is None:
            return
        pid = int(pid_file.read_text().strip())
    else:
        pid = server.pid
        pid_file = _pid_file(server.base)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    if pid_file is not None:
        pid_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=Path("data/spark-connect"), help="Base folder.")
    parser.add_argument("--port", type=int, default=15002)
    parser.add_argument("--driver-memory", default=DEFAULT_DRIVER_MEMORY)
    parser.add_argument("--cores", type=int, default=2)
    options = parser.parse_args(argv)
    if options.action == "start":
        server = start_server(options.dir, options.port, options.driver_memory, options.cores)
        print(f"Spark Connect server PID {server.pid} at {server.url} (logs in {server.log_dir})")
        print(f"export PLATFORM_DEPLOYMENT=databricks SPARK_REMOTE={server.url}")
    else:
        stop_server(options.dir)
        print(f"Stopped the Spark Connect server of {options.dir}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
