"""Asset checks of the directory. Blocking where they protect downstream tables.

Each rule is a plain function over a :class:`WarehouseSession` (``evaluate_*``) so it is
written once and tested directly on tampered tables; the Dagster checks call them.
"""

from collections.abc import Sequence

import dagster as dg

from directory_assets.assets import (
    ORGANIZATIONS_KEY,
    SUBTYPE_KEYS,
    SUBTYPES,
)
from directory_assets.normalize import in_us_bounds_sql, valid_states_sql
from directory_assets.staging import STAGING_ASSETS
from directory_assets.staging_sql import SOURCES, DirectorySource
from resources import WAREHOUSE_POOL, Warehouse, WarehouseSession
from resources.quality_checks import build_row_count_drop_checks

MAX_REJECTED_SHARE = 0.05
ORGS = "directory.organizations"


def _sample(session: WarehouseSession, sql: str) -> list[str]:
    return [" | ".join(str(v) for v in row) for row in session.fetch_rows(sql + " LIMIT 5")]


def _result(bad: int, examples: Sequence[str], **extra: object) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"failing_rows": int(bad), **extra}
    if examples:
        metadata["examples"] = dg.MetadataValue.json(list(examples))
    return dg.AssetCheckResult(passed=bad == 0, metadata=metadata)


def evaluate_org_id_unique(session: WarehouseSession) -> dg.AssetCheckResult:
    sql = f"SELECT org_id, count(*) FROM {ORGS} GROUP BY org_id HAVING count(*) > 1"
    bad = session.fetch_rows(f"SELECT count(*) FROM ({sql}) AS d")[0][0]
    nulls = session.fetch_rows(f"SELECT count(*) FROM {ORGS} WHERE org_id IS NULL")[0][0]
    return _result(int(bad) + int(nulls), _sample(session, sql), null_org_ids=int(nulls))


def evaluate_coordinates_in_us(session: WarehouseSession) -> dg.AssetCheckResult:
    where = (
        "latitude IS NOT NULL AND longitude IS NOT NULL AND NOT "
        + in_us_bounds_sql("latitude", "longitude")
        + " OR (latitude IS NULL) <> (longitude IS NULL)"
    )
    bad = session.fetch_rows(f"SELECT count(*) FROM {ORGS} WHERE {where}")[0][0]
    return _result(
        bad, _sample(session, f"SELECT org_id, latitude, longitude FROM {ORGS} WHERE {where}")
    )


def evaluate_state_codes(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    where = f"state IS NULL OR state NOT IN {valid_states_sql()}"
    bad = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0]
    return _result(bad, _sample(session, f"SELECT org_id, state FROM {table} WHERE {where}"))


def evaluate_zip_codes(session: WarehouseSession) -> dg.AssetCheckResult:
    where = "zip_code IS NOT NULL AND NOT regexp_matches(zip_code, '^[0-9]{5}$')"
    bad = session.fetch_rows(f"SELECT count(*) FROM {ORGS} WHERE {where}")[0][0]
    missing = session.fetch_rows(f"SELECT count(*) FROM {ORGS} WHERE zip_code IS NULL")[0][0]
    return _result(
        bad,
        _sample(session, f"SELECT org_id, zip_code FROM {ORGS} WHERE {where}"),
        organizations_without_zip=int(missing),
    )


def evaluate_no_duplicates(session: WarehouseSession) -> dg.AssetCheckResult:
    sql = (
        f"SELECT name_key, address_key, count(*) FROM {ORGS} "
        "GROUP BY name_key, address_key HAVING count(*) > 1"
    )
    bad = session.fetch_rows(f"SELECT count(*) FROM ({sql}) AS d")[0][0]
    return _result(bad, _sample(session, sql))


def evaluate_subtype_linked(session: WarehouseSession, name: str) -> dg.AssetCheckResult:
    sql = (
        f"SELECT s.org_id FROM directory.{name} AS s "
        f"LEFT JOIN {ORGS} AS o ON o.org_id = s.org_id WHERE o.org_id IS NULL"
    )
    bad = session.fetch_rows(f"SELECT count(*) FROM ({sql}) AS d")[0][0]
    return _result(bad, _sample(session, sql))


def evaluate_records_reconciled(
    session: WarehouseSession, source: DirectorySource, source_records: int | None
) -> dg.AssetCheckResult:
    staged = session.row_count(source.table)
    rejected = session.row_count(source.rejected_table)
    if source_records is None:
        return dg.AssetCheckResult(passed=False, metadata={"error": "no source_records metadata"})
    return dg.AssetCheckResult(
        passed=staged + rejected == source_records,
        metadata={"source_records": source_records, "staged": staged, "rejected": rejected},
    )


def evaluate_rejected_share(
    session: WarehouseSession, source: DirectorySource, max_share: float = MAX_REJECTED_SHARE
) -> dg.AssetCheckResult:
    staged = session.row_count(source.table)
    rejected = session.row_count(source.rejected_table)
    total = staged + rejected
    share = rejected / total if total else 0.0
    return dg.AssetCheckResult(
        passed=share <= max_share,
        metadata={
            "rejected": rejected,
            "source_records": total,
            "rejected_share": round(share, 4),
            "max_rejected_share": max_share,
        },
    )


# -- Dagster checks ----------------------------------------------------------------------
def _org_check(name: str, description: str, rule) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ORGANIZATIONS_KEY,
        name=name,
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=description,
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            return rule(session)

    return _check


ORGANIZATION_CHECKS = [
    _org_check(
        "org_id_unique",
        "Every organization has one non-null, unique org_id.",
        evaluate_org_id_unique,
    ),
    _org_check(
        "coordinates_in_us_bounds",
        "Coordinates lie inside the US (lower 48, AK, HI, "
        "PR, VI, Guam, Northern Marianas, American Samoa), both or neither present.",
        evaluate_coordinates_in_us,
    ),
    _org_check("valid_state_codes", "Every state is a valid USPS code.", evaluate_state_codes),
    _org_check(
        "zip_codes_five_digits", "Every ZIP code is empty or exactly 5 digits.", evaluate_zip_codes
    ),
    _org_check(
        "no_duplicate_organizations",
        "No two organizations share a normalized name and address.",
        evaluate_no_duplicates,
    ),
]


def _subtype_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=SUBTYPE_KEYS[name],
        name="has_organization",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"Every {name} row links to an organization by org_id.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            return evaluate_subtype_linked(session, name)

    return _check


SUBTYPE_CHECKS = [_subtype_check(name) for name in SUBTYPES]


def _staging_checks(source: DirectorySource) -> list[dg.AssetChecksDefinition]:
    key = STAGING_ASSETS[source.name].key

    @dg.asset_check(
        asset=key,
        name="records_reconciled",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description="Staged + rejected records = the records in the source file(s).",
    )
    def _reconciled(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        event = context.instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event else None
        value = materialization.metadata.get("source_records") if materialization else None
        with warehouse.session() as session:
            return evaluate_records_reconciled(
                session, source, int(value.value) if value is not None else None
            )

    @dg.asset_check(
        asset=key,
        name="rejected_share",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"Fails when more than {MAX_REJECTED_SHARE:.0%} of the source records "
        "are quarantined (a broken extract should not replace the directory).",
    )
    def _share(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            return evaluate_rejected_share(session, source)

    return [_reconciled, _share]


STAGING_CHECKS = [check for source in SOURCES for check in _staging_checks(source)]

ROW_COUNT_DROP_CHECKS = build_row_count_drop_checks(
    [ORGANIZATIONS_KEY, *(a.key for a in STAGING_ASSETS.values())]
)

ALL_CHECKS = [*ORGANIZATION_CHECKS, *SUBTYPE_CHECKS, *STAGING_CHECKS, *ROW_COUNT_DROP_CHECKS]
