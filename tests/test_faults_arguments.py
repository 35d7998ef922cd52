"""Every bad argument and setting: one `Error: ...` line, a non-zero exit, no traceback.

The table is built per command from its parameters (numbers out of range or not numbers,
paths that cannot be written, unknown choices) and per setting of the environment, each
tried against the commands that read it. A read-only command never creates a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from narr_platform.cli import LOCAL_ONLY_COMMANDS, main
from tests.support.ops import build_warehouse, use_private_ops_dirs

#: A folder nobody can create or write into, even root (sysfs), or a 0o500 folder.
UNWRITABLE = "/sys/fs/narr_platform_test/out"
NOT_A_FOLDER = "/etc/hostname/sub"

BAD_ARGUMENTS: list[tuple[str, list[str]]] = [
    # sample-data
    ("negative --patients", ["sample-data", "--patients", "-5"]),
    ("zero --patients", ["sample-data", "--patients", "0"]),
    ("text --patients", ["sample-data", "--patients", "many"]),
    ("negative --healthsim-patients", ["sample-data", "--healthsim-patients", "-1"]),
    ("negative --scale", ["sample-data", "--scale", "-1"]),
    ("zero --scale", ["sample-data", "--scale", "0"]),
    ("nan --scale", ["sample-data", "--scale", "nan"]),
    ("huge --scale", ["sample-data", "--scale", "1e9"]),
    ("inf --scale", ["sample-data", "--scale", "inf"]),
    ("negative --seed", ["sample-data", "--seed", "-3"]),
    ("text --seed", ["sample-data", "--seed", "abc"]),
    ("unknown --reference", ["sample-data", "--reference", "global"]),
    ("unknown --only", ["sample-data", "--only", "nosuch/source"]),
    ("--out unwritable", ["sample-data", "--out", UNWRITABLE, "--only", "reference/states"]),
    ("--out under a file", ["sample-data", "--out", NOT_A_FOLDER, "--only", "reference/states"]),
    # nearby / search
    ("--lat above 90", ["nearby", "--lat", "91", "--lon", "0"]),
    ("--lat below -90", ["nearby", "--lat", "-91", "--lon", "0"]),
    ("--lon above 180", ["nearby", "--lat", "0", "--lon", "181"]),
    ("--lat text", ["nearby", "--lat", "north", "--lon", "0"]),
    ("--lat missing", ["nearby", "--lon", "0"]),
    ("negative --miles", ["nearby", "--lat", "40", "--lon", "-75", "--miles", "-1"]),
    ("zero --miles", ["nearby", "--lat", "40", "--lon", "-75", "--miles", "0"]),
    ("nan --miles", ["nearby", "--lat", "40", "--lon", "-75", "--miles", "nan"]),
    ("nan --lat", ["nearby", "--lat", "nan", "--lon", "-75"]),
    ("unknown --type", ["nearby", "--lat", "40", "--lon", "-75", "--type", "spa"]),
    ("zero --limit", ["nearby", "--lat", "40", "--lon", "-75", "--limit", "0"]),
    ("negative --limit", ["search", "recovery", "--limit", "-1"]),
    ("huge --limit", ["search", "recovery", "--limit", "100000"]),
    ("unknown --service", ["search", "recovery", "--service", "massage"]),
    ("unknown --payment", ["search", "recovery", "--payment", "bitcoin"]),
    ("search without text", ["search"]),
    # serve (only values click refuses before a server would start)
    ("--port 0", ["serve", "--port", "0"]),
    ("--port above 65535", ["serve", "--port", "70000"]),
    ("--port text", ["serve", "--port", "http"]),
    ("zero --workers", ["serve", "--workers", "0"]),
    ("too many --workers", ["serve", "--workers", "99"]),
    # stats / health / runs
    ("negative --runs", ["stats", "--runs", "-1"]),
    ("zero --runs", ["stats", "--runs", "0"]),
    ("text --runs", ["stats", "--runs", "all"]),
    ("unknown option", ["health", "--verbose"]),
    ("runs without DAGSTER_HOME", ["runs", "recover"]),
    ("runs status without DAGSTER_HOME", ["runs", "status"]),
    # backups and restore
    ("negative --rpo-hours", ["backup", "status", "--rpo-hours", "-1"]),
    ("zero --rpo-hours", ["backup", "status", "--rpo-hours", "0"]),
    ("text --rpo-hours", ["backup", "status", "--rpo-hours", "soon"]),
    ("nan --rpo-hours", ["backup", "status", "--rpo-hours", "nan"]),
    ("bad --kind", ["backup", "create", "--kind", "../escape"]),
    ("empty --kind", ["backup", "create", "--kind", ""]),
    ("restore a missing file", ["restore", "/nonexistent/warehouse.duckdb.zst"]),
    ("restore a non-backup", ["restore", "/etc/hostname"]),
    ("restore latest without backups", ["restore", "latest"]),
    ("negative --lock-timeout", ["restore", "latest", "--lock-timeout", "-5"]),
    ("inf --lock-timeout", ["restore", "latest", "--lock-timeout", "inf"]),
    ("restore --to unwritable", ["restore", "latest", "--to", UNWRITABLE + "/w.duckdb"]),
    # scenarios, exports, views, reference
    ("negative --sample", ["scenario", "save", "x", "--sample", "-2"]),
    ("load unknown scenario", ["scenario", "load", "no-such-scenario"]),
    ("export unknown scenario", ["scenario", "export", "nope", "--out", UNWRITABLE + "/s.json"]),
    ("import a missing file", ["scenario", "import", "/nonexistent.json"]),
    ("import a folder", ["scenario", "import", "/tmp"]),
    ("delete without name", ["scenario", "delete"]),
    ("list an unknown option", ["scenario", "list", "--all"]),
    ("tag without tags", ["scenario", "tag", "x"]),
    ("tag unknown scenario", ["scenario", "tag", "no-such-scenario", "t1"]),
    ("migrate a missing folder", ["scenario", "migrate-legacy", "/nonexistent"]),
    ("fhir-export --out unwritable", ["fhir-export", "--out", UNWRITABLE]),
    ("fhir-export --out under a file", ["fhir-export", "--out", NOT_A_FOLDER]),
    ("reference-check missing --landing", ["reference-check", "--landing", "/nonexistent"]),
    ("view run a missing file", ["view", "run", "/nonexistent.json"]),
    ("view run negative --limit", ["view", "run", "/etc/hostname", "--limit", "-1"]),
    ("view conformance missing folder", ["view", "conformance", "/nonexistent"]),
    ("unknown command", ["rebuild-everything"]),
]

#: Commands that read a setting of the local deployment, each tried with every bad value.
SETTING_COMMANDS = [["health"], ["stats"], ["search", "recovery"], ["backup", "create"]]
BAD_SETTINGS: list[tuple[str, str]] = [
    ("DUCKDB_MEMORY_LIMIT", "0MB"),
    ("DUCKDB_MEMORY_LIMIT", "lots"),
    ("DUCKDB_MEMORY_LIMIT", "-1GB"),
    ("DUCKDB_DATABASE_PATH", "/tmp"),
    ("DUCKDB_DATABASE_PATH", "/etc/hostname/warehouse.duckdb"),
    ("DUCKDB_DATABASE_PATH", "md:x"),
    ("DUCKDB_WORKER_THREADS", "0"),
    ("DUCKDB_WORKER_THREADS", "two"),
    ("DUCKDB_MAX_MEMORY_PERCENTAGE", "150"),
    ("DUCKDB_MAX_MEMORY_PERCENTAGE", "0"),
    ("DUCKDB_TEMP_DIRECTORY", "/etc/hostname"),
    ("DUCKDB_LOCK_TIMEOUT", "-1"),
    ("DUCKDB_LOCK_TIMEOUT", "forever"),
    ("PARQUET_COMPRESSION", "RAR"),
    ("PARQUET_ROW_GROUP_SIZE", "0"),
    ("BACKUP_RPO_HOURS", "-1"),
    ("BACKUP_RPO_HOURS", "daily"),
    ("BACKUP_RPO_HOURS", "nan"),
    ("DUCKDB_LOCK_TIMEOUT", "nan"),
    ("PLATFORM_DEPLOYMENT", "mainframe"),
]
#: Local-only commands in the databricks deployment must say so.
DATABRICKS_COMMANDS = [
    ["search", "recovery"],
    ["nearby", "--lat", "40", "--lon", "-75"],
    ["health"],
    ["stats"],
    ["backup", "status"],
    ["backup", "create"],
    ["restore", "latest"],
    ["scenario", "list"],
    ["summary"],
]
#: Backups and restores where nothing can be written (a read-only file system for root).
UNWRITABLE_OPERATIONS = [
    ("backup create, PLATFORM_BACKUP_DIR unwritable", ["backup", "create"], "PLATFORM_BACKUP_DIR"),
    ("backup status, PLATFORM_BACKUP_DIR a file", ["backup", "status"], "PLATFORM_BACKUP_DIR"),
]

CASES = [pytest.param(args, {}, id=name) for name, args in BAD_ARGUMENTS]
CASES += [
    pytest.param(command, {name: value}, id=f"{name}={value} {' '.join(command)}")
    for name, value in BAD_SETTINGS
    for command in SETTING_COMMANDS
    # health answers an unreachable database with its report (DOWN, exit 2): tested below.
    if not (value == "md:x" and command[0] == "health")
    and not (name == "BACKUP_RPO_HOURS" and command[0] == "search")
    and not (name.startswith("PARQUET") and command[0] in ("health", "search"))
]
CASES += [
    pytest.param(command, {"PLATFORM_DEPLOYMENT": "databricks"}, id=f"databricks {command[0]}")
    for command in DATABRICKS_COMMANDS
]
CASES += [
    pytest.param(command, {variable: UNWRITABLE}, id=name)
    for name, command, variable in UNWRITABLE_OPERATIONS[:1]
]
CASES += [
    pytest.param(command, {variable: "/etc/hostname"}, id=name)
    for name, command, variable in UNWRITABLE_OPERATIONS[1:]
]


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    build_warehouse(path, rows=200)
    return path


@pytest.fixture(autouse=True)
def environment(platform_env, monkeypatch, built_warehouse):
    use_private_ops_dirs(platform_env, monkeypatch)
    monkeypatch.setenv("DUCKDB_DATABASE_PATH", str(built_warehouse))
    monkeypatch.setenv("DUCKDB_LOCK_TIMEOUT", "2")


def test_the_table_covers_every_command() -> None:
    import click

    def leaves(command: click.Command, prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        if isinstance(command, click.Group):
            return {
                leaf
                for name, sub in command.commands.items()
                for leaf in leaves(sub, (*prefix, name))
            }
        return {prefix}

    tried = {tuple(args[: len(leaf)]) for leaf in leaves(main, ()) for _, args in BAD_ARGUMENTS}
    missing = sorted(
        " ".join(leaf)
        for leaf in leaves(main, ())
        if leaf not in tried and leaf[0] not in ("summary",)  # summary takes no values
    )
    assert missing == [], f"commands without a bad-argument case: {missing}"
    assert len(CASES) >= 84
    assert {c[0] for c in DATABRICKS_COMMANDS} <= LOCAL_ONLY_COMMANDS


@pytest.mark.parametrize(("args", "env"), CASES)
def test_a_bad_argument_or_setting_is_one_line_and_a_non_zero_exit(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    before = set(Path(tmp_path).rglob("*"))
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=True)
    output = result.output.strip()
    assert result.exit_code != 0, f"accepted: {output}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert output.startswith("Error: ") and "\n" not in output, output
    assert set(Path(tmp_path).rglob("*")) == before, "a failing command created files"


def test_health_reports_motherduck_offline_as_down_in_one_problem_line() -> None:
    result = CliRunner().invoke(main, ["health"], env={"DUCKDB_DATABASE_PATH": "md:x"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [problem] = [line for line in result.output.splitlines() if "does not open" in line]
    assert "MotherDuck is unreachable" in problem


def test_read_only_commands_create_no_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"DUCKDB_DATABASE_PATH": str(missing), "DAGSTER_HOME": str(home)}
    for args in (
        ["search", "recovery"],
        ["nearby", "--lat", "40", "--lon", "-75"],
        ["stats"],
        ["health"],
        ["backup", "status"],
        ["runs", "status"],
        ["scenario", "list"],
    ):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code != 0, (args, result.output)
        assert "Traceback" not in result.output
        assert not missing.parent.exists(), f"{args} created {missing.parent}"
        assert not (home / "storage").exists(), f"{args} created the Dagster storage"
    assert os.listdir(home) == ["dagster.yaml"]
