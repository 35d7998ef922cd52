"""The directory's blocking rules, judged on each staged table before it is published.

Each rule is a plain function of a :class:`WarehouseSession` and a table (tests run it on
tables they tamper with); the ``*_AUDITS`` lists attach them to the assets as audits
(``resources.publish``), which the UI shows as the assets' checks.
"""

from collections.abc import Sequence

import dagster as dg

from directory_assets.normalize import in_us_bounds_sql, valid_states_sql
from resources import WarehouseSession
from resources.publish import (
    Audit,
    AuditContext,
    key_audit,
    outcome,
    row_count_drop_audit,
    rule_audit,
    sql_audit,
)

MAX_REJECTED_SHARE = 0.05
ORGS = "directory.organizations"
SOURCE_RECORDS = "source_records"
REJECTED_RECORDS = "rejected_records"

ORG_ID_UNIQUE = key_audit(
    ["org_id"],
    name="org_id_unique",
    description="Every organization has one non-null, unique org_id.",
)
NO_DUPLICATE_ORGANIZATIONS = key_audit(
    ["name_key", "address_key"],
    name="no_duplicate_organizations",
    description="No two organizations share a normalized name and address.",
    not_null=False,
)


def _sample(session: WarehouseSession, sql: str) -> list[str]:
    return [" | ".join(str(v) for v in row) for row in session.fetch_rows(sql + " LIMIT 5")]


def _result(bad: int, examples: Sequence[str], **extra: object) -> dg.AssetCheckResult:
    return outcome(int(bad), examples, **extra)


def _key_rule(audit: Audit, session: WarehouseSession, table: str) -> dg.AssetCheckResult:
    return audit.rule(AuditContext(session=session, table=table, published=table))


def evaluate_org_id_unique(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    return _key_rule(ORG_ID_UNIQUE, session, table)


def evaluate_no_duplicates(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    return _key_rule(NO_DUPLICATE_ORGANIZATIONS, session, table)


def evaluate_coordinates_in_us(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    where = (
        "latitude IS NOT NULL AND longitude IS NOT NULL AND NOT "
        + in_us_bounds_sql("latitude", "longitude")
        + " OR (latitude IS NULL) <> (longitude IS NULL)"
    )
    bad = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0]
    return _result(
        bad, _sample(session, f"SELECT org_id, latitude, longitude FROM {table} WHERE {where}")
    )


def evaluate_state_codes(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    where = f"state IS NULL OR state NOT IN {valid_states_sql()}"
    bad = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0]
    return _result(bad, _sample(session, f"SELECT org_id, state FROM {table} WHERE {where}"))


def evaluate_zip_codes(session: WarehouseSession, table: str = ORGS) -> dg.AssetCheckResult:
    where = "zip_code IS NOT NULL AND NOT regexp_matches(zip_code, '^[0-9]{5}$')"
    bad = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE {where}")[0][0]
    missing = session.fetch_rows(f"SELECT count(*) FROM {table} WHERE zip_code IS NULL")[0][0]
    return _result(
        bad,
        _sample(session, f"SELECT org_id, zip_code FROM {table} WHERE {where}"),
        organizations_without_zip=int(missing),
    )


def evaluate_subtype_linked(
    session: WarehouseSession, name: str, table: str | None = None
) -> dg.AssetCheckResult:
    sql = (
        f"SELECT s.org_id FROM {table or f'directory.{name}'} AS s "
        f"LEFT JOIN {ORGS} AS o ON o.org_id = s.org_id WHERE o.org_id IS NULL"
    )
    bad = session.fetch_rows(f"SELECT count(*) FROM ({sql}) AS d")[0][0]
    return _result(bad, _sample(session, sql))


def records_reconciled(
    staged: int, rejected: int, source_records: int | None
) -> dg.AssetCheckResult:
    if source_records is None:
        return dg.AssetCheckResult(passed=False, metadata={"error": "no source_records metadata"})
    return dg.AssetCheckResult(
        passed=staged + rejected == source_records,
        metadata={"source_records": source_records, "staged": staged, "rejected": rejected},
    )


def rejected_share(
    staged: int, rejected: int, max_share: float = MAX_REJECTED_SHARE
) -> dg.AssetCheckResult:
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


def _staged_counts(ctx: AuditContext) -> tuple[int, int]:
    return ctx.session.row_count(ctx.table), int(ctx.facts.get(REJECTED_RECORDS, 0))


def _reconciled(ctx: AuditContext) -> dg.AssetCheckResult:
    staged, rejected = _staged_counts(ctx)
    result = records_reconciled(staged, rejected, ctx.facts.get(SOURCE_RECORDS))
    return dg.AssetCheckResult(
        passed=result.passed,
        metadata={**result.metadata, "source_files": dg.MetadataValue.json(list(ctx.inputs))},
    )


def _share(ctx: AuditContext) -> dg.AssetCheckResult:
    result = rejected_share(*_staged_counts(ctx))
    return dg.AssetCheckResult(
        passed=result.passed,
        metadata={**result.metadata, "source_files": dg.MetadataValue.json(list(ctx.inputs))},
    )


ORGANIZATION_AUDITS = [
    ORG_ID_UNIQUE,
    rule_audit(
        "coordinates_in_us_bounds",
        "Coordinates lie inside the US (lower 48, AK, HI, "
        "PR, VI, Guam, Northern Marianas, American Samoa), both or neither present.",
        evaluate_coordinates_in_us,
    ),
    rule_audit("valid_state_codes", "Every state is a valid USPS code.", evaluate_state_codes),
    rule_audit(
        "zip_codes_five_digits", "Every ZIP code is empty or exactly 5 digits.", evaluate_zip_codes
    ),
    NO_DUPLICATE_ORGANIZATIONS,
    sql_audit(
        "zip_matches_state",
        "zip_state_issue IS NOT NULL",
        "org_id, name, state, zip_code, zip_state_issue",
        "Warns (does not block) when an organization's ZIP does not belong to its state "
        "(its 3-digit prefix is not one the zipcodes package lists for the state); the rows "
        "are kept and flagged in zip_state_issue.",
        blocking=False,
    ),
    row_count_drop_audit(),
]


def subtype_audits(name: str) -> list[Audit]:
    return [
        rule_audit(
            "has_organization",
            f"Every {name} row links to an organization by org_id.",
            lambda session, table: evaluate_subtype_linked(session, name, table),
        )
    ]


STAGING_AUDITS = [
    Audit(
        "records_reconciled",
        "Staged + rejected records = the records in the source file(s).",
        _reconciled,
    ),
    Audit(
        "rejected_share",
        f"Fails when more than {MAX_REJECTED_SHARE:.0%} of the source records "
        "are quarantined (a broken extract should not replace the directory).",
        _share,
    ),
    row_count_drop_audit(),
]
