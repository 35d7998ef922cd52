"""Everything the reference-data domain contributes to the code location."""

import dagster as dg

from reference_assets import checks, states
from reference_assets.adi import ref_adi_blockgroup
from reference_assets.counties import ref_us_counties
from reference_assets.geography import ref_geography
from reference_assets.layouts import ADI_SOURCE, ADI_SUPPRESSION_CODES, PLACES_SOURCE, SVI_SOURCE
from reference_assets.places import (
    ref_places_county,
    ref_places_county_wide,
    ref_places_tract,
    ref_places_tract_wide,
)
from reference_assets.svi import ref_svi_county, ref_svi_tract
from reference_assets.svi_layout import SVI_RANK_COLUMNS

REFERENCE_ASSETS = [
    states.ref_us_states,
    ref_us_counties,
    ref_places_county,
    ref_places_tract,
    ref_places_county_wide,
    ref_places_tract_wide,
    ref_svi_county,
    ref_svi_tract,
    ref_adi_blockgroup,
    ref_geography,
]


def _key(asset: dg.AssetsDefinition) -> dg.AssetKey:
    return asset.key


SVI_RANKS = [c.lower() for c in SVI_RANK_COLUMNS]

# Key uniqueness, FIPS format and the row-count guard are audits of each asset, judged
# on the staged table before it is published (reference_assets/audits.py).
REFERENCE_CHECKS = [
    # Value ranges.
    checks.svi_ranks_check(_key(ref_svi_county), SVI_RANKS),
    checks.svi_ranks_check(_key(ref_svi_tract), SVI_RANKS),
    checks.adi_ranks_check(_key(ref_adi_blockgroup), ADI_SUPPRESSION_CODES),
    checks.places_limits_check(_key(ref_places_county)),
    checks.places_limits_check(_key(ref_places_tract)),
    # Coverage.
    checks.county_coverage_check(_key(ref_places_county)),
    checks.county_coverage_check(_key(ref_svi_county)),
    checks.tracts_in_geography_check(
        _key(ref_geography),
        [
            "reference.ref_places_tract",
            "reference.ref_svi_tract",
            "reference.ref_adi_blockgroup",
        ],
    ),
]

#: Landing folder -> the assets that read it (the operations engineer builds one sensor each).
LANDING_SOURCES: dict[str, dg.AssetSelection] = {
    PLACES_SOURCE: dg.AssetSelection.assets(ref_places_county, ref_places_tract),
    SVI_SOURCE: dg.AssetSelection.assets(ref_svi_county, ref_svi_tract),
    ADI_SOURCE: dg.AssetSelection.assets(ref_adi_blockgroup),
    states.STATES_SOURCE: dg.AssetSelection.assets(states.ref_us_states),
}

defs = dg.Definitions(assets=REFERENCE_ASSETS, asset_checks=REFERENCE_CHECKS)
