"""The release year (vintage) of every reference source: one rule for SVI, ADI and PLACES.

- Each row records its vintage in a column (``svi_vintage``, ``adi_vintage``,
  ``release_vintage``), read from the file name by :func:`reference_assets.layouts.vintage_sql`
  (NULL, shown as ``unknown``, when the name carries no year and the layout does not tell).
- Each source states the vintage its asset describes (:data:`SVI_VINTAGE`, ...); the asset
  description says it, and after a load the table comment and the materialization metadata
  name the vintages the table actually holds (``vintages``: year -> rows,
  ``described_vintage``, ``vintage_note``).
- The warning check ``vintage_as_described`` fails (severity WARN, the table still
  publishes) when any row is of another vintage than described, or of an unknown one,
  naming the vintages loaded: an SVI 2020 file never passes silently as SVI 2022.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg

from resources import WarehouseSession
from resources.publish import Audit, AuditContext, outcome
from resources.warehouse import sql_literal

UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class SourceVintage:
    """The vintage column of a source's tables and the release its assets describe."""

    source: str
    column: str
    described: int

    @property
    def sentence(self) -> str:
        """The description's statement of the vintage (Markdown)."""
        return (
            f"Described vintage: the {self.described} release (`{self.column}` records each "
            "row's; the warning check `vintage_as_described` names the vintages loaded when "
            "they differ)."
        )


SVI_VINTAGE = SourceVintage("CDC/ATSDR SVI", "svi_vintage", 2022)
ADI_VINTAGE = SourceVintage("Neighborhood Atlas ADI", "adi_vintage", 2021)
PLACES_VINTAGE = SourceVintage("CDC PLACES", "release_vintage", 2024)


def vintages_held(session: WarehouseSession, table: str, vintage: SourceVintage) -> dict[str, int]:
    """Year (or ``unknown``) -> rows of ``table``, in year order."""
    rows = session.fetch_rows(
        f"SELECT {vintage.column}, count(*) FROM {table} GROUP BY 1 ORDER BY 1 NULLS LAST"
    )
    return {(UNKNOWN if v is None else str(int(v))): int(n) for v, n in rows}


def vintage_note(held: dict[str, int], vintage: SourceVintage) -> str:
    """``as described (2022)`` or ``loaded 2020 (67 rows), described as 2022``."""
    if set(held) <= {str(vintage.described)}:
        return f"as described ({vintage.described})"
    loaded = ", ".join(f"{v} ({n} rows)" for v, n in held.items())
    return f"loaded {loaded}, described as {vintage.described}"


def vintage_audit(vintage: SourceVintage) -> Audit:
    """Warns when rows of the staged table are of another (or an unknown) vintage."""

    def rule(ctx: AuditContext) -> dg.AssetCheckResult:
        held = vintages_held(ctx.session, ctx.table, vintage)
        other = {v: n for v, n in held.items() if v != str(vintage.described)}
        return outcome(
            sum(other.values()),
            [f"{v}: {n} rows" for v, n in other.items()],
            vintages_loaded=dg.MetadataValue.json(held),
            described_vintage=dg.MetadataValue.int(vintage.described),
            vintage_note=dg.MetadataValue.text(vintage_note(held, vintage)),
        )

    return Audit(
        "vintage_as_described",
        f"Warns when rows are of another {vintage.source} vintage than the "
        f"{vintage.described} release the asset describes, or of an unknown one (a file "
        "name without a year).",
        rule,
        blocking=False,
    )


def record_vintages(
    session: WarehouseSession, table: str, vintage: SourceVintage
) -> dict[str, Any]:
    """Name the vintages ``table`` holds in its comment; the materialization metadata."""
    held = vintages_held(session, table, vintage)
    note = vintage_note(held, vintage)
    listed = ", ".join(held) or "none"
    comment = f"{vintage.source}, vintages held: {listed}; {note}"
    session.execute(f"COMMENT ON TABLE {table} IS {sql_literal(comment)}")
    return {
        "vintages": dg.MetadataValue.json(held),
        "described_vintage": dg.MetadataValue.int(vintage.described),
        "vintage_note": dg.MetadataValue.text(note),
    }
