"""`narr-platform fhir-export`: a FHIR Bulk Data export from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from fhir_assets.export import EXPORT_DIR_ENV_VAR, default_export_root, export_bulk


@click.command("fhir-export")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Export root (default ${EXPORT_DIR_ENV_VAR} or data/exports/fhir).",
)
@click.option(
    "--group",
    default=None,
    help="A saved HealthSim scenario (name or id): export only its patients' resources.",
)
def fhir_export(out: Path | None, group: str | None) -> None:
    """A FHIR Bulk Data export: <Type>.ndjson and .parquet per resource type, and a manifest."""
    from resources import PlatformConfigError, build_resources

    try:
        warehouse = build_resources()["warehouse"]
    except PlatformConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    with warehouse.session() as session:
        try:
            folder, manifest = export_bulk(session, out or default_export_root(), group=group)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{folder}")
    for entry in manifest["output"] + manifest["error"]:
        click.echo(f"  {entry['type']:<18} {entry['count']:>12,}  {entry['url']}")
