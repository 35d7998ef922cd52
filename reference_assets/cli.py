"""`narr-platform reference-check`: validate landed reference files before a load."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from reference_assets.layouts import (
    ADI_SCHEMA,
    ADI_SOURCE,
    PLACES_COUNTY_SCHEMA,
    PLACES_SOURCE,
    PLACES_TRACT_SCHEMA,
    SVI_SCHEMA,
    SVI_SOURCE,
    header_problems,
    is_tract_file,
    read_header,
)
from resources.landing import DEFAULT_LANDING_DIR, LANDING_DIR_ENV_VAR


def expected_layout(source: str, path: Path) -> list[str]:
    """The columns a landed file of ``source`` must have, in order."""
    if source == PLACES_SOURCE:
        return list(PLACES_TRACT_SCHEMA if is_tract_file(path) else PLACES_COUNTY_SCHEMA)
    return list(SVI_SCHEMA if source == SVI_SOURCE else ADI_SCHEMA)


@click.command("reference-check")
@click.option(
    "--landing",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help=f"Landing root (default: ${LANDING_DIR_ENV_VAR} or {DEFAULT_LANDING_DIR}).",
)
def reference_check(landing: Path | None) -> None:
    """Check the header of every landed PLACES, SVI and ADI file against its layout.

    Exits 1 when a file would be refused by the load, naming its missing, unexpected or
    reordered columns.
    """
    root = landing or Path(os.environ.get(LANDING_DIR_ENV_VAR, "").strip() or DEFAULT_LANDING_DIR)
    if not root.is_dir():
        raise click.ClickException(f"No landing folder at {root}; run `narr-platform sample-data`.")
    bad = 0
    seen = 0
    for source in (PLACES_SOURCE, SVI_SOURCE, ADI_SOURCE):
        for path in sorted((root / source).glob("*.csv")):
            seen += 1
            problems = header_problems(read_header(path), expected_layout(source, path))
            bad += bool(problems)
            status = "refused: " + "; ".join(problems) if problems else "ok"
            click.echo(f"{source}/{path.name}: {status}")
    if not seen:
        click.echo(f"No reference files under {root}/reference.")
    click.echo(f"{seen - bad} of {seen} file(s) match their layout.")
    if bad:
        sys.exit(1)
