"""US states and territories: the lookup every domain uses to normalize state values."""

import dagster as dg

from reference_assets.audits import AUDITS, specs
from reference_assets.layouts import REFERENCE
from resources import LandingZone, Warehouse
from resources.landing import source_files_metadata
from resources.publish import audited

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
    check_specs=specs("reference.ref_us_states"),
    sql=STATES_SQL,
    description=(
        "US states, DC and the inhabited territories with USPS code, name and 2-digit FIPS "
        "code. The lookup that turns free-text state values (full names, lowercase) into "
        "USPS codes and joins county FIPS codes to their state."
    ),
)
@audited
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
        published = session.publish(
            "reference.ref_us_states", STATES_SQL, AUDITS["reference.ref_us_states"]
        )
    context.log.info(f"Loaded {published.summary.row_count} states from {len(files)} file(s)")
    return dg.MaterializeResult(
        metadata={**published.metadata(), **source_files_metadata(files)},
        check_results=published.check_results,
    )
