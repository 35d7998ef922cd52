"""An in-process index of the directory for services that answer many queries.

One-shot callers (the CLI) query the warehouse directly; a long-running caller loads a
:class:`DirectoryIndex` once per warehouse version and answers radius searches, service
availability and statistics from memory in well under a millisecond at 41 thousand
organizations:

- radius search: the organizations sorted by latitude; a binary search gives the
  latitude band of the bounding box, a longitude mask trims it, and the exact haversine
  distance (vectorized) decides; nearest first, ties by org_id;
- service availability: per state, the treatment centers pre-sorted by name with their
  service and payment flags as boolean arrays;
- statistics: ``v_organization_summary`` read once.

Results are the same dicts as :mod:`directory_assets.queries` returns (the tests
compare both against an independent distance computation). Network lookups stay in the
engine (a point read of a table sorted by org_id).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from directory_assets.normalize import EARTH_RADIUS_MILES
from resources.warehouse import WarehouseSession

DISPLAY_COLUMNS = (
    "org_id", "org_type", "name", "street", "city", "state", "zip_code", "phone", "website",
    "latitude", "longitude",
)  # fmt: skip
FLAG_COLUMNS = (
    "medication_assisted_treatment", "opioid_treatment_program", "accepts_medicaid",
    "accepts_medicare", "accepts_private_insurance", "accepts_cash_self_payment",
    "sliding_fee_scale",
)  # fmt: skip
LEVELS = ("outpatient", "residential", "inpatient")
NETWORK_COLUMNS = (
    "neighbour_rank", "org_id", "name", "org_type", "city", "state", "distance_miles", "strength",
)  # fmt: skip


@dataclasses.dataclass
class DirectoryIndex:
    located: dict[str, np.ndarray]  # organizations with coordinates, sorted by latitude
    lat: np.ndarray
    lon: np.ndarray
    org_ids: np.ndarray
    types: np.ndarray
    treatment: dict[str, np.ndarray]  # treatment centers sorted by state, name, org_id
    state_slices: dict[str, tuple[int, int]]
    flags: dict[str, np.ndarray]
    stats: list[dict[str, Any]]
    network_keys: np.ndarray | None = None  # org_id per relationship, sorted
    network: dict[str, np.ndarray] | None = None
    serves_availability: bool = True  # False: loaded without the treatment-center copy

    #: Relationships loaded into memory at most (beyond: network lookups use the engine).
    MAX_NETWORK_ROWS: ClassVar[int] = 5_000_000

    @classmethod
    def load(cls, session: WarehouseSession, service_availability: bool = True) -> DirectoryIndex:
        """Load from the directory tables; ``service_availability=False`` leaves out the
        second copy of the treatment centers that only that query uses (at x100 about half
        of the memory; the API does not serve that query)."""
        columns = ", ".join(DISPLAY_COLUMNS)
        located = session.fetch_df(
            f"SELECT {columns} FROM directory.organizations WHERE latitude IS NOT NULL "
            "ORDER BY latitude, org_id"
        )
        treatment = session.fetch_df(
            f"SELECT {columns}, level_of_care, {', '.join(FLAG_COLUMNS)} "
            "FROM directory.organizations WHERE org_type = 'treatment_center' "
            + ("" if service_availability else "AND false ")
            + "ORDER BY state, name, org_id"
        )
        states = treatment["state"].to_numpy()
        slices: dict[str, tuple[int, int]] = {}
        if len(states):
            change = np.flatnonzero(states[1:] != states[:-1]) + 1
            starts = np.concatenate(([0], change))
            ends = np.concatenate((change, [len(states)]))
            slices = {str(states[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
        flags = {c: treatment[c].fillna(False).to_numpy(dtype=bool) for c in FLAG_COLUMNS}
        for level in LEVELS:
            flags[f"level_of_care = '{level}'"] = (treatment["level_of_care"] == level).to_numpy()
        from directory_assets.queries import directory_stats

        network_keys = network = None
        table = "directory.network_relationships"
        if session.table_exists(table) and session.row_count(table) <= cls.MAX_NETWORK_ROWS:
            frame = session.fetch_df(
                "SELECT org_id AS key, neighbour_rank, related_org_id AS org_id, related_name AS name, "
                "related_org_type AS org_type, related_city AS city, related_state AS state, "
                "distance_miles, strength "
                "FROM directory.network_relationships ORDER BY key, neighbour_rank"
            )
            network_keys = frame["key"].to_numpy(dtype=object)
            network = _columns(frame, NETWORK_COLUMNS)
        return cls(
            located=_columns(located),
            lat=located["latitude"].to_numpy(dtype=float),
            lon=located["longitude"].to_numpy(dtype=float),
            org_ids=located["org_id"].to_numpy(dtype=object),
            types=located["org_type"].to_numpy(dtype=object),
            treatment=_columns(treatment),
            state_slices=slices,
            flags=flags,
            stats=directory_stats(session),
            network_keys=network_keys,
            network=network,
            serves_availability=service_availability,
        )

    def nearby(
        self,
        lat: float,
        lon: float,
        miles: float,
        limit: int,
        org_type: str | None,
        box: tuple[float, float, float, float],
    ) -> list[dict[str, Any]]:
        lat_min, lat_max, lon_min, lon_max = box
        start, stop = np.searchsorted(self.lat, [lat_min, lat_max], side="left")
        stop = np.searchsorted(self.lat, lat_max, side="right")
        lons = self.lon[start:stop]
        candidates = np.flatnonzero((lons >= lon_min) & (lons <= lon_max)) + start
        if org_type is not None:
            candidates = candidates[self.types[candidates] == org_type]
        if not len(candidates):
            return []
        distances = haversine_miles(lat, lon, self.lat[candidates], self.lon[candidates])
        keep = distances <= miles
        candidates, distances = candidates[keep], distances[keep]
        if len(candidates) > limit:
            # Only the nearest ``limit`` (and ties with the last) need the sort by
            # (distance, org_id): sorting object-dtype ids of every candidate dominated
            # dense 50-mile searches at x100.
            kth = np.partition(distances, limit - 1)[limit - 1]
            keep = distances <= kth
            candidates, distances = candidates[keep], distances[keep]
        order = np.lexsort((self.org_ids[candidates], distances))[:limit]
        rows = _rows(self.located, candidates[order])
        for row, distance in zip(rows, distances[order], strict=True):
            row["distance_miles"] = round(float(distance), 3)
        return rows

    def neighbours(self, org_id: str, limit: int) -> list[dict[str, Any]] | None:
        """The network of ``org_id`` from memory, or None when it was not loaded."""
        if self.network is None or self.network_keys is None:
            return None
        start = np.searchsorted(self.network_keys, org_id, side="left")
        stop = np.searchsorted(self.network_keys, org_id, side="right")
        return _rows(self.network, np.arange(start, min(stop, start + limit)))

    def service_availability(
        self, state: str, predicates: list[str], limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        if not self.serves_availability:
            raise ValueError("This index was loaded without service availability.")
        start, stop = self.state_slices.get(state, (0, 0))
        mask = np.ones(stop - start, dtype=bool)
        for predicate in predicates:
            mask &= self.flags[predicate][start:stop]
        matches = np.flatnonzero(mask) + start
        rows = _rows(self.treatment, matches[:limit])
        return len(matches), rows


def _columns(
    frame: pd.DataFrame, names: tuple[str, ...] = DISPLAY_COLUMNS
) -> dict[str, np.ndarray]:
    """Columns as object arrays of plain Python values (None for NULL)."""
    out = {}
    for column in names:
        values = frame[column].astype(object)
        out[column] = values.where(values.notna(), None).to_numpy(dtype=object)
    return out


def _rows(columns: dict[str, np.ndarray], indexes: np.ndarray) -> list[dict[str, Any]]:
    taken = {name: values[indexes].tolist() for name, values in columns.items()}
    return [dict(zip(taken, values, strict=True)) for values in zip(*taken.values(), strict=True)]


def haversine_miles(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The same haversine as the SQL (mean Earth radius), vectorized."""
    p1, p2 = np.radians(lat), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.minimum(1.0, np.sqrt(a)))
