"""FHIR in, quarantine: resources the canonical tables could not use (an impossible or
missing key date, a patient or encounter that did not land usable) are rejected with an
OperationOutcome naming the element at fault; only usable ones reach the canonical rows."""

import json

import dagster as dg
import duckdb
from fhir.resources.R4B.operationoutcome import OperationOutcome

SELECTION = dg.AssetSelection.assets(
    *(
        dg.AssetKey(["fhir_in", name])
        for name in (
            "resources",
            "imported_patients",
            "imported_encounter_resources",
            "imported_condition_resources",
            "canonical_encounters",
            "canonical_conditions",
        )
    )
)


def patient(pid: str, birth: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth}


def encounter(eid: str, subject: str, start: str | None = "2020-01-01T10:00:00Z") -> dict:
    resource = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": subject},
    }
    if start:
        resource["period"] = {"start": start}
    return resource


def condition(cid: str, subject: str, encounter: str | None, onset: str = "2020-01-01") -> dict:
    resource = {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "subject": {"reference": subject},
        "onsetDateTime": onset,
    }
    if encounter:
        resource["encounter"] = {"reference": encounter}
    return resource


def test_unusable_resources_are_quarantined_with_an_operation_outcome(
    landing_dir, materialize, warehouse_path
):
    folder = landing_dir / "fhir"
    folder.mkdir(parents=True)
    files = {
        "Patient.ndjson": [
            patient("p-ok", "1980-02-03"),
            patient("p-bad", "1980-02-30"),
            patient("p-text", "yesterday"),
        ],
        "Encounter.ndjson": [
            encounter("e-ok", "Patient/p-ok"),
            encounter("e-ghost", "Patient/ghost"),
            encounter("e-rejected-patient", "Patient/p-bad"),
            encounter("e-no-start", "Patient/p-ok", start=None),
        ],
        "Condition.ndjson": [
            condition("c-ok", "urn:uuid:p-ok", "Encounter/e-ok"),
            condition("c-rejected-encounter", "Patient/p-ok", "Encounter/e-ghost"),
            condition("c-impossible", "Patient/p-ok", "Encounter/e-ok", onset="2020-13-01"),
            condition("c-no-encounter", "Patient/p-ok", None),
        ],
    }
    for name, resources in files.items():
        (folder / name).write_text("\n".join(json.dumps(r) for r in resources) + "\n")

    assert materialize(SELECTION).success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        loaded = con.execute("SELECT id FROM fhir_in.resources ORDER BY id").fetchall()
        rejected = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT id, issue_code, expression, reason, outcome_json "
                "FROM fhir_in.rejected_resources"
            ).fetchall()
        }
        conditions = con.execute(
            "SELECT condition_id, patient_id, encounter_id, onset_date "
            "FROM fhir_in.canonical_conditions"
        ).fetchall()
    assert loaded == [("c-ok",), ("e-ok",), ("p-ok",)]
    assert len(loaded) + len(rejected) == sum(len(r) for r in files.values())
    assert {rid: row[:2] for rid, row in rejected.items()} == {
        "p-bad": ("value", "Patient.birthDate"),
        "p-text": ("value", "Patient.birthDate"),
        "e-ghost": ("not-found", "Encounter.subject"),
        "e-rejected-patient": ("not-found", "Encounter.subject"),
        "e-no-start": ("required", "Encounter.period.start"),
        "c-rejected-encounter": ("not-found", "Condition.encounter"),
        "c-impossible": ("value", "Condition.onsetDateTime"),
        "c-no-encounter": ("required", "Condition.encounter"),
    }
    assert "impossible date: 1980-02-30" in rejected["p-bad"][2]
    assert "Encounter/e-ghost" in rejected["c-rejected-encounter"][2]
    for rid, (code, expression, reason, outcome_json) in rejected.items():
        outcome = json.loads(outcome_json)
        OperationOutcome.model_validate(outcome)
        issue = outcome["issue"][0]
        assert (issue["severity"], issue["code"], issue["expression"]) == (
            "error",
            code,
            [expression],
        ), rid
        assert issue["diagnostics"].endswith(reason), rid
        assert f"{expression.split('.')[0]}.ndjson line " in issue["diagnostics"], rid
    assert [(c[0], c[1], c[2], str(c[3])) for c in conditions] == [
        ("c-ok", "p-ok", "e-ok", "2020-01-01")
    ]
