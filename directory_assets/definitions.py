"""Everything the recovery-services directory contributes to the code location."""

import dagster as dg

from directory_assets import assets, checks
from directory_assets.staging import LANDING_FOLDER, STAGING_ASSETS

#: landing folder -> the assets that read it (the four staging assets, independent roots).
LANDING_SOURCES: dict[str, dg.AssetSelection] = {
    LANDING_FOLDER: dg.AssetSelection.assets(*STAGING_ASSETS.values()),
}

defs = dg.Definitions(
    assets=[
        *STAGING_ASSETS.values(),
        assets.organizations,
        assets.merge_conflicts,
        *assets.SUBTYPE_ASSETS.values(),
        assets.network_relationships,
        assets.rejected_records,
        *assets.VIEW_ASSETS,
        assets.search_index,
    ],
    asset_checks=checks.ALL_CHECKS,
)
