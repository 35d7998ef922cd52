"""CDC/ATSDR Social Vulnerability Index, county and tract, every column typed, per vintage.

Each row records its vintage (``svi_vintage``, the release year) read from the file's name
(``SVI_2020_US_county.csv``, ``2022svi_pa_co_cdc.csv``); a file whose name carries no year
is of the layout's vintage, 2022 (its header matched the 2022 columns). When one folder
holds two vintages of the same county or tract, the newest wins for that key; the older
rows are counted in the materialization metadata (``superseded_rows``). The vintages the
table holds, and whether they are the described one, are recorded by the reference rule
of :mod:`reference_assets.vintages` (table comment, metadata, ``vintage_as_described``).
"""

import dagster as dg

from reference_assets.audits import AUDITS, specs
from reference_assets.layouts import (
    REFERENCE,
    SVI_SCHEMA,
    SVI_SOURCE,
    reading,
    record_refusals,
    screen_headers,
    source_files,
    vintage_sql,
    zero_pad,
)
from reference_assets.svi_layout import SVI_2022_COLUMNS, SVI_TEXT_COLUMNS
from reference_assets.vintages import SVI_VINTAGE, record_vintages
from resources import LandingZone, Warehouse
from resources.landing import source_files_metadata
from resources.publish import audited

SVI_COUNTY_TABLE = "reference.ref_svi_county"
SVI_TRACT_TABLE = "reference.ref_svi_tract"
SVI_VIEW = "landing_svi"
#: The vintage of the layout (reference_assets/svi_layout.py) a file without a year is read as.
LAYOUT_VINTAGE = SVI_VINTAGE.described
#: The release year in a file's name (the last path part): 2020 in SVI_2020_US_county.csv.
VINTAGE_SQL = vintage_sql(LAYOUT_VINTAGE)


def _svi_value(name: str) -> str:
    """One typed output column: FIPS parts zero-padded, -999 turned into NULL."""
    column = name.lower()
    padded = {"ST": 2, "STCNTY": 5}
    if name in padded:
        return f"{zero_pad(name, padded[name])} AS {column}"
    if name == "FIPS":
        return f"fips_code AS {column}"
    if name in SVI_TEXT_COLUMNS:
        return f"trim({name}) AS {column}"
    return f"nullif({name}, -999) AS {column}"


# Rows of one file: CDC's national files are named ..._US.csv / ..._US_county.csv, and a
# file holding several states can only be national; any other file is a state file, ranked
# within its state. The scope is recorded per row; the two are never mixed.
SVI_SELECT = """
WITH typed AS (
    SELECT
        *,
        {vintage} AS svi_vintage,
        CASE WHEN length(trim(FIPS)) <= 5 THEN {county_fips}
             ELSE {tract_fips} END AS fips_code,
        {state_fips} AS state_code,
        CASE WHEN regexp_matches(lower(source_file), '(^|/|_)us(_|[.])[^/]*$')
                  OR min({state_fips}) OVER (PARTITION BY source_file)
                     <> max({state_fips}) OVER (PARTITION BY source_file)
             THEN 'national' ELSE 'state' END AS svi_rank_scope
    FROM landing_svi
),
newest AS (
    -- two vintages of one geography: the newest wins (same-vintage duplicates still fail
    -- key_unique)
    SELECT *, max(svi_vintage) OVER (PARTITION BY fips_code) AS newest_vintage
    FROM typed
)
SELECT
    {keys},
    svi_vintage,
    svi_rank_scope,
    {columns},
    source_file
FROM newest
WHERE {vintage_filter} AND ({geography})
"""

_CODES = {
    "vintage": VINTAGE_SQL,
    "vintage_filter": "svi_vintage = newest_vintage",
    "county_fips": zero_pad("FIPS", 5),
    "tract_fips": zero_pad("FIPS", 11),
    "state_fips": zero_pad("ST", 2),
}

SVI_COUNTY_SQL = SVI_SELECT.format(
    **_CODES,
    keys="fips_code AS county_fips, state_code AS state_fips",
    columns=",\n    ".join(_svi_value(name) for name in SVI_2022_COLUMNS),
    geography="fips_code IS NULL OR length(fips_code) <= 5",  # a NULL FIPS fails key_unique
)

SVI_TRACT_SQL = SVI_SELECT.format(
    **_CODES,
    keys="fips_code AS tract_fips, substr(fips_code, 1, 5) AS county_fips, "
    "state_code AS state_fips",
    columns=",\n    ".join(_svi_value(name) for name in SVI_2022_COLUMNS),
    geography="length(fips_code) > 5",
)


def load_svi(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landing: LandingZone,
    table: str,
    select_sql: str,
) -> dg.MaterializeResult:
    """Validate every SVI file's header, then load the rows of one geography in-engine."""
    landed = source_files(landing.folder(SVI_SOURCE), landing.files(SVI_SOURCE, "*.csv"), "SVI")
    files, refused = screen_headers("SVI", landed, list(SVI_SCHEMA))
    with warehouse.session() as session:
        refusals = record_refusals(context, session, "SVI", files, refused)
    context.log.info(f"Loading {table} from {len(files)} SVI file(s)")
    with warehouse.session() as session, reading("SVI", files):
        session.register_file_view(
            SVI_VIEW, files, "csv", columns=SVI_SCHEMA, options={"header": True}
        )
        published = session.publish(table, select_sql, AUDITS[table])
        summary = published.summary
        scopes = dict(
            session.fetch_rows(f"SELECT svi_rank_scope, count(*) FROM {table} GROUP BY 1")
        )
        missing_overall = session.fetch_rows(
            f"SELECT count(*) FROM {table} WHERE rpl_themes IS NULL"
        )[0][0]
        read = session.fetch_rows(
            "SELECT count(*) FROM ("
            + select_sql.replace(_CODES["vintage_filter"], "svi_vintage IS NOT NULL")
            + ") AS every_vintage"
        )[0][0]
        vintages = record_vintages(session, table, SVI_VINTAGE)
    context.log.info(f"{table}: {summary.row_count} rows, ranking scopes {scopes}")
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **summary.metadata(),
            "source_files": len(files),
            **source_files_metadata(files),
            "rows_state_ranked": int(scopes.get("state", 0)),
            "rows_nationally_ranked": int(scopes.get("national", 0)),
            "rows_without_overall_rank": int(missing_overall),
            **vintages,
            "superseded_rows": int(read) - summary.row_count,
            **refusals,
        },
    )


@REFERENCE.asset(
    ["reference", "ref_svi_county"],
    check_specs=specs(SVI_COUNTY_TABLE),
    sql=SVI_COUNTY_SQL,
    description=(
        "CDC/ATSDR Social Vulnerability Index per county, in the 2022 layout: all 158 "
        "published columns typed (estimates, margins, percentages, percentile ranks, flags), "
        "-999 turned into NULL. `svi_vintage` is each row's release year (from the file name; "
        "the newest vintage wins per county; the vintages held are in the table comment and "
        "the `vintages` metadata). `rpl_themes` is the overall vulnerability percentile "
        "(0 = least, 1 = most vulnerable); `svi_rank_scope` says whether it ranks within the "
        "state or nationally. " + SVI_VINTAGE.sentence
    ),
)
@audited
def ref_svi_county(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    return load_svi(context, warehouse, landing, SVI_COUNTY_TABLE, SVI_COUNTY_SQL)


@REFERENCE.asset(
    ["reference", "ref_svi_tract"],
    check_specs=specs(SVI_TRACT_TABLE),
    sql=SVI_TRACT_SQL,
    description=(
        "CDC/ATSDR Social Vulnerability Index per census tract (11-digit FIPS): the same "
        "158 typed columns as the county table, -999 as NULL, with each row's vintage "
        "(`svi_vintage`, newest per tract) and ranking scope (state or national). "
        + SVI_VINTAGE.sentence
    ),
)
@audited
def ref_svi_tract(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    return load_svi(context, warehouse, landing, SVI_TRACT_TABLE, SVI_TRACT_SQL)
