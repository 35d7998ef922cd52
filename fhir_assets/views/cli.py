"""`narr-platform view`: run ViewDefinitions and the SQL on FHIR conformance suite."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fhir_assets.views.fhirpath import ViewError


def _json_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return str(value)


@click.group("view")
def view() -> None:
    """SQL on FHIR v2 ViewDefinitions (docs/sql-on-fhir.md)."""


@view.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many rows.")
@click.option("--sql", "show_sql", is_flag=True, help="Print the compiled SQL instead of rows.")
def view_run(file: Path, as_json: bool, limit: int | None, show_sql: bool) -> None:
    """Run the ViewDefinition FILE against the warehouse and print its rows."""
    from fhir_assets.views.runner import compile_for, load_view, run_view
    from resources import PlatformConfigError, build_resources

    try:
        warehouse = build_resources()["warehouse"]
    except PlatformConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        definition = load_view(file)
        with warehouse.session() as session:
            if show_sql:
                click.echo(compile_for(definition, session).sql)
                return
            compiled, rows = run_view(session, definition, limit)
    except ViewError as exc:
        raise click.ClickException(str(exc)) from exc
    names = [c.name for c in compiled.columns]
    if as_json:
        for row in rows:
            record = {}
            for column, value in zip(compiled.columns, row, strict=True):
                if column.kind == "json" and isinstance(value, str):
                    value = json.loads(value)
                record[column.name] = _json_value(value)
            click.echo(json.dumps(record))
        return
    from tabulate import tabulate

    click.echo(tabulate(rows, headers=names, tablefmt="simple", missingval="NULL"))
    click.echo(f"({len(rows)} rows)")


@view.command("conformance")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the test_report JSON.",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="spark: the Spark Connect / Databricks endpoint of the environment (SPARK_REMOTE, ...).",
)
def view_conformance(folder: Path, report: Path, engine: str) -> None:
    """Run every SQL on FHIR test file in FOLDER; write the specification's test_report."""
    from fhir_assets.views.conformance import run_suite, summary, test_report

    if engine == "duckdb":
        import duckdb

        from resources.warehouse import DuckDBSession

        connection = duckdb.connect()
        try:
            results = run_suite(DuckDBSession(connection), folder, engine)
        finally:
            connection.close()
    else:
        from resources import PlatformConfigError
        from resources.spark_warehouse import build_spark_warehouse

        try:
            warehouse = build_spark_warehouse()
        except PlatformConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        with warehouse.session() as session:
            results = run_suite(session, folder, engine)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(test_report(results), indent=2) + "\n")
    figures = summary(results)
    for result in results:
        if not result.passed:
            kind = "shareable" if result.shareable else "experimental"
            click.echo(f"FAIL [{kind}] {result.file}: {result.title}: {result.error}")
    click.echo(
        f"{engine}: {figures['shareable_passed']}/{figures['shareable']} shareable, "
        f"{figures['experimental_passed']}/{figures['experimental']} experimental passed; "
        f"report {report}"
    )
    if figures["shareable_passed"] != figures["shareable"]:
        sys.exit(1)
