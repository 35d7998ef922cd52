"""The directory's tables and views built from the staged sources, inside the engine."""

import time

import dagster as dg

from directory_assets import network_rounds, organizations_sql, snapshot, views_sql
from directory_assets.audits import ORGANIZATION_AUDITS, subtype_audits
from directory_assets.search_index import SOURCE_SQL as SEARCH_SOURCE_SQL
from directory_assets.staging import DIRECTORY, STAGING_ASSETS
from resources import Warehouse
from resources.publish import audit_specs, audited

STAGING_KEYS = [a.key for a in STAGING_ASSETS.values()]
ORGANIZATIONS_KEY = dg.AssetKey(["directory", "organizations"])
SUBTYPES = ("treatment_centers", "narr_residences", "recovery_centers", "recovery_organizations")
SUBTYPE_KEYS = {name: dg.AssetKey(["directory", name]) for name in SUBTYPES}


@DIRECTORY.asset(
    ORGANIZATIONS_KEY,
    deps=STAGING_KEYS,
    sql=organizations_sql.organizations_sql(),
    check_specs=audit_specs(ORGANIZATIONS_KEY, ORGANIZATION_AUDITS),
    description=(
        "The master directory: one row per recovery-support organization (treatment center, "
        "NARR recovery residence, recovery community center or organization) with a stable "
        "`org_id`, USPS state, 5-digit ZIP, coordinates and their geohash. An organization "
        "listed by two sources appears once; `listed_as` names every source type."
    ),
)
@audited
def organizations(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.session() as session:
        published = session.publish(
            "directory.organizations", organizations_sql.organizations_sql(), ORGANIZATION_AUDITS
        )
        summary = published.summary
        by_type = session.fetch_rows(
            "SELECT org_type, count(*) FROM directory.organizations GROUP BY 1 ORDER BY 1"
        )
        merged, located, zip_elsewhere, coordinates_elsewhere = session.fetch_rows(
            "SELECT count(*) FILTER (WHERE array_length(listed_as) > 1), count(latitude), "
            "count(zip_state_issue), count(coordinate_issue) FROM directory.organizations"
        )[0]
        staged = sum(session.row_count(f"directory.stg_{name}") for name in SUBTYPES)
    context.log.info(f"{summary.row_count} organizations from {staged} staged listings")
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **summary.metadata(),
            "by_type": dg.MetadataValue.json({t: int(n) for t, n in by_type}),
            "staged_listings": dg.MetadataValue.int(staged),
            "merged_duplicate_listings": dg.MetadataValue.int(staged - summary.row_count),
            "organizations_listed_by_several_sources": dg.MetadataValue.int(int(merged)),
            "with_coordinates": dg.MetadataValue.int(int(located)),
            "zip_not_in_state": dg.MetadataValue.int(int(zip_elsewhere)),
            "coordinates_flagged": dg.MetadataValue.int(int(coordinates_elsewhere)),
        },
    )


@DIRECTORY.asset(
    ["directory", "merge_conflicts"],
    deps=STAGING_KEYS,
    sql=organizations_sql.merge_conflicts_sql(),
    description=(
        "What the merge into directory.organizations decided, so no value is lost silently: "
        "`field_values_differ` = listings of the same organization (same name and address) "
        "disagree on a field (phone, website, email, ZIP, coordinates); `chosen_value` is "
        "the value organizations keeps (the treatment-center listing wins, then NARR, RCC, "
        "RCO, then file order), `all_values` every value seen. `source_id_shared` = one "
        "source record id used by several different organizations (flagged, both kept)."
    ),
)
def merge_conflicts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        summary = session.create_table_as(
            "directory.merge_conflicts", organizations_sql.merge_conflicts_sql()
        )
        by_kind = session.fetch_rows(
            "SELECT conflict, field, count(*) FROM directory.merge_conflicts "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
    if summary.row_count:
        context.log.warning(f"{summary.row_count} merge conflicts; see directory.merge_conflicts")
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            "by_kind": dg.MetadataValue.json({f"{k}:{f}": int(n) for k, f, n in by_kind}),
        }
    )


_SUBTYPE_DESCRIPTIONS = {
    "treatment_centers": "Treatment-center details per organization: level of care, services "
    "(MAT, OTP, therapies), populations served, payment options, capacities, licensing.",
    "narr_residences": "NARR recovery-residence details per organization: certification "
    "level (I-IV), capacity in beds (parsed from text such as '12 beds'), specializations.",
    "recovery_centers": "Recovery community center details per organization: services, "
    "funding, annual reach, target populations, operating hours, leadership.",
    "recovery_organizations": "Recovery community organization details per organization: "
    "advocacy services, funding, annual reach, target populations, leadership.",
}


def build_subtype_asset(name: str) -> dg.AssetsDefinition:
    audits = subtype_audits(name)

    @DIRECTORY.asset(
        SUBTYPE_KEYS[name],
        deps=[dg.AssetKey(["directory", f"stg_{name}"]), ORGANIZATIONS_KEY],
        sql=organizations_sql.SUBTYPE_SQL[name],
        description=_SUBTYPE_DESCRIPTIONS[name] + " Linked to `organizations` by `org_id`.",
        check_specs=audit_specs(SUBTYPE_KEYS[name], audits),
    )
    @audited
    def _subtype(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        published = warehouse.publish(
            f"directory.{name}", organizations_sql.SUBTYPE_SQL[name], audits
        )
        context.log.info(f"directory.{name}: {published.summary.row_count} rows")
        return dg.MaterializeResult(
            metadata=published.metadata(), check_results=published.check_results
        )

    return _subtype


SUBTYPE_ASSETS = {name: build_subtype_asset(name) for name in SUBTYPES}
NETWORK_KEY = dg.AssetKey(["directory", "network_relationships"])


@DIRECTORY.asset(
    NETWORK_KEY,
    deps=[ORGANIZATIONS_KEY],
    sql=network_rounds.statements(),
    description=(
        f"For each organization with coordinates, its nearest {network_rounds.MAX_NEIGHBORS} "
        f"organizations within {network_rounds.MAX_MILES:g} miles (great-circle distance), "
        "with rank, distance and a 0-1 strength score (proximity, complementary type, same "
        "state). Precomputed so a network lookup is a read of one organization's rows."
    ),
)
def network_relationships(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    started = time.monotonic()
    resolved_by_radius: dict[str, int] = {}
    with warehouse.session() as session:
        for sql in network_rounds.SETUP_SQL:
            session.execute(sql)
        organizations = session.row_count("net_open")
        for radius, pairs_sql, keep_sql, close_sql in network_rounds.rounds(organizations):
            session.execute(pairs_sql)
            session.execute(keep_sql)
            session.execute(close_sql)
            still_open = session.row_count("net_open")
            label = f"{radius:g} mi"
            resolved_by_radius[label] = 0
            resolved_by_radius[label] = (
                organizations - still_open - sum(resolved_by_radius.values())
            )
            context.log.info(f"radius {label}: {still_open} organizations still open")
        summary = session.create_table_as(
            "directory.network_relationships", network_rounds.NETWORK_SQL
        )
        orgs_with_network, avg_neighbours = session.fetch_rows(
            "SELECT count(DISTINCT org_id), round(count(*) / greatest(count(DISTINCT org_id), 1), 2) "
            "FROM directory.network_relationships"
        )[0]
    seconds = time.monotonic() - started
    context.log.info(f"{summary.row_count} relationships in {seconds:.1f}s")
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            "organizations_with_neighbours": dg.MetadataValue.int(int(orgs_with_network)),
            "average_neighbours": dg.MetadataValue.float(float(avg_neighbours or 0)),
            "resolved_by_radius": dg.MetadataValue.json(resolved_by_radius),
            "max_neighbours": dg.MetadataValue.int(network_rounds.MAX_NEIGHBORS),
            "max_miles": dg.MetadataValue.float(network_rounds.MAX_MILES),
            "seconds": dg.MetadataValue.float(round(seconds, 2)),
        }
    )


REJECTED_KEY = dg.AssetKey(["directory", "rejected_records"])


@DIRECTORY.asset(
    REJECTED_KEY,
    deps=STAGING_KEYS,
    sql=views_sql.REJECTED_RECORDS_SQL,
    description=(
        "Quarantine: every source record that could not be used (not an object, missing "
        "name, a field of the wrong type, an unrecognized state) with its source, file, "
        "position in the file, the raw record and the reason. Nothing is silently dropped: "
        "staged + rejected = source records."
    ),
)
def rejected_records(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        summary = session.create_table_as(
            "directory.rejected_records", views_sql.REJECTED_RECORDS_SQL
        )
        by_source = session.fetch_rows(
            "SELECT source_name, count(*) FROM directory.rejected_records GROUP BY 1 ORDER BY 1"
        )
        by_reason = session.fetch_rows(
            "SELECT split_part(reason, ':', 1), count(*) FROM directory.rejected_records "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    context.log.info(f"{summary.row_count} rejected records")
    return dg.MaterializeResult(
        metadata={
            **summary.metadata(),
            "by_source": dg.MetadataValue.json({s: int(n) for s, n in by_source}),
            "by_reason": dg.MetadataValue.json({r: int(n) for r, n in by_reason}),
        }
    )


def build_view_asset(name: str, description: str, sql: str) -> dg.AssetsDefinition:
    @DIRECTORY.asset(
        ["directory", name],
        deps=[ORGANIZATIONS_KEY, *SUBTYPE_KEYS.values()],
        sql=sql,
        description=description,
    )
    def _view(warehouse: Warehouse) -> dg.MaterializeResult:
        summary = warehouse.create_view_as(f"directory.{name}", sql)
        return dg.MaterializeResult(metadata=summary.metadata())

    return _view


VIEW_ASSETS = [
    build_view_asset(name, description, sql) for name, (description, sql) in views_sql.VIEWS.items()
]


SEARCH_INDEX_KEY = dg.AssetKey(["directory", "search_index"])


@DIRECTORY.asset(
    SEARCH_INDEX_KEY,
    sql=SEARCH_SOURCE_SQL,
    deps=[
        ORGANIZATIONS_KEY,
        *SUBTYPE_KEYS.values(),
        NETWORK_KEY,
        *(view.key for view in VIEW_ASSETS),
    ],
    kinds={"tantivy", "parquet"},
    description=(
        "The published directory snapshot the API (`narr-platform serve`) and `narr-platform "
        "search` read: the directory tables and views exported to Parquet, a read-only DuckDB "
        "copy and a tantivy full-text index (BM25 over name, DBA names, city and address; "
        "prefixes; one typo per word) in a new version folder under `DIRECTORY_SNAPSHOT_DIR`, "
        "then `current.json` swapped atomically. Readers never open the warehouse."
    ),
)
def search_index(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.monotonic()
    with warehouse.session() as session:
        manifest = snapshot.publish(
            session,
            warehouse_path=getattr(warehouse, "database_path", None),
            log=context.log.info,
        )
    return dg.MaterializeResult(
        metadata={
            "version": dg.MetadataValue.text(manifest.version),
            "published_at": dg.MetadataValue.text(manifest.published_at),
            "folder": dg.MetadataValue.path(str(manifest.folder)),
            "search_documents": dg.MetadataValue.int(manifest.search_documents),
            "tables": dg.MetadataValue.json(manifest.tables),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 2)),
        }
    )
