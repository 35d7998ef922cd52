"""Neighborhood Atlas Area Deprivation Index per census block group."""

import dagster as dg

from reference_assets.audits import AUDITS, specs
from reference_assets.layouts import (
    ADI_SCHEMA,
    ADI_SOURCE,
    REFERENCE,
    reading,
    record_refusals,
    screen_headers,
    source_files,
    vintage_sql,
    zero_pad,
)
from reference_assets.vintages import ADI_VINTAGE, record_vintages
from resources import LandingZone, Warehouse
from resources.landing import source_files_metadata
from resources.publish import audited

ADI_TABLE = "reference.ref_adi_blockgroup"

# Ranks arrive as text: a number, or a suppression code (GQ, PH, GQ-PH, QDI) in its place.
# The number and the code are split; the original text is kept beside them.
ADI_SQL = """
WITH raw AS (
    SELECT
        {vintage} AS adi_vintage,
        {fips} AS blockgroup_fips,
        trim(GISJOIN) AS gisjoin,
        upper(trim(ADI_NATRANK)) AS national_text,
        upper(trim(ADI_STATERNK)) AS state_text,
        source_file
    FROM landing_adi
),
newest AS (
    -- two vintages of one block group in the folder: the newest wins
    SELECT *, max(adi_vintage) OVER (PARTITION BY blockgroup_fips) AS newest_vintage
    FROM raw
)
SELECT
    blockgroup_fips,
    adi_vintage,
    substr(blockgroup_fips, 1, 11) AS tract_fips,
    substr(blockgroup_fips, 1, 5) AS county_fips,
    substr(blockgroup_fips, 1, 2) AS state_fips,
    gisjoin,
    CASE WHEN regexp_matches(national_text, '^[0-9]+$')
         THEN CAST(national_text AS INTEGER) END AS adi_national_rank,
    CASE WHEN regexp_matches(state_text, '^[0-9]+$')
         THEN CAST(state_text AS INTEGER) END AS adi_state_rank,
    CASE WHEN national_text IS NOT NULL AND NOT regexp_matches(national_text, '^[0-9]+$')
              THEN national_text
         WHEN state_text IS NOT NULL AND NOT regexp_matches(state_text, '^[0-9]+$')
              THEN state_text END AS suppression_code,
    national_text AS adi_national_rank_text,
    state_text AS adi_state_rank_text,
    source_file
FROM newest
WHERE adi_vintage IS NOT DISTINCT FROM newest_vintage
""".replace("{fips}", zero_pad("FIPS", 12)).replace("{vintage}", vintage_sql(None))


@REFERENCE.asset(
    ["reference", "ref_adi_blockgroup"],
    check_specs=specs(ADI_TABLE),
    sql=ADI_SQL,
    description=(
        "Area Deprivation Index (Neighborhood Atlas) per census block group (12-digit FIPS), "
        "with each row's vintage (`adi_vintage`, the release year in the file name, e.g. "
        "US_2021_ADI_...; the newest wins per block group): "
        "`adi_national_rank` is the national percentile (1 = least, 100 = most deprived), "
        "`adi_state_rank` the state decile (1-10). A block group too small or too "
        "institutional to rank carries its `suppression_code` (GQ, PH, GQ-PH, QDI) instead. "
        + ADI_VINTAGE.sentence
    ),
)
@audited
def ref_adi_blockgroup(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    landed = source_files(landing.folder(ADI_SOURCE), landing.files(ADI_SOURCE, "*.csv"), "ADI")
    files, refused = screen_headers("ADI", landed, list(ADI_SCHEMA))
    with warehouse.session() as session:
        refusals = record_refusals(context, session, "ADI", files, refused)
    context.log.info(f"Loading {ADI_TABLE} from {len(files)} ADI file(s)")
    with warehouse.session() as session, reading("ADI", files):
        session.register_file_view(
            "landing_adi", files, "csv", columns=ADI_SCHEMA, options={"header": True}
        )
        published = session.publish(ADI_TABLE, ADI_SQL, AUDITS[ADI_TABLE])
        summary = published.summary
        codes = dict(
            session.fetch_rows(
                f"SELECT coalesce(suppression_code, 'ranked'), count(*) FROM {ADI_TABLE} GROUP BY 1"
            )
        )
        vintages = record_vintages(session, ADI_TABLE, ADI_VINTAGE)
    context.log.info(f"{ADI_TABLE}: {summary.row_count} block groups, {codes}")
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **summary.metadata(),
            "source_files": len(files),
            **source_files_metadata(files),
            "ranked_blockgroups": int(codes.pop("ranked", 0)),
            "suppressed_blockgroups": dg.MetadataValue.json({k: int(v) for k, v in codes.items()}),
            **vintages,
            **refusals,
        },
    )
