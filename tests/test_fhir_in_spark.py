"""FHIR in on Spark: the same landed resources give the same quarantine and the same
canonical rows on a real Spark Connect server as on DuckDB (the import SQL is written once)."""

import datetime as dt
import decimal
import json
import math
from typing import Any

import dagster as dg

from fhir_assets.clinical.fhir_in_canonical import IMPORTS

pytest_plugins = ["tests.support.spark_server"]

X = "urn:narr-platform:fhir:extension:"
GEO = "http://hl7.org/fhir/StructureDefinition/geolocation"
SYN = "https://github.com/synthetichealth/synthea"


def money(name: str, value: float) -> dict:
    return {"url": X + name, "valueMoney": {"value": value, "currency": "USD"}}


def geolocation(lat: float, lon: float) -> dict:
    return {
        "url": GEO,
        "extension": [
            {"url": "latitude", "valueDecimal": lat},
            {"url": "longitude", "valueDecimal": lon},
        ],
    }


P, E, ORG, PAY, PR = "p-1", "e-1", "o-1", "pay-1", "pr-1"
RESOURCES: dict[str, list[dict]] = {
    "Patient": [
        {
            "resourceType": "Patient",
            "id": P,
            "extension": [
                {
                    "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                    "extension": [
                        {"url": "ombCategory", "valueCoding": {"code": "2106-3"}},
                        {"url": "text", "valueString": "White"},
                    ],
                },
                money("healthcare-expenses", 1234.5),
                money("healthcare-coverage", 10),
            ],
            "name": [{"family": "Lee", "given": ["Ann"]}],
            "gender": "female",
            "birthDate": "1980-02-03",
            "deceasedDateTime": "2020-05-06T07:08:09-05:00",
            "address": [
                {
                    "extension": [geolocation(42.4184296, -71.1061639)],
                    "line": ["1 Main St"],
                    "city": "Medford",
                    "district": "Middlesex County",
                    "state": "Massachusetts",
                    "postalCode": "02155-1234",
                }
            ],
            "maritalStatus": {"coding": [{"code": "M"}], "text": "M"},
        },
        {"resourceType": "Patient", "id": "p-bad", "birthDate": "1980-02-30"},
    ],
    "Organization": [
        {
            "resourceType": "Organization",
            "id": ORG,
            "type": [{"coding": [{"code": "prov"}]}],
            "name": "Clinic",
            "address": [
                {"extension": [geolocation(42.1, -71.2)], "line": ["2 Elm"], "state": "MA"}
            ],
        },
        {
            "resourceType": "Organization",
            "id": PAY,
            "type": [{"coding": [{"code": "pay"}]}],
            "name": "Medicare",
            "telecom": [{"system": "phone", "value": "1-800"}],
            "address": [{"city": "Baltimore", "state": "MD", "postalCode": "21244"}],
        },
    ],
    "Practitioner": [
        {
            "resourceType": "Practitioner",
            "id": PR,
            "extension": [
                {"url": X + "organization", "valueReference": {"reference": f"Organization/{ORG}"}}
            ],
            "name": [{"text": "Ann Marie Lee", "family": "Marie"}],
            "gender": "female",
            "qualification": [{"code": {"text": "GENERAL PRACTICE"}}],
        }
    ],
    "Encounter": [
        {
            "resourceType": "Encounter",
            "id": E,
            "extension": [
                money("base-cost", 85.55),
                money("total-claim-cost", 100),
                money("payer-coverage", 12.3),
                {"url": X + "payer", "valueReference": {"reference": f"Organization/{PAY}"}},
            ],
            "status": "finished",
            "class": {"code": "AMB"},
            "type": [
                {"coding": [{"code": "185349003", "display": "Check up"}], "text": "Check up"},
                {
                    "coding": [
                        {"system": "urn:narr-platform:fhir:encounter-class", "code": "wellness"}
                    ]
                },
            ],
            "subject": {"reference": f"urn:uuid:{P}"},
            "participant": [{"individual": {"identifier": {"system": SYN, "value": "pr-gone"}}}],
            "period": {"start": "2020-01-01T10:00:00+02:00", "end": "2020-01-01T10:30:00Z"},
            "serviceProvider": {"reference": f"Organization/{ORG}"},
        }
    ],
    "Condition": [
        {
            "resourceType": "Condition",
            "id": "c-1",
            "code": {"coding": [{"code": "44054006", "display": "Diabetes"}], "text": "Diabetes"},
            "subject": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "onsetDateTime": "2020-01-01",
            "abatementDateTime": "2021-02-03",
        },
        {
            "resourceType": "Condition",
            "id": "c-ghost",
            "subject": {"reference": "Patient/ghost"},
            "encounter": {"reference": f"Encounter/{E}"},
            "onsetDateTime": "2020-01-01",
        },
    ],
    "Observation": [
        {
            "resourceType": "Observation",
            "id": "ob-1",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"code": "8302-2"}], "text": "Body Height"},
            "subject": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "effectiveDateTime": "2020-01-01T10:00:00Z",
            "valueQuantity": {"value": 172.25, "unit": "cm"},
        },
        {
            "resourceType": "Observation",
            "id": "ob-2",
            "extension": [{"url": X + "value-units", "valueString": "{score}"}],
            "code": {"coding": [{"code": "72166-2"}]},
            "subject": {"reference": f"Patient/{P}"},
            "effectiveDateTime": "2020-01-01T10:00:00Z",
            "valueString": "Never smoked",
        },
    ],
    "MedicationRequest": [
        {
            "resourceType": "MedicationRequest",
            "id": "m-1",
            "extension": [
                money("base-cost", 1.5),
                money("payer-coverage", 0),
                money("total-cost", 3),
                {"url": X + "payer", "valueReference": {"identifier": {"value": "pay-gone"}}},
            ],
            "medicationCodeableConcept": {"coding": [{"code": "860975"}], "text": "Metformin"},
            "subject": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "authoredOn": "2020-01-01T10:00:00Z",
            "reasonCode": [{"coding": [{"code": "44054006"}]}],
            "dispenseRequest": {
                "validityPeriod": {"start": "2020-01-01T10:00:00Z", "end": "2020-03-01T10:00:00Z"},
                "numberOfRepeatsAllowed": 1,
            },
        }
    ],
    "Procedure": [
        {
            "resourceType": "Procedure",
            "id": "pc-1",
            "extension": [money("base-cost", 500)],
            "code": {"coding": [{"code": "430193006"}], "text": "Medication reconciliation"},
            "subject": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "performedPeriod": {"start": "2020-01-01T10:00:00Z"},
        }
    ],
    "Immunization": [
        {
            "resourceType": "Immunization",
            "id": "i-1",
            "extension": [money("base-cost", 140.52)],
            "vaccineCode": {"coding": [{"code": "140", "display": "Influenza"}]},
            "patient": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "occurrenceDateTime": "2020-01-01T10:00:00Z",
        }
    ],
    "AllergyIntolerance": [
        {
            "resourceType": "AllergyIntolerance",
            "id": "a-1",
            "extension": [{"url": X + "resolved-date", "valueDate": "2021-01-01"}],
            "type": "allergy",
            "category": ["food"],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91935009"}]},
            "patient": {"reference": f"Patient/{P}"},
            "encounter": {"reference": f"Encounter/{E}"},
            "onsetDateTime": "2019-06-01",
            "reaction": [
                {"manifestation": [{"coding": [{"code": "247472004"}]}], "severity": "mild"}
            ],
        }
    ],
    "Claim": [
        {
            "resourceType": "Claim",
            "id": "cl-1",
            "extension": [
                {"url": X + "claim-status", "valueCode": "CLOSED"},
                money("outstanding-amount", 20.05),
            ],
            "type": {
                "coding": [
                    {"code": "institutional"},
                    {"system": "urn:narr-platform:fhir:healthcare-claim-type", "code": "1"},
                ]
            },
            "patient": {"reference": f"Patient/{P}"},
            "billablePeriod": {"start": "2020-01-01T10:00:00Z"},
            "provider": {"reference": f"Practitioner/{PR}"},
            "insurer": {"reference": f"Organization/{PAY}"},
            "diagnosis": [
                {
                    "sequence": 1,
                    "diagnosisCodeableConcept": {"coding": [{"code": "44054006"}]},
                    "type": [{"coding": [{"code": "principal"}]}],
                },
                {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"code": "15777000"}]}},
            ],
            "item": [{"sequence": 1, "encounter": [{"reference": f"Encounter/{E}"}]}],
            "total": {"value": 100.1, "currency": "USD"},
        }
    ],
}


def normal(value: Any) -> Any:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else float(f"{value:.12g}")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


TABLES = {
    "fhir_in.resources": "SELECT resource_type, id, source_line FROM fhir_in.resources",
    "fhir_in.rejected_resources": (
        "SELECT id, reason, issue_code, expression, outcome_json FROM fhir_in.rejected_resources"
    ),
    **{spec.table: f"SELECT * FROM {spec.table}" for spec in IMPORTS},
}


def snapshot(warehouse) -> dict[str, list[tuple]]:
    with warehouse.session() as session:
        return {
            table: sorted(
                (tuple(normal(v) for v in row) for row in session.fetch_rows(sql)),
                key=repr,
            )
            for table, sql in TABLES.items()
        }


def test_fhir_in_gives_the_same_rows_on_spark_and_duckdb(
    spark_env, landing_dir, materialize, monkeypatch
):
    from resources import local_warehouse
    from resources.spark_warehouse import build_spark_warehouse

    folder = landing_dir / "fhir"
    folder.mkdir(parents=True)
    for kind, resources in RESOURCES.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    selection = dg.AssetSelection.key_prefixes(["fhir_in"])
    geography = (
        "SELECT '25017' AS county_fips, 'MA' AS state_usps, 'Middlesex County' AS county_name"
    )
    runs = {}
    for engine, deployment, build in (
        ("spark", "databricks", build_spark_warehouse),
        ("duckdb", "local", local_warehouse),
    ):
        monkeypatch.setenv("PLATFORM_DEPLOYMENT", deployment)
        with build().session() as session:
            session.create_table_as("reference.ref_geography", geography)
        assert materialize(selection).success, engine
        runs[engine] = snapshot(build())
    duck, spark = runs["duckdb"], runs["spark"]
    assert all(duck[spec.table] for spec in IMPORTS), {t: len(r) for t, r in duck.items()}
    assert len(duck["fhir_in.rejected_resources"]) == 2
    for table in TABLES:
        assert spark[table] == duck[table], table
    with local_warehouse().session() as session:
        patients = session.fetch_rows(
            "SELECT race, county_fips, zip_code, zip_plus4, state_usps, death_date, latitude "
            "FROM fhir_in.canonical_patients"
        )
        encounters = session.fetch_rows(
            "SELECT start_at, provider_id, payer_id, encounter_class, total_claim_cost "
            "FROM fhir_in.canonical_encounters"
        )
    assert patients == [("white", "25017", "02155", "1234", "MA", dt.date(2020, 5, 6), 42.4184296)]
    assert encounters == [
        (dt.datetime(2020, 1, 1, 8, 0), "pr-gone", "pay-1", "wellness", decimal.Decimal("100.00"))
    ]
