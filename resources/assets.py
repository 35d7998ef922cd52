"""The asset helper every domain uses for the assets that write the warehouse.

One call sets what every domain used to repeat in each decorator block::

    FHIR = WarehouseAssets(group_name="fhir", owners=["team:fhir"])

    @FHIR.asset(key=["fhir", "patient_data"], description="...", sql=PATIENT_DATA_SQL)
    def patient_data(warehouse: Warehouse) -> dg.MaterializeResult: ...

- ``pool=WAREHOUSE_POOL``: the warehouse takes one writer at a time (dagster_home/dagster.yaml).
- ``group_name`` and ``owners`` of the domain.
- ``code_version`` computed from the SQL text the asset runs, so editing a ``.sql`` file
  marks the asset unsynced in the UI until it is materialized again.
- ``kinds``: what the asset is made of (``sql``, ``pandas``, ...). The engine kind is not
  written here: the code location adds it when it loads (:func:`with_engine_kinds`), after
  the deployment is known, so the Databricks deployment is labelled ``databricks``/``spark``
  and the local one ``duckdb``, and importing a domain reads no environment.
- description, the column schema (``dagster/column_schema``), tags, deps and
  ``automation_condition`` are passed through.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from resources.deployment import Deployment
from resources.warehouse import WAREHOUSE_POOL

#: The engine kinds of each deployment, added to every asset of the warehouse pool.
ENGINE_KINDS: Mapping[Deployment, frozenset[str]] = {
    Deployment.LOCAL: frozenset({"duckdb"}),
    Deployment.DATABRICKS: frozenset({"databricks", "spark"}),
}

COLUMN_SCHEMA_KEY = "dagster/column_schema"

ColumnSchema = dg.TableSchema | Sequence[dg.TableColumn]


def sql_code_version(*sql: str) -> str:
    """A short digest of the SQL an asset runs: it changes when (and only when) the SQL does.

    Surrounding whitespace is ignored so an added trailing newline does not count as a change.
    """
    digest = hashlib.sha256()
    for text in sql:
        digest.update(text.strip().encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _column_schema(columns: ColumnSchema) -> dg.TableSchema:
    if isinstance(columns, dg.TableSchema):
        return columns
    return dg.TableSchema(columns=list(columns))


def warehouse_asset(
    key: dg.CoercibleToAssetKey,
    *,
    group_name: str,
    owners: Sequence[str],
    description: str,
    sql: str | Sequence[str] = (),
    code_version: str | None = None,
    deps: Iterable[Any] = (),
    kinds: Iterable[str] = ("sql",),
    column_schema: ColumnSchema | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    automation_condition: dg.AutomationCondition | None = None,
    **asset_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dg.asset`` for an asset that writes the warehouse (directly or via the IO manager).

    ``sql`` is the statement text(s) the asset runs; its digest becomes the ``code_version``
    unless one is given. Any other ``dg.asset`` argument passes through ``asset_kwargs``.
    """
    statements = (sql,) if isinstance(sql, str) else tuple(sql)
    if code_version is None and statements:
        code_version = sql_code_version(*statements)
    all_metadata = dict(metadata or {})
    if column_schema is not None:
        all_metadata[COLUMN_SCHEMA_KEY] = _column_schema(column_schema)
    return dg.asset(
        key=key,
        group_name=group_name,
        owners=list(owners),
        description=description,
        code_version=code_version,
        deps=list(deps),
        kinds=set(kinds),
        metadata=all_metadata or None,
        tags=dict(tags) if tags else None,
        automation_condition=automation_condition,
        pool=WAREHOUSE_POOL,
        **asset_kwargs,
    )


@dataclasses.dataclass(frozen=True)
class WarehouseAssets:
    """A domain's group and owners, so its decorators name only what differs per asset."""

    group_name: str
    owners: Sequence[str]

    def asset(
        self, key: dg.CoercibleToAssetKey, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
        """:func:`warehouse_asset` with this domain's group and owners."""
        kwargs.setdefault("group_name", self.group_name)
        kwargs.setdefault("owners", self.owners)
        return warehouse_asset(key, **kwargs)


def writes_warehouse(asset: Any) -> bool:
    """An executable asset whose step runs in the warehouse pool."""
    if not isinstance(asset, dg.AssetsDefinition) or not asset.is_executable:
        return False
    node = asset.node_def
    return isinstance(node, dg.OpDefinition) and node.pool == WAREHOUSE_POOL


def with_engine_kinds(defs: dg.Definitions, deployment: Deployment) -> dg.Definitions:
    """``defs`` with the deployment's engine kinds added to every asset of the warehouse pool."""
    engine = ENGINE_KINDS[deployment]

    def add_engine(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.merge_attributes(kinds=set(engine))

    assets = [
        asset.map_asset_specs(add_engine) if writes_warehouse(asset) else asset
        for asset in defs.assets or []
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )
