"""Asset checks of the reference tables, each a small factory over one rule.

Every check runs its SQL in the engine through the warehouse seam and reports the count
of offending rows plus a few examples, so a failure says what to look at.
"""

from collections.abc import Sequence

import dagster as dg

from reference_assets.counties import counties_sql
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession

GEOGRAPHY_TABLE = "reference.ref_geography"
#: A county table spanning at least this many states is a national load.
NATIONAL_STATE_COUNT = 50
NATIONAL_MIN_COUNTIES = 3_000
EXAMPLES = 5


def table_of(key: dg.AssetKey) -> str:
    return ".".join(key.path)


def _examples(session: WarehouseSession, sql: str) -> str:
    rows = session.fetch_rows(f"{sql} LIMIT {EXAMPLES}")
    return ", ".join(" / ".join(str(v) for v in row) for row in rows)


def _violations(
    session: WarehouseSession, table: str, condition: str, shown: str
) -> tuple[int, str]:
    count = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE {condition}")[0][0]
    examples = _examples(session, f"SELECT {shown} FROM {table} WHERE {condition}") if count else ""
    return int(count), examples


def range_check(
    asset_key: dg.AssetKey,
    name: str,
    condition: str,
    shown: str,
    description: str,
) -> dg.AssetChecksDefinition:
    """Rows matching ``condition`` are violations; passes when there are none."""
    table = table_of(asset_key)

    @dg.asset_check(
        asset=asset_key, name=name, blocking=False, pool=WAREHOUSE_POOL, description=description
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            bad, examples = _violations(session, table, condition, shown)
        return dg.AssetCheckResult(
            passed=bad == 0, metadata={"violating_rows": bad, "examples": examples}
        )

    return _check


def svi_ranks_check(
    asset_key: dg.AssetKey, rank_columns: Sequence[str]
) -> dg.AssetChecksDefinition:
    condition = " OR ".join(f"{c} < 0 OR {c} > 1" for c in rank_columns)
    return range_check(
        asset_key,
        "svi_ranks_in_range",
        condition,
        "fips, " + ", ".join(rank_columns[-2:]),
        "Every SVI percentile rank (EPL_*, RPL_*) is within [0, 1] or NULL (-999 in the file).",
    )


def adi_ranks_check(asset_key: dg.AssetKey, codes: Sequence[str]) -> dg.AssetChecksDefinition:
    code_list = ", ".join(f"'{c}'" for c in codes)
    condition = (
        "(suppression_code IS NULL AND (adi_national_rank IS NULL OR adi_state_rank IS NULL)) "
        f"OR (suppression_code IS NOT NULL AND suppression_code NOT IN ({code_list})) "
        "OR adi_national_rank NOT BETWEEN 1 AND 100 OR adi_state_rank NOT BETWEEN 1 AND 10"
    )
    return range_check(
        asset_key,
        "adi_ranks_valid",
        condition,
        "blockgroup_fips, adi_national_rank_text, adi_state_rank_text",
        "National rank within 1-100 and state rank within 1-10, or a known suppression code "
        f"({', '.join(codes)}).",
    )


def places_limits_check(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    condition = (
        "data_value IS NOT NULL AND (low_confidence_limit IS NULL OR high_confidence_limit IS NULL "
        "OR data_value < low_confidence_limit OR data_value > high_confidence_limit)"
    )
    return range_check(
        asset_key,
        "values_within_confidence_limits",
        condition,
        "measure_id, data_value, low_confidence_limit, high_confidence_limit",
        "Every PLACES value lies within its own 95% confidence limits.",
    )


def county_coverage_check(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """Every state present is complete, and a national load holds >= 3,000 counties.

    Complete means every county of the packaged county list (the one ref_us_counties
    holds) for that state is present.
    """
    table = table_of(asset_key)

    @dg.asset_check(
        asset=asset_key,
        name="counties_cover_states",
        blocking=False,
        pool=WAREHOUSE_POOL,
        description="Each state present has all its counties (per the county list); a "
        f"national load (>= {NATIONAL_STATE_COUNT} states) holds at least "
        f"{NATIONAL_MIN_COUNTIES:,} counties.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            shortfall = session.fetch_rows(
                f"""
                WITH county_list AS ({counties_sql()}),
                present AS (SELECT DISTINCT county_fips FROM {table}),
                states AS (SELECT DISTINCT substr(county_fips, 1, 2) AS state_fips FROM present)
                SELECT c.state_usps, count(*) - count(p.county_fips) AS missing
                FROM county_list AS c
                JOIN states AS s ON s.state_fips = c.state_fips
                LEFT JOIN present AS p ON p.county_fips = c.county_fips
                GROUP BY c.state_usps
                HAVING count(p.county_fips) < count(*)
                ORDER BY c.state_usps
                """
            )
            counties, states = session.fetch_rows(
                f"SELECT count(DISTINCT county_fips), count(DISTINCT substr(county_fips, 1, 2)) "
                f"FROM {table}"
            )[0]
        national = states >= NATIONAL_STATE_COUNT
        enough = counties >= NATIONAL_MIN_COUNTIES or not national
        missing = {str(state): int(n) for state, n in shortfall}
        return dg.AssetCheckResult(
            passed=not missing and enough and counties > 0,
            metadata={
                "counties": int(counties),
                "states": int(states),
                "national_load": national,
                "missing_counties_by_state": dg.MetadataValue.json(missing),
            },
        )

    return _check


def tracts_in_geography_check(
    asset_key: dg.AssetKey, tract_tables: Sequence[str]
) -> dg.AssetChecksDefinition:
    """Every tract / block group of the given tables belongs to a county of ref_geography."""

    @dg.asset_check(
        asset=asset_key,
        name="tract_counties_in_geography",
        blocking=False,
        pool=WAREHOUSE_POOL,
        description="Every tract and block group's county exists in reference.ref_geography ("
        + ", ".join(tract_tables)
        + ").",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        orphans: dict[str, int] = {}
        examples: dict[str, str] = {}
        with warehouse.session() as session:
            for table in tract_tables:
                if not session.table_exists(table):
                    continue
                # One NOT IN and no OR: Spark plans NOT IN inside an OR as a nested-loop
                # join (every row against every county); alone it is a hash anti join.
                # A NULL county_fips becomes '' (never a 5-digit county), so it counts.
                condition = (
                    "coalesce(county_fips, '') NOT IN "
                    f"(SELECT county_fips FROM {GEOGRAPHY_TABLE} WHERE county_fips IS NOT NULL)"
                )
                count, shown = _violations(session, table, condition, "DISTINCT county_fips")
                orphans[table] = count
                if count:
                    examples[table] = shown
        return dg.AssetCheckResult(
            passed=not any(orphans.values()),
            metadata={
                "orphan_rows": dg.MetadataValue.json(orphans),
                "orphan_counties": dg.MetadataValue.json(examples),
            },
        )

    return _check
