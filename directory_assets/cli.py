"""`narr-platform nearby` and `narr-platform search`: the directory for people at a terminal."""

from __future__ import annotations

import json
from typing import Any

import click

from directory_assets import queries
from resources.cli_types import FiniteFloatRange
from resources.warehouse import WarehouseBusyError, WarehouseMissingError

_TABLE_COLUMNS = ("name", "org_type", "street", "city", "state", "zip_code", "phone")


def _warehouse():
    from resources import PlatformConfigError, local_warehouse

    try:
        return local_warehouse(read_only=True)
    except PlatformConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _render(rows: list[dict[str, Any]], first: str | None, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("No organizations found.")
        return
    from tabulate import tabulate

    columns = ([first] if first else []) + list(_TABLE_COLUMNS)
    click.echo(tabulate([[r.get(c) for c in columns] for r in rows], headers=columns))
    click.echo(f"\n{len(rows)} organization(s)")


def _run(fn, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    try:
        return fn(_warehouse(), *args, **kwargs)
    except queries.QueryError as exc:
        raise click.UsageError(str(exc)) from exc
    except (WarehouseBusyError, WarehouseMissingError) as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # a missing warehouse or table: say what to do
        if (
            "does not exist" in str(exc)
            or "Catalog Error" in str(exc)
            or "No such file" in str(exc)
        ):
            raise click.ClickException(
                f"The directory is not built yet ({str(exc).splitlines()[0]}); run `make run`."
            ) from exc
        raise


@click.command("nearby")
@click.option(
    "--lat", type=FiniteFloatRange(-90, 90), required=True, help="Latitude of the center point."
)
@click.option(
    "--lon", type=FiniteFloatRange(-180, 180), required=True, help="Longitude of the center point."
)
@click.option(
    "--miles",
    type=FiniteFloatRange(min=0, min_open=True, max=25_000),
    default=10.0,
    show_default=True,
    help="Search radius.",
)
@click.option("--type", "org_type", type=click.Choice(queries.ORG_TYPES), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=25, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def nearby_command(
    lat: float, lon: float, miles: float, org_type: str | None, limit: int, as_json: bool
) -> None:
    """Organizations within --miles of a point (great-circle distance), nearest first."""
    rows = _run(queries.nearby, lat, lon, miles=miles, limit=limit, org_type=org_type)
    _render(rows, "distance_miles", as_json)


@click.command("search")
@click.argument("text")
@click.option("--state", default=None, help="USPS code or state name.")
@click.option("--service", type=click.Choice(sorted(queries.SERVICES)), default=None)
@click.option("--payment", type=click.Choice(sorted(queries.PAYMENTS)), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=25, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def search_command(
    text: str,
    state: str | None,
    service: str | None,
    payment: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Relevance search of names, DBA names, cities and addresses in the published snapshot.

    Words in any order, prefixes (pitts) and one typo per word (recvery) match; name hits
    rank above address hits. Reads the search index that `make run` publishes, never the
    warehouse, so it works while the pipeline writes.
    """
    from directory_assets import snapshot
    from directory_assets.search_index import SearchIndex

    try:
        index = SearchIndex(snapshot.current(snapshot.snapshot_root()).search_folder)
        rows = queries.search(
            index, text, state=state, service=service, payment=payment, limit=limit
        )
    except snapshot.SnapshotMissingError as exc:
        raise click.ClickException(f"{exc} (`make run`).") from exc
    except queries.QueryError as exc:
        raise click.UsageError(str(exc)) from exc
    _render(rows, None, as_json)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True)
@click.option("--log-level", default="info", show_default=True)
def serve_command(host: str, port: int, workers: int, log_level: str) -> None:
    """The directory API and search page (FastAPI under uvicorn), from the published snapshot.

    Open http://HOST:PORT/ for the search page and /docs for the API. Set NARR_API_TOKEN to
    enable /api/v1/statistics and /api/v1/query (bearer token). The snapshot folder is
    DIRECTORY_SNAPSHOT_DIR (default: directory_snapshot/ beside the warehouse file).
    """
    from directory_assets.api.app import serve

    serve(host, port, workers=workers, log_level=log_level)


COMMANDS = [nearby_command, search_command, serve_command]
