"""``reference.ref_geography``: one row per county, the join target of every other domain."""

import dagster as dg

from reference_assets.adi import ref_adi_blockgroup
from reference_assets.audits import AUDITS, specs
from reference_assets.counties import ref_us_counties
from reference_assets.layouts import REFERENCE
from reference_assets.places import ref_places_county
from reference_assets.states import ref_us_states
from reference_assets.svi import ref_svi_county, ref_svi_tract
from resources import Warehouse
from resources.publish import audited
from resources.sql_files import load_sql

GEOGRAPHY_TABLE = "reference.ref_geography"
GEOGRAPHY_SQL = load_sql("reference_assets", "ref_geography")


@REFERENCE.asset(
    ["reference", "ref_geography"],
    check_specs=specs(GEOGRAPHY_TABLE),
    sql=GEOGRAPHY_SQL,
    deps=[
        ref_us_counties,
        ref_us_states,
        ref_svi_county,
        ref_svi_tract,
        ref_adi_blockgroup,
        ref_places_county,
    ],
    description=(
        "One row per US county (5-digit `county_fips`, name, state FIPS/USPS/name): the "
        "geography that patient, directory and star-schema tables join to. Carries the "
        "county's SVI overall percentile (`svi_overall_rank`, with `svi_rank_scope` state or "
        "national), the population-weighted mean ADI national rank of its block groups "
        "(`adi_national_rank_weighted`) and its population. Every county of the county list "
        "is present even when a source lacks it (its figures are then NULL)."
    ),
)
@audited
def ref_geography(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.session() as session:
        published = session.publish(GEOGRAPHY_TABLE, GEOGRAPHY_SQL, AUDITS[GEOGRAPHY_TABLE])
        summary = published.summary
        with_svi, with_adi, with_population = session.fetch_rows(
            f"SELECT count(svi_overall_rank), count(adi_national_rank_weighted), "
            f"count(total_population) FROM {GEOGRAPHY_TABLE}"
        )[0]
    context.log.info(
        f"{GEOGRAPHY_TABLE}: {summary.row_count} counties, {with_svi} with SVI, {with_adi} with ADI"
    )
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **summary.metadata(),
            "counties_with_svi": int(with_svi),
            "counties_with_adi": int(with_adi),
            "counties_with_population": int(with_population),
        },
    )
