"""The OHDSI-style star schema in ``analytics``, built in-engine from the canonical tables.

Dimensions carry an unknown member with key -1; every fact foreign key is a dimension key
or -1, and every date key is YYYYMMDD in ``dim_date``. The SQL is in ``sql/<table>.sql``;
the tables and their relationships are declared once, in ``schema.py``.
"""

import dagster as dg

from fhir_assets.healthsim.star.checks import FACT_SOURCES, dimension_audits, fact_audits
from fhir_assets.healthsim.star.schema import STAR_TABLES, StarTable
from resources import Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.publish import audit_specs, audited
from resources.sql_files import load_sql

# The star schema is what analysts query: the analytics team owns it (HealthSim owns the
# canonical tables it is built from).
ANALYTICS = WarehouseAssets(group_name="analytics", owners=["team:analytics"])
STAR_SQL_PACKAGE = "fhir_assets.healthsim.star.sql"
DIRECTORY_ORGANIZATIONS = "directory.organizations"


def register_facility_directory(session: WarehouseSession) -> bool:
    """The ``facility_directory`` view: located directory organizations, or none."""
    if session.table_exists(DIRECTORY_ORGANIZATIONS):
        session.execute(
            "CREATE OR REPLACE TEMP VIEW facility_directory AS SELECT org_id, name, "
            f"latitude, longitude FROM {DIRECTORY_ORGANIZATIONS} "
            "WHERE latitude IS NOT NULL AND longitude IS NOT NULL"
        )
        return True
    session.execute(
        "CREATE OR REPLACE TEMP VIEW facility_directory AS SELECT CAST(NULL AS VARCHAR) AS "
        "org_id, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS DOUBLE) AS latitude, "
        "CAST(NULL AS DOUBLE) AS longitude WHERE 1 = 0"
    )
    return False


def build_star_asset(table: StarTable) -> dg.AssetsDefinition:
    target = f"analytics.{table.name}"
    audits = fact_audits(table.name) if table.name in FACT_SOURCES else dimension_audits(table.name)

    @ANALYTICS.asset(
        table.key,
        sql=load_sql(STAR_SQL_PACKAGE, table.name),
        deps=list(table.deps),
        description=table.description,
        check_specs=audit_specs(table.key, audits) or None,
    )
    @audited
    def _star(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        extra: dict[str, object] = {}
        with warehouse.session() as session:
            if table.name == "dim_facility":
                found = register_facility_directory(session)
                if not found:
                    context.log.warning(
                        f"{DIRECTORY_ORGANIZATIONS} is not loaded: no facility is matched "
                        "to the directory"
                    )
            source = FACT_SOURCES.get(table.name)
            files = (
                [r[0] for r in session.fetch_rows(f"SELECT DISTINCT source_file FROM {source}")]
                if source
                else []
            )
            published = session.publish(
                target, load_sql(STAR_SQL_PACKAGE, table.name), audits, sources=files
            )
            summary = published.summary
            if table.name == "dim_facility":
                extra["matched_to_directory"] = int(
                    session.fetch_rows(f"SELECT count(directory_org_id) FROM {target}")[0][0]
                )
            if table.name == "fact_encounters":
                readmissions, deaths = session.fetch_rows(
                    f"SELECT count(*) FILTER (WHERE readmission_30d), "
                    f"count(*) FILTER (WHERE mortality_flag) FROM {target}"
                )[0]
                extra.update(readmissions_30d=int(readmissions), mortality_flags=int(deaths))
        context.log.info(f"Built {target}: {summary.row_count} rows")
        return dg.MaterializeResult(
            metadata={**summary.metadata(), **extra}, check_results=published.check_results
        )

    return _star


STAR_ASSETS = [build_star_asset(t) for t in STAR_TABLES]
