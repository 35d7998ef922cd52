"""FHIR Bulk export of a group: self-contained, so an import of it resolves every reference,
including the organization a referenced practitioner works at."""

import json

from fhir_assets.export import export_bulk
from resources import local_warehouse


def resource(kind: str, rid: str, **members: object) -> str:
    return json.dumps({"resourceType": kind, "id": rid, **members}, separators=(",", ":"))


def test_group_export_carries_the_organization_of_a_referenced_practitioner(tmp_path):
    with local_warehouse().session() as session:
        for statement in (
            "CREATE SCHEMA IF NOT EXISTS fhir",
            "CREATE SCHEMA IF NOT EXISTS healthsim",
            "CREATE TABLE healthsim.scenarios AS SELECT 's1' AS scenario_id, 'group' AS name",
            "CREATE TABLE healthsim.scenario_entities AS "
            "SELECT 's1' AS scenario_id, 'patient' AS entity_type, 'p1' AS entity_id",
        ):
            session.execute(statement)
        tables = {
            "fhir.fhir_patients": [("p1", resource("Patient", "p1")), ("p2", resource("Patient", "p2"))],
            "fhir.encounter_resources": [
                ("e1", resource("Encounter", "e1", subject={"reference": "Patient/p1"},
                    participant=[{"individual": {"reference": "Practitioner/pr1"}}],
                    serviceProvider={"reference": "Organization/o1"}), "p1"),
                ("e2", resource("Encounter", "e2", subject={"reference": "Patient/p2"},
                    serviceProvider={"reference": "Organization/o3"}), "p2"),
            ],
            "fhir.practitioner_resources": [
                ("pr1", resource("Practitioner", "pr1", extension=[{
                    "url": "urn:narr-platform:fhir:extension:organization",
                    "valueReference": {"reference": "Organization/o2"}}])),
                ("pr2", resource("Practitioner", "pr2")),
            ],
            "fhir.organization_resources": [
                (o, resource("Organization", o)) for o in ("o1", "o2", "o3")
            ],
        }  # fmt: skip
        for table, rows in tables.items():
            columns = "id, resource_json" + (", patient_id" if len(rows[0]) == 3 else "")
            values = ", ".join(
                "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in row) + ")" for row in rows
            )
            session.execute(
                f"CREATE TABLE {table} AS SELECT * FROM (VALUES {values}) AS t({columns})"
            )
        folder, manifest = export_bulk(session, tmp_path, group="group")
    exported = {
        entry["type"]: sorted(
            json.loads(line)["id"]
            for line in (folder / f"{entry['type']}.ndjson").read_text().splitlines()
        )
        for entry in manifest["output"]
    }
    assert exported == {
        "Patient": ["p1"],
        "Encounter": ["e1"],
        "Practitioner": ["pr1"],
        "Organization": ["o1", "o2"],  # o2: where pr1 works; o3 belongs to another patient
    }
