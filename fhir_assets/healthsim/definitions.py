"""Everything the HealthSim domain contributes to the code location."""

import dagster as dg

from fhir_assets.healthsim import canonical, fhir_link
from fhir_assets.healthsim.layout import HEALTHSIM_SOURCE, SYNTHEA_SOURCE

_readers = dg.AssetSelection.assets(*canonical.CANONICAL_ASSETS)

#: Landing folder -> the assets that read it (one sensor each, built by operations).
LANDING_SOURCES: dict[str, dg.AssetSelection] = {
    SYNTHEA_SOURCE: _readers,
    HEALTHSIM_SOURCE: _readers,
}

defs = dg.Definitions(
    assets=[*canonical.CANONICAL_ASSETS, fhir_link.healthsim_fhir_patients],
    asset_checks=[*canonical.KEY_CHECKS],
)
