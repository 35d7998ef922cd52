"""`narr-platform`: the command line for operators and analysts.

Domain commands (search, FHIR export, scenarios, backups, ...) live beside their domain
and are attached to this group in :data:`COMMANDS`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from directory_assets.cli import COMMANDS as DIRECTORY_COMMANDS
from fhir_assets.cli import fhir_export
from fhir_assets.healthsim.scenarios.cli import scenario as healthsim_scenario
from fhir_assets.views.cli import view as sof_view
from narr_platform import sample_data
from reference_assets.cli import reference_check
from resources.deployment import PlatformConfigError
from resources.landing import DEFAULT_LANDING_DIR, LANDING_DIR_ENV_VAR
from schedules.cli import OPERATIONS_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    "--scale", type=float, default=1.0, show_default=True, help="Multiplies the directory size."
)
@click.option("--seed", type=int, default=sample_data.DEFAULT_SEED, show_default=True)
@click.option("--patients", type=int, default=100_000, show_default=True, help="FHIR patient rows.")
@click.option(
    "--reference",
    type=click.Choice(["default", "national"]),
    default="default",
    show_default=True,
    help="Reference data size: a few states in detail, or national tract/block-group files.",
)
@click.option("--healthsim-patients", type=int, default=1_000, show_default=True)
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
