"""ViewDefinitions as assets: each JSON file in the project's ``views/`` folder is a table.

``view_assets(folder)`` reads the folder when the code location loads (never at import),
validates every ViewDefinition (a broken file fails the load, naming the file and the
problem) and returns one asset per view: key ``fhir_views/<name>``, table
``fhir_views.<name>``, downstream of the resource table it reads, with the view's columns,
FHIR types and descriptions as its column schema. The asset compiles the view for the
deployment's engine and builds the table in one ``CREATE TABLE ... AS SELECT``.
"""

import os
import re
from pathlib import Path
from typing import Any

import dagster as dg

from fhir_assets.views.compiler import CompiledView, compile_view
from fhir_assets.views.fhirpath import ViewError
from fhir_assets.views.runner import compile_for, load_view
from fhir_assets.views.tables import resource_table
from resources import Warehouse
from resources.assets import WarehouseAssets
from resources.sql_files import load_sql

SCHEMA = "fhir_views"
VIEWS = WarehouseAssets(group_name="fhir_views", owners=["team:fhir"])
VIEWS_DIR_ENV_VAR = "PLATFORM_VIEWS_DIR"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def default_views_dir() -> Path:
    """``$PLATFORM_VIEWS_DIR``, else the project's top-level ``views/`` folder."""
    configured = os.environ.get(VIEWS_DIR_ENV_VAR)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "views"


def column_schema(compiled: CompiledView) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=(column.fhir_type or column.kind) + ("[]" if column.collection else ""),
                description=column.description,
            )
            for column in compiled.columns
        ]
    )


def _view_asset(path: Path, view: dict[str, Any]) -> dg.AssetsDefinition:
    name = view.get("name") or path.stem
    if not isinstance(name, str) or not _NAME.match(name):
        raise ViewError(f"{path}: view name {name!r} must be lower_snake_case.")
    try:
        source = resource_table(view.get("resource", ""))
        # Validated (and described) on DuckDB's dialect; each run compiles for its engine.
        compiled = compile_view(view, "duckdb", lambda _t: (source.table, source.json_column))
    except ViewError as exc:
        raise ViewError(f"{path}: {exc}") from None
    table = f"{SCHEMA}.{name}"
    schema = column_schema(compiled)
    description = view.get("description") or view.get("title") or f"ViewDefinition {name}"

    @VIEWS.asset(
        [SCHEMA, name],
        sql=compiled.sql,
        deps=[dg.AssetKey(list(source.asset_key))],
        kinds={"sql", "fhir"},
        column_schema=schema,
        description=f"{description}\n\nSQL on FHIR ViewDefinition `views/{path.name}` over "
        f"`{source.table}`.",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as session:
            engine_view = compile_for(view, session)
            summary = session.create_table_as_native(table, engine_view.sql)
        context.log.info(f"{table}: {summary.row_count} rows from {source.table}")
        return dg.MaterializeResult(
            metadata={
                **summary.metadata(),
                "dagster/column_schema": dg.MetadataValue.table_schema(schema),
            }
        )

    return _asset


def view_assets(folder: Path | None = None) -> list[dg.AssetsDefinition]:
    """One asset per ViewDefinition file of ``folder`` (sorted; none when it is absent)."""
    folder = default_views_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    assets = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        view = load_view(path)
        name = view.get("name") or path.stem
        if name in seen:
            raise ViewError(f"{path}: view name {name!r} is also used by {seen[name]}.")
        seen[name] = path
        assets.append(_view_asset(path, view))
    return assets


LATEST_VITALS_SQL = load_sql("fhir_assets.views.sql", "latest_vitals")


def latest_vitals_asset() -> dg.AssetsDefinition:
    """``fhir_views.latest_vitals``: each patient's latest value per vital sign.

    A ViewDefinition has no aggregation (by design), so "latest per patient" is SQL over the
    ``vital_signs`` view, run through the warehouse seam like any other asset.
    """
    table = f"{SCHEMA}.latest_vitals"

    @VIEWS.asset(
        [SCHEMA, "latest_vitals"],
        sql=LATEST_VITALS_SQL,
        deps=[dg.AssetKey([SCHEMA, "vital_signs"])],
        description="Each patient's latest value of each vital sign (LOINC code), from the "
        "vital_signs view (ties keep the smallest observation id).",
    )
    def latest_vitals(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as session:
            summary = session.create_table_as(table, LATEST_VITALS_SQL)
        return dg.MaterializeResult(metadata=summary.metadata())

    return latest_vitals


def view_definitions(folder: Path | None = None) -> dg.Definitions:
    """The views' assets as the FHIR domain's contribution (built when the location loads)."""
    assets = view_assets(folder)
    if any(a.key == dg.AssetKey([SCHEMA, "vital_signs"]) for a in assets):
        assets.append(latest_vitals_asset())
    return dg.Definitions(assets=assets)
