"""`narr-platform`: the command line for operators and analysts.

Domain commands (search, FHIR export, scenarios, backups, ...) live beside their domain
and are attached to this group in :data:`COMMANDS`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from directory_assets.cli import COMMANDS as DIRECTORY_COMMANDS
from fhir_assets.cli import fhir_export
from fhir_assets.healthsim.scenarios.cli import scenario as healthsim_scenario
from fhir_assets.views.cli import view as sof_view
from narr_platform import sample_data
from reference_assets.cli import reference_check
from resources.cli_types import FiniteFloatRange
from resources.deployment import PlatformConfigError
from resources.landing import DEFAULT_LANDING_DIR, LANDING_DIR_ENV_VAR
from schedules.cli import OPERATIONS_COMMANDS

#: Commands that read or write the local DuckDB file (or this machine's backups) and so
#: have nothing to work on in the databricks deployment.
LOCAL_ONLY_COMMANDS = frozenset(
    {"nearby", "search", "health", "stats", "backup", "restore", "scenario", "summary"}
)
DEBUG_ENV_VAR = "NARR_PLATFORM_DEBUG"


class PlatformGroup(click.Group):
    """Every failure ends as one ``Error: ...`` line and a non-zero exit, never a traceback.

    Settings are validated before any command runs (a malformed variable is named); a
    local-only command says so in the databricks deployment; failures an operator can act
    on (warehouse busy, out of memory, MotherDuck unreachable, a folder that cannot be
    written) are explained by ``resources.errors.explain``; anything else is one line with
    its type, and ``NARR_PLATFORM_DEBUG=1`` shows the traceback.
    """

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not ctx.resilient_parsing and not _asks_for_help(rest):
            _check_settings(command.name or "")
        return name, command, rest

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Click's standalone mode, except that usage errors are one line too."""
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Error: aborted.", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV_VAR):
                raise
            from resources.errors import explain, first_line

            message = explain(exc) or f"{type(exc).__name__}: {first_line(exc)}"
            raise click.ClickException(message) from exc


def _asks_for_help(args: list[str]) -> bool:
    return any(a in ("-h", "--help") for a in args)


def _check_settings(command: str) -> None:
    """Validate the deployment and the local settings the command is about to use."""
    from resources.deployment import Deployment, current_deployment

    deployment = current_deployment()
    if command in LOCAL_ONLY_COMMANDS and deployment is not Deployment.LOCAL:
        raise click.ClickException(
            f"`{command}` works on the local DuckDB warehouse only; PLATFORM_DEPLOYMENT="
            f"{deployment.value} keeps the warehouse in Spark/Databricks (unset it, or set it "
            "to local, to use the local file)."
        )
    if deployment is Deployment.LOCAL and command != "sample-data":
        from resources.duckdb_settings import DuckDBSettings

        DuckDBSettings.from_env()


@click.group(cls=PlatformGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="narr-platform")
def main() -> None:
    """Recovery-services directory, FHIR and reference data platform."""


@main.command("sample-data")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder [default: $PLATFORM_LANDING_DIR, else data/landing: where the "
    "platform reads].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write even if the landing folders hold files sample-data did not write "
    "(same-named files are replaced, the others kept).",
)
@click.option(
    "--scale",
    type=FiniteFloatRange(min=0, min_open=True, max=1000),
    default=1.0,
    show_default=True,
    help="Multiplies the directory size.",
)
@click.option(
    "--seed", type=click.IntRange(0, 2**32 - 1), default=sample_data.DEFAULT_SEED, show_default=True
)
@click.option(
    "--patients",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="FHIR patient rows.",
)
@click.option(
    "--reference",
    type=click.Choice(["default", "national"]),
    default="default",
    show_default=True,
    help="Reference data size: a few states in detail, or national tract/block-group files.",
)
@click.option("--healthsim-patients", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--only", multiple=True, help="Generate only these sources (repeatable).")
def sample_data_command(
    out: Path | None,
    force: bool,
    scale: float,
    seed: int,
    patients: int,
    reference: str,
    healthsim_patients: int,
    only: tuple[str, ...],
) -> None:
    """Write deterministic sample source files into OUT/<source>/.

    Only files sample-data wrote before (its manifest) are replaced; a folder holding
    anything else is refused, naming the files, unless --force.
    """
    if out is None:
        out = Path(os.environ.get(LANDING_DIR_ENV_VAR) or DEFAULT_LANDING_DIR)
    request = sample_data.SampleDataRequest(
        out=out.resolve(),
        seed=seed,
        scale=scale,
        patients=patients,
        reference=reference,
        healthsim_patients=healthsim_patients,
    )
    try:
        written = sample_data.generate(request, only, force=force)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for source, paths in written.items():
        size = sum(p.stat().st_size for p in paths)
        click.echo(f"{source:<32} {len(paths):>3} file(s) {size / 1e6:>9.1f} MB")


@main.command("summary")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def summary_command(as_json: bool) -> None:
    """Tables with row counts, the latest asset-check results and how to open the UI."""
    from narr_platform.summary import build_summary, render_summary

    try:
        report = build_summary()
    except PlatformConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo(render_summary(report))
    if report["checks_failed"]:
        sys.exit(1)


#: Domain command groups, attached below. Each is a ``click.Command``.
COMMANDS: list[click.Command] = []
COMMANDS.append(healthsim_scenario)  # scenario save|load|list|tag|export|import|delete
COMMANDS.extend(DIRECTORY_COMMANDS)  # nearby, search (directory_assets/cli.py)
COMMANDS.extend(OPERATIONS_COMMANDS)  # backup, restore, health, stats (schedules/cli.py)
COMMANDS.append(fhir_export)  # fhir-export (fhir_assets/cli.py)
COMMANDS.append(reference_check)  # reference-check (reference_assets/cli.py)
COMMANDS.append(sof_view)  # view run|conformance (fhir_assets/views/cli.py)
for command in COMMANDS:
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
