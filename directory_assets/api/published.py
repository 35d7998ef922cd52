"""One loaded snapshot (everything a request needs, in memory or read-only) and its holder.

A :class:`Published` is immutable once built; :class:`SnapshotHolder` keeps the current one
and replaces the reference in one assignment when ``current.json`` changes, so a request
that took the old snapshot finishes on it and the next request sees the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from directory_assets import queries, snapshot
from directory_assets.index import DirectoryIndex
from directory_assets.search_index import PAYMENT_FLAGS, SERVICE_FLAGS, SearchIndex
from resources.warehouse import DuckDBSession

log = logging.getLogger("narr_platform.api")

_SERVICES_SQL = " || ".join(
    [f"CASE WHEN {column} THEN '{name},' ELSE '' END" for name, column in SERVICE_FLAGS.items()]
    + ["coalesce(level_of_care || ',', '')"]
)
_PAYMENTS_SQL = " || ".join(
    f"CASE WHEN {column} THEN '{name},' ELSE '' END" for name, column in PAYMENT_FLAGS.items()
)
#: Per-city views summarized per state for /statistics (small, precomputed at load).
_STATISTICS_SQL = {
    "mat_providers_by_state": """
        SELECT state, count(*) AS mat_providers,
               count(*) FILTER (WHERE opioid_treatment_program) AS opioid_treatment_programs,
               count(*) FILTER (WHERE accepts_medicaid) AS accepting_medicaid
        FROM directory.v_mat_providers GROUP BY state ORDER BY state""",
    "recovery_ecosystem_by_state": """
        SELECT state, count(*) AS cities, sum(organizations)::BIGINT AS organizations,
               count(*) FILTER (WHERE service_types_present = 4) AS cities_with_all_four_types
        FROM directory.v_recovery_ecosystem GROUP BY state ORDER BY state""",
    "services_by_state": """
        SELECT state, sum(treatment_centers)::BIGINT AS treatment_centers,
               sum(outpatient)::BIGINT AS outpatient, sum(residential)::BIGINT AS residential,
               sum(inpatient)::BIGINT AS inpatient, sum(mat)::BIGINT AS mat,
               sum(accepts_medicaid)::BIGINT AS accepts_medicaid,
               sum(sliding_fee_scale)::BIGINT AS sliding_fee_scale
        FROM directory.v_services_by_location GROUP BY state ORDER BY state""",
    "data_quality": "SELECT * FROM directory.v_data_quality ORDER BY org_type",
}
_SUBTYPE_TABLES = {
    "treatment_center": "treatment_centers",
    "narr_residence": "narr_residences",
    "recovery_center": "recovery_centers",
    "recovery_organization": "recovery_organizations",
}


_LINEAGE = ("source_file", "record_position")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


@dataclasses.dataclass
class Published:
    manifest: snapshot.Manifest
    database: duckdb.DuckDBPyConnection
    index: DirectoryIndex
    search: SearchIndex
    statistics: dict[str, Any]
    loaded_at: str

    @classmethod
    def load(cls, manifest: snapshot.Manifest) -> Published:
        started = time.monotonic()
        database = snapshot.open_database(manifest)
        session = DuckDBSession(database.cursor())
        index = DirectoryIndex.load(
            session,
            service_availability=False,
            extra_columns={"services": _SERVICES_SQL, "payments": _PAYMENTS_SQL},
        )
        statistics: dict[str, Any] = {
            "tables": manifest.tables,
            "organizations_by_state_and_type": queries.directory_stats(session),
        }
        for name, sql in _STATISTICS_SQL.items():
            cursor = database.cursor().execute(sql)
            columns = [d[0] for d in cursor.description]
            statistics[name] = [
                {c: _plain(v) for c, v in zip(columns, row, strict=True)}
                for row in cursor.fetchall()
            ]
        published = cls(
            manifest=manifest,
            database=database,
            index=index,
            search=SearchIndex(manifest.search_folder),
            statistics=statistics,
            loaded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        # The snapshot lives until the next publish: move what loading left behind out of
        # the collector's generations, so a full collection never walks it mid-request.
        gc.collect()
        gc.freeze()
        log.info("loaded snapshot %s in %.1fs", manifest.version, time.monotonic() - started)
        return published

    # -- reads -------------------------------------------------------------------------
    def nearby(self, lat: float, lon: float, miles: float, limit: int, org_type: str | None):
        rows = queries.nearby(self.index, lat, lon, miles=miles, limit=limit, org_type=org_type)
        for row in rows:
            row["services"] = _split(row["services"])
            row["payments"] = _split(row["payments"])
        return rows

    def organization(self, org_id: str, neighbours: int = 10) -> dict[str, Any] | None:
        cursor = self.database.cursor()
        try:
            found = cursor.execute(
                "SELECT * FROM directory.organizations WHERE org_id = ?", [org_id]
            )
            columns = [d[0] for d in found.description]
            row = found.fetchone()
            if row is None:
                return None
            organization = {c: _plain(v) for c, v in zip(columns, row, strict=True)}
            table = _SUBTYPE_TABLES.get(organization["org_type"])
            if table:
                detail = cursor.execute(
                    f"SELECT * FROM directory.{table} WHERE org_id = ?", [org_id]
                )
                names = [d[0] for d in detail.description]
                values = detail.fetchone()
                if values is not None:
                    organization["details"] = {
                        c: _plain(v)
                        for c, v in zip(names, values, strict=True)
                        if c not in organization and c not in _LINEAGE
                    }
            services = [n for n, c in SERVICE_FLAGS.items() if organization.get(c)]
            if organization.get("level_of_care"):
                services.append(organization["level_of_care"])
            organization["services"] = services
            organization["payments"] = [n for n, c in PAYMENT_FLAGS.items() if organization.get(c)]
        finally:
            cursor.close()
        found_network = self.index.neighbours(org_id, neighbours)
        if found_network is None:
            found_network = queries.network(
                DuckDBSession(self.database.cursor()), org_id, neighbours
            )
        organization["neighbours"] = [_plain(n) for n in found_network]
        return organization

    def run_query(self, sql: str, max_rows: int, timeout_seconds: float) -> dict[str, Any]:
        """One checked SELECT on a fresh cursor, interrupted after ``timeout_seconds``."""
        cursor = self.database.cursor()
        timer = threading.Timer(timeout_seconds, cursor.interrupt)
        started = time.monotonic()
        timer.start()
        try:
            result = cursor.execute(sql)
            columns = [d[0] for d in result.description]
            rows = result.fetchmany(max_rows + 1)
        finally:
            timer.cancel()
            cursor.close()
        truncated = len(rows) > max_rows
        return {
            "columns": columns,
            "rows": [[_plain(v) for v in row] for row in rows[:max_rows]],
            "row_count": min(len(rows), max_rows),
            "truncated": truncated,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 2),
            "snapshot_version": self.manifest.version,
        }

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.database.close()


class SnapshotHolder:
    """The current :class:`Published`, swapped when the pointer file changes."""

    def __init__(self, root: Path, poll_seconds: float = 1.0) -> None:
        self.root = root
        self.poll_seconds = poll_seconds
        self.current: Published | None = None
        self.error: str | None = None
        self._stamp: tuple[int, int] | None = None
        self.swaps = 0

    def refresh(self) -> bool:
        """Load the pointed-at snapshot if the pointer changed; True when swapped."""
        stamp = snapshot.pointer_stamp(self.root)
        if stamp is None or stamp == self._stamp:
            if stamp is None and self.current is None:
                self.error = (
                    f"No directory snapshot under {self.root}: run `make run` (or materialize "
                    "directory/search_index) to publish one."
                )
            return False
        try:
            manifest = snapshot.current(self.root)
            if self.current is not None and manifest.version == self.current.manifest.version:
                self._stamp = stamp
                return False
            loaded = Published.load(manifest)
        except Exception as exc:  # keep serving the previous snapshot; say why in /health
            self.error = f"Could not load the new snapshot: {exc}"
            log.exception("snapshot load failed")
            return False
        previous, self.current = self.current, loaded
        self._stamp, self.error = stamp, None
        self.swaps += 1
        if previous is not None:
            # Requests may still be running on it: close it a little later.
            threading.Timer(30.0, previous.close).start()
        return True

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            await asyncio.to_thread(self.refresh)
