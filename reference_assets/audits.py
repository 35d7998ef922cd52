"""The audits of every reference table, judged on the staged table before publish.

One table -> its audits (``resources.publish``): key uniqueness, FIPS format and the
row-count guard (blocking), and for SVI, ADI and PLACES the warning ``vintage_as_described``. Each asset declares them as its check specs and publishes through them.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from reference_assets.vintages import (
    ADI_VINTAGE,
    PLACES_VINTAGE,
    SVI_VINTAGE,
    SourceVintage,
    vintage_audit,
)
from resources.publish import Audit, audit_specs, key_audit, row_count_drop_audit, sql_audit


def fips_format_audit(lengths: Mapping[str, int]) -> Audit:
    """Every FIPS column holds exactly its number of digits (as text, leading zeros kept)."""
    described = ", ".join(f"{c} ({n} digits)" for c, n in lengths.items())
    condition = " OR ".join(
        f"{column} IS NULL OR NOT regexp_matches({column}, '^[0-9]{{{n}}}$')"
        for column, n in lengths.items()
    )
    return sql_audit(
        "fips_format",
        condition,
        ", ".join(lengths),
        f"FIPS codes are zero-padded digit strings: {described}.",
    )


def _table(
    keys: Sequence[str], fips: Mapping[str, int], vintage: SourceVintage | None = None
) -> list[Audit]:
    audits = [key_audit(keys), fips_format_audit(fips), row_count_drop_audit()]
    return audits + ([vintage_audit(vintage)] if vintage else [])


AUDITS: dict[str, list[Audit]] = {
    "reference.ref_us_states": [
        key_audit(["state_usps"], name="state_codes_unique"),
        key_audit(["state_fips"], name="state_fips_unique"),
        row_count_drop_audit(),
    ],
    "reference.ref_us_counties": _table(["county_fips"], {"county_fips": 5, "state_fips": 2}),
    "reference.ref_places_county": _table(
        ["county_fips", "year", "measure_id", "data_value_type_id"],
        {"county_fips": 5, "state_fips": 2},
        PLACES_VINTAGE,
    ),
    "reference.ref_places_tract": _table(
        ["tract_fips", "year", "measure_id", "data_value_type_id"],
        {"tract_fips": 11, "county_fips": 5, "state_fips": 2},
        PLACES_VINTAGE,
    ),
    "reference.ref_places_county_wide": [key_audit(["county_fips"]), row_count_drop_audit()],
    "reference.ref_places_tract_wide": [key_audit(["tract_fips"]), row_count_drop_audit()],
    "reference.ref_svi_county": _table(
        ["county_fips", "svi_rank_scope"],
        {"county_fips": 5, "state_fips": 2, "stcnty": 5},
        SVI_VINTAGE,
    ),
    "reference.ref_svi_tract": _table(
        ["tract_fips", "svi_rank_scope"],
        {"tract_fips": 11, "county_fips": 5, "state_fips": 2},
        SVI_VINTAGE,
    ),
    "reference.ref_adi_blockgroup": _table(
        ["blockgroup_fips"],
        {"blockgroup_fips": 12, "tract_fips": 11, "county_fips": 5},
        ADI_VINTAGE,
    ),
    "reference.ref_geography": _table(["county_fips"], {"county_fips": 5, "state_fips": 2}),
}


def specs(table: str) -> list[dg.AssetCheckSpec]:
    """The check specs of the asset that publishes ``table``."""
    return audit_specs(dg.AssetKey(table.split(".")), AUDITS[table])
