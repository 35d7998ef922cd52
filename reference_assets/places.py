"""CDC PLACES model-based health estimates, long (typed) and wide, per county and tract."""

import re
from pathlib import Path

import dagster as dg

from reference_assets.audits import AUDITS, specs
from reference_assets.layouts import (
    PLACES_COUNTY_SCHEMA,
    PLACES_SOURCE,
    PLACES_TRACT_SCHEMA,
    REFERENCE,
    is_tract_file,
    reading,
    record_refusals,
    screen_headers,
    source_files,
    vintage_sql,
    zero_pad,
)
from reference_assets.vintages import PLACES_VINTAGE, record_vintages
from resources import LandingZone, Warehouse, WarehouseSession
from resources.landing import source_files_metadata
from resources.publish import audited

PLACES_COUNTY_TABLE = "reference.ref_places_county"
PLACES_TRACT_TABLE = "reference.ref_places_tract"
PLACES_COUNTY_WIDE_TABLE = "reference.ref_places_county_wide"
PLACES_TRACT_WIDE_TABLE = "reference.ref_places_tract_wide"

_MEASURE_COLUMNS = """
    Year AS year,
    {vintage} AS release_vintage,
    trim(StateAbbr) AS state_usps,
    trim(StateDesc) AS state_name,
    trim(DataSource) AS data_source,
    trim(Category) AS category,
    trim(CategoryID) AS category_id,
    trim(Measure) AS measure,
    upper(trim(MeasureId)) AS measure_id,
    trim(Short_Question_Text) AS short_question_text,
    trim(Data_Value_Type) AS data_value_type,
    trim(DataValueTypeID) AS data_value_type_id,
    trim(Data_Value_Unit) AS data_value_unit,
    Data_Value AS data_value,
    Low_Confidence_Limit AS low_confidence_limit,
    High_Confidence_Limit AS high_confidence_limit,
    trim(Data_Value_Footnote_Symbol) AS footnote_symbol,
    trim(Data_Value_Footnote) AS footnote,
    TotalPopulation AS total_population,
    TotalPop18plus AS total_population_18plus,
    trim(Geolocation) AS geolocation,
    source_file""".replace("{vintage}", vintage_sql(None))

# County pulls carry a national row (StateAbbr US, LocationID not 5 digits): it is not a
# county, so it is counted in the materialization metadata rather than loaded here.
PLACES_COUNTY_SQL = f"""
SELECT
    {zero_pad("LocationID", 5)} AS county_fips,
    substr({zero_pad("LocationID", 5)}, 1, 2) AS state_fips,
    trim(LocationName) AS county_name,{_MEASURE_COLUMNS}
FROM landing_places_county
WHERE upper(trim(StateAbbr)) <> 'US'
"""

PLACES_NATIONAL_ROWS_SQL = (
    "SELECT count(*) FROM landing_places_county WHERE upper(trim(StateAbbr)) = 'US'"
)

PLACES_TRACT_SQL = f"""
SELECT
    {zero_pad("LocationID", 11)} AS tract_fips,
    {zero_pad("CountyFIPS", 5)} AS county_fips,
    substr({zero_pad("CountyFIPS", 5)}, 1, 2) AS state_fips,
    trim(CountyName) AS county_name,{_MEASURE_COLUMNS}
FROM landing_places_tract
"""

#: Pivot column suffix per PLACES value type.
VALUE_TYPE_SUFFIX = {"CrdPrv": "crude_prev", "AgeAdjPrv": "adj_prev"}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# One row per geography for the latest year, one column per measure and value type. When
# the folder holds two PLACES releases (release_vintage, from the file name) with that year,
# the newest release wins; the long tables keep every release, each row with its vintage.
PLACES_WIDE_SQL = """
SELECT
    {key},
    max(state_usps) AS state_usps,
    max(year) AS year,
    max(release_vintage) AS release_vintage,
    {measures}
FROM {table}
WHERE year = (SELECT max(year) FROM {table})
    AND coalesce(release_vintage, 0) = (
        SELECT coalesce(max(release_vintage), 0) FROM {table}
        WHERE year = (SELECT max(year) FROM {table}))
GROUP BY {key}
"""


def wide_sql(session: WarehouseSession, long_table: str, key: str) -> tuple[str, int]:
    """The pivot query of a long PLACES table, built from the measures it holds."""
    pairs = session.fetch_rows(
        f"SELECT DISTINCT measure_id, data_value_type_id FROM {long_table} "
        "WHERE measure_id IS NOT NULL AND data_value_type_id IS NOT NULL ORDER BY 1, 2"
    )
    columns = []
    for measure_id, type_id in pairs:
        suffix = VALUE_TYPE_SUFFIX.get(str(type_id), str(type_id).lower())
        name = f"{measure_id}_{suffix}".lower()
        if not _IDENTIFIER.match(name):
            raise dg.Failure(
                f"PLACES measure {measure_id!r}/{type_id!r} is not a usable column name."
            )
        columns.append(
            f"max(CASE WHEN measure_id = '{measure_id}' AND data_value_type_id = '{type_id}' "
            f"THEN data_value END) AS {name}"
        )
    if not columns:
        raise dg.Failure(f"{long_table} holds no measures to pivot.")
    sql = PLACES_WIDE_SQL.format(key=key, measures=",\n    ".join(columns), table=long_table)
    return sql, len(columns)


def _places_files(landing: LandingZone, tract: bool) -> list[Path]:
    files = [f for f in landing.files(PLACES_SOURCE, "*.csv") if is_tract_file(f) == tract]
    kind = "PLACES tract" if tract else "PLACES county"
    return source_files(landing.folder(PLACES_SOURCE), files, kind)


def _asset(name: str, description: str, sql: str, deps: list[dg.AssetsDefinition] | None = None):
    """The decorator every PLACES asset shares (the reference domain's, keyed by name)."""
    decorate = REFERENCE.asset(
        ["reference", name],
        description=description,
        sql=sql,
        deps=deps or [],
        check_specs=specs(f"reference.{name}"),
    )
    return lambda fn: decorate(audited(fn))


def _load_long(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landed: list[Path],
    schema: dict[str, str],
    view: str,
    table: str,
    sql: str,
) -> dg.MaterializeResult:
    source = "PLACES tract" if table == PLACES_TRACT_TABLE else "PLACES county"
    files, refused = screen_headers(source, landed, list(schema))
    with warehouse.session() as session:
        refusals = record_refusals(context, session, source, files, refused)
    context.log.info(f"Loading {table} from {len(files)} PLACES file(s)")
    with warehouse.session() as session, reading("PLACES", files):
        session.register_file_view(view, files, "csv", columns=schema, options={"header": True})
        published = session.publish(table, sql, AUDITS[table])
        summary = published.summary
        measures = session.fetch_rows(f"SELECT count(DISTINCT measure_id) FROM {table}")[0][0]
        suppressed = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE data_value IS NULL")[
            0
        ][0]
        national = (
            session.fetch_rows(PLACES_NATIONAL_ROWS_SQL)[0][0]
            if table == PLACES_COUNTY_TABLE
            else None
        )
        vintages = record_vintages(session, table, PLACES_VINTAGE)
    context.log.info(f"{table}: {summary.row_count} rows, {measures} measures")
    metadata = {
        **summary.metadata(),
        "source_files": len(files),
        **source_files_metadata(files),
        "measures": int(measures),
        "rows_without_value": int(suppressed),
        **vintages,
        **refusals,
    }
    if national is not None:
        metadata["national_rows_not_loaded"] = int(national)
    return dg.MaterializeResult(metadata=metadata, check_results=published.check_results)


@_asset(
    "ref_places_county",
    "CDC PLACES model-based estimates per county, long format: one row per county, measure "
    "(e.g. DIABETES, OBESITY) and value type (crude or age-adjusted prevalence), with the "
    "value, its 95% confidence limits and the county population. The national summary row "
    "of a county pull is counted in the metadata, not loaded. " + PLACES_VINTAGE.sentence,
    PLACES_COUNTY_SQL,
)
def ref_places_county(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    return _load_long(
        context,
        warehouse,
        _places_files(landing, tract=False),
        PLACES_COUNTY_SCHEMA,
        "landing_places_county",
        PLACES_COUNTY_TABLE,
        PLACES_COUNTY_SQL,
    )


@_asset(
    "ref_places_tract",
    "CDC PLACES model-based estimates per census tract (11-digit FIPS), long format: one "
    "row per tract, measure and value type, with the value, confidence limits, tract "
    "population and its county. " + PLACES_VINTAGE.sentence,
    PLACES_TRACT_SQL,
)
def ref_places_tract(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    return _load_long(
        context,
        warehouse,
        _places_files(landing, tract=True),
        PLACES_TRACT_SCHEMA,
        "landing_places_tract",
        PLACES_TRACT_TABLE,
        PLACES_TRACT_SQL,
    )


def _load_wide(
    context: dg.AssetExecutionContext, warehouse: Warehouse, long_table: str, table: str, key: str
) -> dg.MaterializeResult:
    with warehouse.session() as session:
        sql, n_columns = wide_sql(session, long_table, key)
        published = session.publish(table, sql, AUDITS[table])
        summary = published.summary
    context.log.info(f"{table}: {summary.row_count} rows x {n_columns} measure columns")
    return dg.MaterializeResult(
        metadata={**summary.metadata(), "measure_columns": n_columns},
        check_results=published.check_results,
    )


@_asset(
    "ref_places_county_wide",
    "CDC PLACES per county, one row per county for the latest year with one column per "
    "measure and value type (e.g. `diabetes_crude_prev`, `diabetes_adj_prev`): the "
    "convenient shape for joining health estimates to county-level data.",
    PLACES_WIDE_SQL,
    deps=[ref_places_county],
)
def ref_places_county_wide(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    return _load_wide(
        context, warehouse, PLACES_COUNTY_TABLE, PLACES_COUNTY_WIDE_TABLE, "county_fips"
    )


@_asset(
    "ref_places_tract_wide",
    "CDC PLACES per census tract, one row per tract for the latest year with one column per "
    "measure (e.g. `diabetes_crude_prev`), for joining to tract-level data.",
    PLACES_WIDE_SQL,
    deps=[ref_places_tract],
)
def ref_places_tract_wide(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    return _load_wide(context, warehouse, PLACES_TRACT_TABLE, PLACES_TRACT_WIDE_TABLE, "tract_fips")
