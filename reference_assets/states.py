"""US states and territories: the lookup every domain uses to normalize state values."""

import dagster as dg

from reference_assets.layouts import REFERENCE
from resources import WAREHOUSE_POOL, LandingZone, Warehouse
from resources.landing import source_files_metadata

STATES_SOURCE = "reference/states"
STATES_COLUMNS = {"usps": "VARCHAR", "name": "VARCHAR", "fips": "VARCHAR"}

# Two-letter USPS code, full name and 2-digit FIPS code, one row per state or territory.
STATES_SQL = """
SELECT
    upper(trim(usps)) AS state_usps,
    trim(name) AS state_name,
    lpad(trim(fips), 2, '0') AS state_fips
FROM landing_states
WHERE usps IS NOT NULL
"""


@REFERENCE.asset(
    ["reference", "ref_us_states"],
    sql=STATES_SQL,
    description=(
        "US states, DC and the inhabited territories with USPS code, name and 2-digit FIPS "
        "code. The lookup that turns free-text state values (full names, lowercase) into "
        "USPS codes and joins county FIPS codes to their state."
    ),
)
def ref_us_states(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    files = landing.files(STATES_SOURCE, "*.csv")
    if not files:
        raise dg.Failure(
            f"No state file in {landing.folder(STATES_SOURCE)}; run `narr-platform sample-data`."
        )
    with warehouse.session() as session:
        session.register_file_view(
            "landing_states", files, "csv", columns=STATES_COLUMNS, options={"header": True}
        )
        summary = session.create_table_as("reference.ref_us_states", STATES_SQL)
    context.log.info(f"Loaded {summary.row_count} states from {len(files)} file(s)")
    return dg.MaterializeResult(metadata={**summary.metadata(), **source_files_metadata(files)})


@dg.asset_check(asset=ref_us_states, blocking=True, pool=WAREHOUSE_POOL)
def state_codes_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Each USPS code and each FIPS code appears once."""
    rows = warehouse.fetch_rows(
        "SELECT count(*) - count(DISTINCT state_usps), count(*) - count(DISTINCT state_fips) "
        "FROM reference.ref_us_states"
    )
    dup_usps, dup_fips = rows[0]
    return dg.AssetCheckResult(
        passed=dup_usps == 0 and dup_fips == 0,
        metadata={"duplicate_usps": int(dup_usps), "duplicate_fips": int(dup_fips)},
    )
