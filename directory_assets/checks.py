"""The directory's rules, as plain functions over a :class:`WarehouseSession`.

Every blocking rule is an audit of its asset (``directory_assets/audits.py``): judged on
the staged table before it is published, and shown in the UI as the asset's check. The
``evaluate_*`` functions run the same rules on a published table (tests tamper with one).
"""

import dagster as dg

from directory_assets.audits import (
    MAX_REJECTED_SHARE,
    ORGS,
    evaluate_coordinates_in_us,
    evaluate_no_duplicates,
    evaluate_org_id_unique,
    evaluate_state_codes,
    evaluate_subtype_linked,
    evaluate_zip_codes,
    records_reconciled,
    rejected_share,
)
from directory_assets.staging_sql import DirectorySource
from resources import WarehouseSession

__all__ = [
    "ALL_CHECKS",
    "MAX_REJECTED_SHARE",
    "ORGS",
    "evaluate_coordinates_in_us",
    "evaluate_no_duplicates",
    "evaluate_org_id_unique",
    "evaluate_records_reconciled",
    "evaluate_rejected_share",
    "evaluate_state_codes",
    "evaluate_subtype_linked",
    "evaluate_zip_codes",
]


def evaluate_records_reconciled(
    session: WarehouseSession, source: DirectorySource, source_records: int | None
) -> dg.AssetCheckResult:
    return records_reconciled(
        session.row_count(source.table), session.row_count(source.rejected_table), source_records
    )


def evaluate_rejected_share(
    session: WarehouseSession, source: DirectorySource, max_share: float = MAX_REJECTED_SHARE
) -> dg.AssetCheckResult:
    return rejected_share(
        session.row_count(source.table), session.row_count(source.rejected_table), max_share
    )


#: Separate checks (after publish) of the directory: none left, every rule is an audit.
ALL_CHECKS: list[dg.AssetChecksDefinition] = []
