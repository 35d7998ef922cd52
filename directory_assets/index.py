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
compare both against an independent distance computation). Display columns are kept as
Arrow tables (compact strings, no Python object per value) and turned into dicts only for
the rows a query returns; the search itself works on NumPy arrays of coordinates, type
codes and org_id ranks. The network is held in memory up to ``MAX_NETWORK_ROWS``
relationships; beyond, lookups stay in the engine (a point read of a table sorted by org_id).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    located: pa.Table  # organizations with coordinates, sorted by latitude then org_id
    lat: np.ndarray
    lon: np.ndarray
    org_ranks: np.ndarray  # each located row's place in org_id order (distance ties)
    types: np.ndarray  # each located row's organization type as a code of type_names
    type_names: tuple[str, ...]
    treatment: pa.Table  # treatment centers sorted by state, name, org_id
    state_slices: dict[str, tuple[int, int]]
    flags: dict[str, np.ndarray]
    stats: list[dict[str, Any]]
    network_keys: pa.Array | None = None  # org_id per relationship, sorted
    network: pa.Table | None = None
    serves_availability: bool = True  # False: loaded without the treatment-center copy

    #: Relationships loaded into memory at most (beyond: network lookups use the engine).
    MAX_NETWORK_ROWS: ClassVar[int] = 5_000_000

    @classmethod
    def load(
        cls,
        session: WarehouseSession,
        service_availability: bool = True,
        extra_columns: Mapping[str, str] | None = None,
    ) -> DirectoryIndex:
        """Load from the directory tables.

        ``service_availability=False`` leaves out the second copy of the treatment centers
        that only that query uses (the API does not serve it); ``extra_columns`` adds SQL
        expressions (name -> expression over ``directory.organizations``) to the rows that
        radius searches return.
        """
        columns = ", ".join(DISPLAY_COLUMNS)
        extras = "".join(f", {sql} AS {name}" for name, sql in (extra_columns or {}).items())
        located = session.fetch_arrow(
            f"SELECT {columns}{extras} FROM directory.organizations WHERE latitude IS NOT NULL "
            "ORDER BY latitude, org_id"
        )
        treatment = session.fetch_arrow(
            f"SELECT {columns}, level_of_care, {', '.join(FLAG_COLUMNS)} "
            "FROM directory.organizations WHERE org_type = 'treatment_center' "
            + ("" if service_availability else "AND false ")
            + "ORDER BY state, name, org_id"
        )
        states = np.asarray(treatment.column("state").to_pylist(), dtype=object)
        slices: dict[str, tuple[int, int]] = {}
        if len(states):
            change = np.flatnonzero(states[1:] != states[:-1]) + 1
            starts = np.concatenate(([0], change))
            ends = np.concatenate((change, [len(states)]))
            slices = {str(states[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
        flags = {c: _bools(treatment.column(c)) for c in FLAG_COLUMNS}
        levels = np.asarray(treatment.column("level_of_care").to_pylist(), dtype=object)
        for level in LEVELS:
            flags[f"level_of_care = '{level}'"] = levels == level
        from directory_assets.queries import directory_stats

        network_keys = network = None
        table = "directory.network_relationships"
        if session.table_exists(table) and session.row_count(table) <= cls.MAX_NETWORK_ROWS:
            network = session.fetch_arrow(
                "SELECT org_id AS key, neighbour_rank, related_org_id AS org_id, related_name AS name, "
                "related_org_type AS org_type, related_city AS city, related_state AS state, "
                "distance_miles, strength "
                "FROM directory.network_relationships ORDER BY key, neighbour_rank"
            )
            # Kept as Arrow: no Python object per key for the garbage collector to walk, and
            # nothing to convert while the API swaps snapshots (a NumPy copy of the keys held
            # the interpreter for ~0.3 s at x1, stalling every request of the swap).
            network_keys = network.column("key").combine_chunks()
            network = network.select(list(NETWORK_COLUMNS))
        type_codes = located.column("org_type").dictionary_encode().combine_chunks()
        by_org_id = pc.sort_indices(located.column("org_id")).to_numpy()
        org_ranks = np.empty(len(by_org_id), dtype=np.int64)
        org_ranks[by_org_id] = np.arange(len(by_org_id))
        return cls(
            located=located.combine_chunks(),
            lat=located.column("latitude").to_numpy().astype(float),
            lon=located.column("longitude").to_numpy().astype(float),
            org_ranks=org_ranks,
            types=type_codes.indices.to_numpy(zero_copy_only=False),
            type_names=tuple(type_codes.dictionary.to_pylist()),
            treatment=treatment.select(list(DISPLAY_COLUMNS)).combine_chunks(),
            state_slices=slices,
            flags=flags,
            stats=directory_stats(session),
            network_keys=network_keys,
            network=None if network is None else network.combine_chunks(),
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
        start = np.searchsorted(self.lat, lat_min, side="left")
        stop = np.searchsorted(self.lat, lat_max, side="right")
        lons = self.lon[start:stop]
        candidates = np.flatnonzero((lons >= lon_min) & (lons <= lon_max)) + start
        if org_type is not None:
            if org_type not in self.type_names:
                return []
            candidates = candidates[self.types[candidates] == self.type_names.index(org_type)]
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
        order = np.lexsort((self.org_ranks[candidates], distances))[:limit]
        rows = _rows(self.located, candidates[order])
        for row, distance in zip(rows, distances[order], strict=True):
            row["distance_miles"] = round(float(distance), 3)
        return rows

    def neighbours(self, org_id: str, limit: int) -> list[dict[str, Any]] | None:
        """The network of ``org_id`` from memory, or None when it was not loaded."""
        if self.network is None or self.network_keys is None:
            return None
        keys = self.network_keys
        start = bisect.bisect_left(keys, org_id, key=_text)
        stop = bisect.bisect_right(
            keys, org_id, lo=start, hi=min(len(keys), start + limit), key=_text
        )
        return _rows(self.network, np.arange(start, stop))

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


def _text(value: pa.Scalar) -> str | None:
    return value.as_py()


def _bools(column: pa.ChunkedArray) -> np.ndarray:
    """A boolean column as a NumPy mask, NULL as False."""
    return column.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def _rows(table: pa.Table, indexes: np.ndarray) -> list[dict[str, Any]]:
    """The rows at ``indexes`` as dicts of plain Python values (None for NULL)."""
    return table.take(np.asarray(indexes, dtype=np.int64)).to_pylist()


def haversine_miles(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The same haversine as the SQL (mean Earth radius), vectorized."""
    p1, p2 = np.radians(lat), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.minimum(1.0, np.sqrt(a)))
