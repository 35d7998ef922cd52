"""``narr-platform scenario save|load|list|tag|export|import|delete|migrate-legacy``.

Works on the local warehouse (``DUCKDB_DATABASE_PATH``); the scenario tables are created
or upgraded on first use.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import click

from fhir_assets.healthsim.scenarios.store import ScenarioError, ScenarioStore


@contextlib.contextmanager
def _store(read_only: bool = False) -> Iterator[ScenarioStore]:
    """The scenario store; readers (list, load, export) never create the warehouse."""
    from pathlib import Path

    from resources import local_warehouse

    warehouse = local_warehouse()
    if read_only and not Path(warehouse.database_path).is_file():
        raise click.ClickException(
            f"No warehouse at {warehouse.database_path}; run `make run` first."
        )
    with warehouse.session() as session:
        yield ScenarioStore(session)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("scenario")
def scenario() -> None:
    """Saved HealthSim scenarios: named, tagged sets of patients and their entities."""


@scenario.command("save")
@click.argument("name")
@click.option("--patient", "patients", multiple=True, help="Patient UUID (repeatable).")
@click.option(
    "--sample", type=click.IntRange(min=0), default=0, help="Or: the first N patients by id."
)
@click.option("--description", default=None)
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@click.option("--replace", is_flag=True, help="Overwrite a scenario of the same name.")
def save_command(
    name: str, patients: tuple[str, ...], sample: int, description: str | None,
    tags: tuple[str, ...], replace: bool,
) -> None:  # fmt: skip
    """Save patients (with their encounters, conditions, claims, ...) as scenario NAME."""
    from fhir_assets.healthsim.scenarios.capture import capture_patients

    with _store() as store:
        ids = list(patients)
        if sample:
            ids += [
                r[0]
                for r in store.session.fetch_rows(
                    "SELECT patient_id FROM healthsim.patients ORDER BY patient_id LIMIT ?",
                    [sample],
                )
            ]
        if not ids:
            raise click.UsageError("Give --patient ID (repeatable) or --sample N.")
        try:
            entities = capture_patients(store.session, ids)
            saved = store.save(name, entities, description, tags=tags, replace=replace)
        except (ScenarioError, ValueError) as exc:
            raise _fail(exc) from exc
    click.echo(f"Saved {saved['name']} ({saved['scenario_id']}): {len(entities)} entities")


@scenario.command("load")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole scenario document.")
def load_command(name: str, as_json: bool) -> None:
    """Load scenario NAME: its fields, tags and entities by type (or the full document)."""
    with _store(read_only=True) as store:
        try:
            document = store.document(name)
        except ScenarioError as exc:
            raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    info = document["scenario"]
    click.echo(f"{info['name']} ({info['scenario_id']}), updated {info['updated_at']}")
    click.echo(f"  {info['description'] or ''}")
    click.echo(f"  tags: {', '.join(document['tags']) or '-'}")
    counts: dict[str, int] = {}
    for entity in document["entities"]:
        counts[entity["entity_type"]] = counts.get(entity["entity_type"], 0) + 1
    for entity_type, count in sorted(counts.items()):
        click.echo(f"  {entity_type:<12} {count:>6}")


@scenario.command("list")
@click.option("--tag", default=None, help="Only scenarios with this tag.")
def list_command(tag: str | None) -> None:
    """List scenarios (optionally by tag) with entity counts and tags."""
    with _store(read_only=True) as store:
        rows = store.list(tag)
    for row in rows:
        click.echo(f"{row['name']:<32} {row['entities']:>7} entities  [{', '.join(row['tags'])}]")
    if not rows:
        click.echo("(no scenarios)")


@scenario.command("tag")
@click.argument("name")
@click.argument("tags", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Remove the tags instead of adding them.")
def tag_command(name: str, tags: tuple[str, ...], remove: bool) -> None:
    """Add (or --remove) TAGS on scenario NAME."""
    with _store() as store:
        try:
            now = store.tag(name, tags, remove=remove)
        except ScenarioError as exc:
            raise _fail(exc) from exc
    click.echo(f"{name}: {', '.join(now) or '(no tags)'}")


@scenario.command("export")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File (default stdout).")
def export_command(name: str, out: Path | None) -> None:
    """Export scenario NAME as canonical JSON."""
    with _store(read_only=True) as store:
        try:
            text = store.export_json(name)
        except ScenarioError as exc:
            raise _fail(exc) from exc
    if out is None:
        click.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}")


@scenario.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import a scenario JSON file; an existing scenario is merged (latest wins by entity UUID)."""
    with _store() as store:
        try:
            report = store.import_json(file.read_text(encoding="utf-8"))
        except ScenarioError as exc:
            raise _fail(exc) from exc
    click.echo(json.dumps(report.summary(), indent=2))


@scenario.command("delete")
@click.argument("name")
def delete_command(name: str) -> None:
    """Delete scenario NAME with its entities and tags."""
    with _store() as store:
        if not store.delete(name):
            raise click.ClickException(f"No scenario named {name!r}.")
    click.echo(f"Deleted {name}")


@scenario.command("migrate-legacy")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def migrate_legacy_command(folder: Path) -> None:
    """Migrate a folder of legacy scenario JSON files (same as the Dagster job)."""
    from fhir_assets.healthsim.scenarios.legacy import migrate_legacy_folder

    with _store() as store:
        report = migrate_legacy_folder(store, folder)
    click.echo(json.dumps(report.summary(), indent=2))
