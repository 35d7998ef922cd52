"""Everything the HealthSim domain contributes to the code location."""

import dagster as dg

from fhir_assets.healthsim import canonical, fhir_link
from fhir_assets.healthsim.layout import HEALTHSIM_SOURCE, SYNTHEA_SOURCE
from fhir_assets.healthsim.scenarios import assets as scenario_assets
from fhir_assets.healthsim.star import assets as star_assets
from fhir_assets.healthsim.star import checks as star_checks

_readers = dg.AssetSelection.assets(*canonical.CANONICAL_ASSETS)

#: Landing folder -> the assets that read it (one sensor each, built by operations).
LANDING_SOURCES: dict[str, dg.AssetSelection] = {
    SYNTHEA_SOURCE: _readers,
    HEALTHSIM_SOURCE: _readers,
}

defs = dg.Definitions(
    assets=[
        *canonical.CANONICAL_ASSETS,
        fhir_link.healthsim_patient_fhir_resources,
        scenario_assets.readmission_capture,
        scenario_assets.healthsim_scenarios,
        *star_assets.STAR_ASSETS,
    ],
    asset_checks=[
        *star_checks.STAR_CHECKS,
    ],
    jobs=[scenario_assets.healthsim_legacy_scenario_migration],
)
