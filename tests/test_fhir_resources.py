"""The whole clinical record as FHIR R4: every resource type from the canonical HealthSim
tables validates against the FHIR model, carries its code systems, and every reference
between resources resolves."""

import importlib
import json
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from fhir_assets.clinical.assets import MAPPINGS, PATIENT_RESOURCES

CLINICAL = dg.AssetSelection.assets(*[m.key for m in MAPPINGS]).upstream()

#: Resource type -> (JSON member holding its code, the code system it must carry).
CODE_SYSTEMS = {
    "Encounter": ("type", "http://snomed.info/sct"),
    "Condition": ("code", "http://snomed.info/sct"),
    "Observation": ("code", "http://loinc.org"),
    "MedicationRequest": (
        "medicationCodeableConcept",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
    ),
    "Procedure": ("code", "http://snomed.info/sct"),
    "Immunization": ("vaccineCode", "http://hl7.org/fhir/sid/cvx"),
}


@pytest.fixture
def clinical_record(sample_sources, materialize, landing_dir, warehouse_path, request) -> dict:
    """Generated HealthSim patients (and the Synthea sample when present) as FHIR resources."""
    sample_sources(
        "reference/states",
        "reference/places",
        "reference/svi",
        "reference/adi",
        "healthsim",
        healthsim_patients=60,
    )
    shared = Path(request.config.rootpath).parent / "shared" / "data" / "synthea"
    if shared.is_dir():
        shutil.copytree(shared, landing_dir / "synthea")
    result = materialize(CLINICAL)
    assert result.success
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
        if c.asset_key.path[0] == "fhir"
    }
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        resources = {
            m.resource_type: [
                json.loads(r)
                for (r,) in con.execute(f"SELECT resource_json FROM {m.table}").fetchall()
            ]
            for m in MAPPINGS
        }
        resources["Patient"] = [
            json.loads(r)
            for (r,) in con.execute(f"SELECT resource_json FROM {PATIENT_RESOURCES[1]}").fetchall()
        ]
    return {"resources": resources, "checks": checks, "synthea": shared.is_dir()}


@pytest.mark.slow
def test_the_whole_record_as_fhir(
    clinical_record, warehouse_path, tmp_path, materialize, landing_dir
):
    """One materialization (about a minute) serves every assertion below."""
    assert_every_resource_validates_and_references_resolve(clinical_record)
    assert_codes_carry_their_systems_and_values_their_units(clinical_record)
    system_export = assert_bulk_export_of_every_type_and_of_a_group(clinical_record, tmp_path)
    assert_fhir_in_reads_the_export_back(system_export, materialize, landing_dir, warehouse_path)
    assert_reference_check_fails_on_a_dangling_reference(warehouse_path)


def assert_fhir_in_reads_the_export_back(folder, materialize, landing_dir, warehouse_path):
    """A Bulk export read back in gives the same resources; damaged items are quarantined."""
    target = landing_dir / "fhir"
    target.mkdir()
    exported = {}
    for ndjson in folder.glob("*.ndjson"):
        if ndjson.stem != "OperationOutcome":
            shutil.copy(ndjson, target / ndjson.name)
            exported[ndjson.stem] = {
                json.loads(line)["id"]: json.loads(line) for line in ndjson.read_text().splitlines()
            }
    patient = next(iter(exported["Patient"].values()))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"fullUrl": "urn:uuid:x", "resource": patient}, {"request": {"method": "GET"}}],
    }
    (target / "bundle.json").write_text(json.dumps(bundle))
    damaged = [
        "not json",
        json.dumps({"resourceType": "Basic", "id": "b1"}),
        json.dumps({"resourceType": "Condition", "code": {}}),
        json.dumps({"resourceType": "Condition", "id": "no-subject"}),
        json.dumps({"id": "no-type"}),
    ]
    (target / "damaged.ndjson").write_text("\n".join(damaged) + "\n")
    result = materialize(
        dg.AssetSelection.groups("fhir_clinical") & dg.AssetSelection.key_prefixes(["fhir_in"])
    )
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        loaded = con.execute(
            "SELECT resource_type, id, resource_json FROM fhir_in.resources"
        ).fetchall()
        rejected = dict(
            con.execute(
                "SELECT reason, count(*) FROM fhir_in.rejected_resources GROUP BY 1"
            ).fetchall()
        )
        outcomes = [
            json.loads(o)
            for (o,) in con.execute(
                "SELECT outcome_json FROM fhir_in.rejected_resources"
            ).fetchall()
        ]
        per_type = dict(
            con.execute(
                "SELECT 'Encounter', count(*) FROM fhir_in.imported_encounter_resources"
            ).fetchall()
        )
    back = {}
    for kind, resource_id, text in loaded:
        back.setdefault(kind, {})[resource_id] = json.loads(text)
    assert back == exported  # the round trip keeps every resource, member for member
    assert per_type["Encounter"] == len(exported["Encounter"])
    items = sum(len(v) for v in exported.values()) + 2 + len(damaged)
    assert len(loaded) + sum(rejected.values()) == items  # read = loaded + quarantined
    assert rejected == {
        "not a JSON object": 1,
        "resourceType Basic is not supported": 1,
        "id is missing": 1,
        "Condition names no patient (subject or patient reference)": 1,
        "resourceType is missing": 1,
        "a Bundle entry without a resource": 1,
        f"duplicate of a later copy of Patient/{patient['id']}": 1,
    }
    assert all(
        o["resourceType"] == "OperationOutcome" and o["issue"][0]["diagnostics"] for o in outcomes
    )


def assert_bulk_export_of_every_type_and_of_a_group(clinical_record, tmp_path):
    from fhir_assets.export import export_bulk
    from fhir_assets.healthsim.scenarios.capture import capture_patients
    from fhir_assets.healthsim.scenarios.store import ScenarioStore
    from resources import local_warehouse

    resources = clinical_record["resources"]
    with local_warehouse().session() as session:
        folder, manifest = export_bulk(session, tmp_path / "system")
        counts = {entry["type"]: entry["count"] for entry in manifest["output"]}
        assert manifest["request"].endswith("$export") and manifest["requiresAccessToken"] is False
        for mapping in MAPPINGS:
            assert counts[mapping.resource_type] == len(resources[mapping.resource_type])
            lines = (folder / f"{mapping.resource_type}.ndjson").read_text().splitlines()
            assert [json.loads(line) for line in lines] == sorted(
                resources[mapping.resource_type], key=lambda r: r["id"]
            )
            assert (folder / f"{mapping.resource_type}.parquet").is_file()
        assert counts["Patient"] >= len(resources["Patient"])
        # A group: two patients saved as a scenario; only they and what they point at.
        members = sorted(r["subject"]["reference"][8:] for r in resources["Encounter"])[:1]
        members += [r["id"] for r in resources["Patient"] if r["id"] not in members][:1]
        ScenarioStore(session).save("export-group", capture_patients(session, members))
        group_folder, group_manifest = export_bulk(
            session, tmp_path / "group", group="export-group"
        )
    assert group_manifest["request"].endswith("Group/export-group/$export")
    exported = {
        entry["type"]: [
            json.loads(line)
            for line in (group_folder / f"{entry['type']}.ndjson").read_text().splitlines()
        ]
        for entry in group_manifest["output"]
    }
    assert sorted(r["id"] for r in exported["Patient"]) == sorted(members)
    assert exported["Encounter"] and len(exported["Encounter"]) < len(resources["Encounter"])
    pattern = re.compile(r'"reference": ?"([A-Za-z]+/[^"]+)"')
    present = {f"{t}/{r['id']}" for t, rs in exported.items() for r in rs}
    for kind, rs in exported.items():
        for resource in rs:
            for ref in pattern.findall(json.dumps(resource)):
                assert ref in present, (kind, ref)  # the group export is self-contained
    return folder


def assert_every_resource_validates_and_references_resolve(clinical_record):
    resources = clinical_record["resources"]
    assert all(resources[m.resource_type] for m in MAPPINGS), {
        t: len(r) for t, r in resources.items()
    }
    for mapping in MAPPINGS:
        module = importlib.import_module(f"fhir.resources.R4B.{mapping.resource_type.lower()}")
        model = getattr(module, mapping.resource_type)
        for resource in resources[mapping.resource_type]:
            assert resource["resourceType"] == mapping.resource_type
            model.model_validate(resource)
    # Every reference names a resource that exists, checked here independently of the asset
    # checks, which must agree.
    known = {f"{t}/{r['id']}" for t, rs in resources.items() for r in rs}
    pattern = re.compile(r'"reference": ?"([A-Za-z]+/[^"]+)"')
    references = [
        ref for rs in resources.values() for r in rs for ref in pattern.findall(json.dumps(r))
    ]
    assert references and not [ref for ref in references if ref not in known]
    assert {ref.split("/")[0] for ref in references} >= {
        "Patient", "Encounter", "Organization", "Practitioner",
    }  # fmt: skip
    assert clinical_record["checks"] and all(clinical_record["checks"].values())
    encounter_ids = {f"Encounter/{r['id']}" for r in resources["Encounter"]}
    assert all(c["encounter"]["reference"] in encounter_ids for c in resources["Condition"])


def assert_codes_carry_their_systems_and_values_their_units(clinical_record):
    resources = clinical_record["resources"]
    for resource_type, (member, system) in CODE_SYSTEMS.items():
        for resource in resources[resource_type]:
            concept = (
                resource[member][0] if isinstance(resource[member], list) else resource[member]
            )
            assert concept["coding"][0]["system"] == system, resource
            assert concept["coding"][0]["code"]
    quantities = [o["valueQuantity"] for o in resources["Observation"] if "valueQuantity" in o]
    assert quantities and all(
        q["system"] == "http://unitsofmeasure.org" and q["code"] == q["unit"]
        for q in quantities
        if "unit" in q
    )
    assert {q["code"] for q in quantities if "code" in q} >= {"cm", "kg", "mm[Hg]"}
    assert any("valueString" in o for o in resources["Observation"])  # survey answers
    profiles = {
        r["resourceType"]: r["meta"]["profile"][0]
        for rs in resources.values()
        for r in rs
        if "meta" in r
    }
    assert profiles["Encounter"].endswith("us-core-encounter")
    assert profiles["AllergyIntolerance"].endswith("us-core-allergyintolerance")


def assert_reference_check_fails_on_a_dangling_reference(warehouse_path):
    from fhir_assets.clinical.assets import BY_TYPE, unresolved_references
    from resources import local_warehouse

    mapping = BY_TYPE["Condition"]
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            f"DELETE FROM {BY_TYPE['Encounter'].table} WHERE id IN (SELECT encounter_id FROM {mapping.table} LIMIT 1)"
        )
    with local_warehouse().session() as session:
        missing = unresolved_references(session, mapping)
    assert missing and all(ref.startswith("Encounter/") for _, ref in missing)
