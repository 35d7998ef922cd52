"""Capture canonical entities (a patient and everything of theirs) as scenario entities."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from resources.warehouse import WarehouseSession

#: entity type, canonical table, key column (the entity UUID), patient column.
CAPTURED_TABLES = (
    ("patient", "healthsim.patients", "patient_id", "patient_id"),
    ("encounter", "healthsim.encounters", "encounter_id", "patient_id"),
    ("condition", "healthsim.conditions", "condition_id", "patient_id"),
    ("claim", "healthsim.claims", "claim_id", "patient_id"),
    ("medication", "healthsim.medications", "medication_id", "patient_id"),
    ("procedure", "healthsim.procedures", "procedure_id", "patient_id"),
)


def capture_patients(
    session: WarehouseSession, patient_ids: Sequence[str]
) -> list[tuple[str, str, Any]]:
    """``(entity_type, entity_id, data)`` for the patients and all their clinical rows."""
    ids = [p.strip().lower() for p in patient_ids]
    entities: list[tuple[str, str, Any]] = []
    for entity_type, table, key, patient_column in CAPTURED_TABLES:
        if not session.table_exists(table):
            continue
        # The row as a JSON object, its columns named (a struct both engines serialize alike).
        fields = ", ".join(f'"{name}" := t."{name}"' for name, _ in session.columns(table))
        rows = session.fetch_rows(
            f"SELECT {key}, CAST(to_json(struct_pack({fields})) AS VARCHAR) FROM {table} AS t "
            f"WHERE {patient_column} IN (SELECT unnest(CAST(? AS VARCHAR[]))) ORDER BY {key}",
            [ids],
        )
        entities.extend((entity_type, str(k), json.loads(data)) for k, data in rows)
    found = {e[1] for e in entities if e[0] == "patient"}
    missing = sorted(set(ids) - found)
    if missing:
        raise ValueError(f"Unknown patient id(s) {missing} (not in healthsim.patients).")
    return entities
