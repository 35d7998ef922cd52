"""Run a ViewDefinition file against the warehouse: compile for its engine, query in-engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir_assets.views.compiler import CompiledView, compile_view
from fhir_assets.views.fhirpath import ViewError
from fhir_assets.views.tables import resource_table
from resources.warehouse import WarehouseSession


def load_view(path: Path) -> dict[str, Any]:
    """A ViewDefinition JSON file; ViewError naming the file when it is not one."""
    try:
        view = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ViewError(f"{path}: not a readable JSON ViewDefinition ({exc}).") from None
    if not isinstance(view, dict):
        raise ViewError(f"{path}: a ViewDefinition must be a JSON object.")
    return view


def compile_for(view: dict[str, Any], session: WarehouseSession) -> CompiledView:
    """The view as one SELECT in the session's engine over the platform's resource tables."""

    def table_for(resource_type: str) -> tuple[str, str]:
        table = resource_table(resource_type)
        return session.qualified_name(table.table), table.json_column

    return compile_view(view, session.engine, table_for)


def run_view(
    session: WarehouseSession, view: dict[str, Any], limit: int | None = None
) -> tuple[CompiledView, list[tuple[Any, ...]]]:
    compiled = compile_for(view, session)
    sql = (
        compiled.sql if limit is None else f"SELECT * FROM ({compiled.sql}) AS v LIMIT {int(limit)}"
    )
    return compiled, session.fetch_rows_native(sql)
