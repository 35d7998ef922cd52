"""Everything the reference-data domain contributes to the code location."""

import dagster as dg

from reference_assets import states

defs = dg.Definitions(
    assets=[states.ref_us_states],
    asset_checks=[states.state_codes_unique],
)
