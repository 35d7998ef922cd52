"""Helpers for the FHIR tests (no tests here)."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_assets.patient_mapping import MAPPING_INPUT_VIEW, mapping_input_sql

#: The earlier form of the mapping, kept as the reference its output must equal: the
#: resource as one struct, serialised by to_json, with every null member cut out by a
#: regular expression over the whole document (5x slower than building the JSON directly).
STRUCT_MAPPING = Path(__file__).resolve().parents[1] / "fixtures" / "patient_to_fhir_struct.sql"


def struct_mapping_json(session, input_sql: str) -> dict[str, dict]:
    """The reference mapping's resources by id, as parsed JSON."""
    available = {
        c.lower() for c in session.fetch_df(f"SELECT * FROM ({input_sql}) AS probe LIMIT 0").columns
    }
    session.execute(
        f"CREATE OR REPLACE TEMP VIEW {MAPPING_INPUT_VIEW} AS\n{mapping_input_sql(input_sql, available)}"
    )
    return {
        str(i): json.loads(r)
        for i, r in session.fetch_rows(
            f"SELECT id, resource_json FROM ({STRUCT_MAPPING.read_text()}) AS reference"
        )
    }
