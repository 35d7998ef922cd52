"""Everything the FHIR domain contributes to the code location."""

import dagster as dg

from fhir_assets import assets, checks, export
from fhir_assets.clinical.assets import RESOURCE_ASSETS
from fhir_assets.clinical.fhir_in import FHIR_IN_ASSETS, FHIR_IN_SOURCE, fhir_in_resources
from fhir_assets.clinical.fhir_in_canonical import CANONICAL_IMPORT_ASSETS

#: Landing folder -> the assets that read it (one sensor each, built by operations).
LANDING_SOURCES: dict[str, dg.AssetSelection] = {
    assets.PATIENTS_SOURCE: dg.AssetSelection.assets(assets.patient_data),
    assets.SYNTHEA_SOURCE: dg.AssetSelection.assets(assets.patient_data),
    FHIR_IN_SOURCE: dg.AssetSelection.assets(fhir_in_resources),
}

defs = dg.Definitions(
    assets=[
        assets.patient_data,
        assets.rejected_patients,
        assets.fhir_patients,
        assets.data_quality_report,
        *RESOURCE_ASSETS,
        *FHIR_IN_ASSETS,
        *CANONICAL_IMPORT_ASSETS,
    ],
    asset_checks=checks.FHIR_CHECKS,
    jobs=[export.fhir_bulk_export],
)
