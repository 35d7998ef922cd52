"""Out of memory is reported as out of memory, naming the settings to change.

Before, a patient file DuckDB could not read within DUCKDB_MEMORY_LIMIT failed the run as
"Unreadable patient file big.json: cannot read as json: Out of Memory Error ...", which
sends an operator to the file instead of the setting.
"""

from __future__ import annotations

import json

import dagster as dg


def test_a_patient_file_too_big_for_the_memory_limit_names_the_setting(
    materialize, landing_dir, monkeypatch
) -> None:
    folder = landing_dir / "patients"
    folder.mkdir(parents=True)
    rows = [
        {
            "patient_id": f"P{i}",
            "first_name": "A" * 40,
            "last_name": "B" * 40,
            "birth_date": "1970-01-01",
            "gender": "F",
        }
        for i in range(150_000)
    ]
    (folder / "big.json").write_text(json.dumps(rows))
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "4MB")
    result = materialize(dg.AssetSelection.keys(["fhir", "patient_data"]), raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "ran out of memory while reading big.json" in message, message
    assert "DUCKDB_MEMORY_LIMIT" in message
    assert "Unreadable patient file" not in message
