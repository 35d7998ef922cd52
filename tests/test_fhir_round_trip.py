"""FHIR in, round trip: the canonical HealthSim tables exported as FHIR (Bulk NDJSON, and
Synthea-style transaction Bundles) and landed again give the same canonical rows."""

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from fhir_assets.clinical.assets import MAPPINGS
from fhir_assets.clinical.fhir_in_canonical import IMPORTS, LINEAGE_COLUMNS

CLINICAL = dg.AssetSelection.assets(*[m.key for m in MAPPINGS]).upstream()
FHIR_IN = dg.AssetSelection.key_prefixes(["fhir_in"])

#: Types a Synthea-style Bundle carries in the Bundle variant, with their canonical tables.
BUNDLE_TYPES = {"Patient": "patients", "Encounter": "encounters", "Condition": "conditions"}


def compared_columns(con: duckdb.DuckDBPyConnection, entity: str) -> list[str]:
    """The canonical table's columns (same names and types on both sides), lineage aside."""
    canonical = con.execute(f"DESCRIBE healthsim.{entity}").fetchall()
    imported = con.execute(f"DESCRIBE fhir_in.canonical_{entity}").fetchall()
    assert [c[:2] for c in imported] == [c[:2] for c in canonical], entity
    return [c[0] for c in canonical if c[0] not in LINEAGE_COLUMNS]


def row_digest(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], where: str) -> tuple:
    """Rows and an order-independent digest of all of them (xor and sum of row hashes)."""
    row_hash = f"hash({', '.join(columns)})"
    return con.execute(
        f"SELECT count(*), bit_xor({row_hash}), sum({row_hash} % 1000000007) FROM {table} {where}"
    ).fetchone()


def differences(con: duckdb.DuckDBPyConnection, entity: str, columns: list[str], where: str) -> str:
    """The first rows in one table and not the other, both ways, for the failure message."""
    names = ", ".join(columns)
    parts = []
    for left, right in (
        (f"healthsim.{entity}", f"fhir_in.canonical_{entity}"),
        (f"fhir_in.canonical_{entity}", f"healthsim.{entity}"),
    ):
        rows = con.execute(
            f"SELECT {names} FROM {left} {where} EXCEPT ALL SELECT {names} FROM {right} {where} "
            f"ORDER BY 1 LIMIT 3"
        ).fetchall()
        parts += [f"only in {left}:"] + [repr(dict(zip(columns, row, strict=True))) for row in rows]
    return "\n".join(parts)


def assert_identical(con: duckdb.DuckDBPyConnection, entity: str, where: str = "") -> int:
    columns = compared_columns(con, entity)
    expected = row_digest(con, f"healthsim.{entity}", columns, where)
    actual = row_digest(con, f"fhir_in.canonical_{entity}", columns, where)
    assert actual == expected, f"{entity}: {actual} != {expected}\n" + differences(
        con, entity, columns, where
    )
    return expected[0]


def synthea_bundles(folder: Path, patients: list[str]) -> list[dict]:
    """One transaction Bundle per patient, as Synthea writes them: urn:uuid full URLs and
    references, a POST request per entry; the patient, encounters and conditions."""
    exported = {
        kind: [json.loads(line) for line in (folder / f"{kind}.ndjson").read_text().splitlines()]
        for kind in BUNDLE_TYPES
    }
    bundles = []
    for patient_id in patients:
        own = [r for r in exported["Patient"] if r["id"] == patient_id]
        for kind in ("Encounter", "Condition"):
            own += [
                r for r in exported[kind] if r["subject"]["reference"] == f"Patient/{patient_id}"
            ]
        text = json.dumps(own)
        for resource in own:
            if resource["resourceType"] in ("Patient", "Encounter"):
                text = text.replace(
                    f'"{resource["resourceType"]}/{resource["id"]}"', f'"urn:uuid:{resource["id"]}"'
                )
        bundles.append(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": f"urn:uuid:{r['id']}",
                        "resource": r,
                        "request": {"method": "POST", "url": r["resourceType"]},
                    }
                    for r in json.loads(text)
                ],
            }
        )
    return bundles


@pytest.mark.slow
def test_export_then_import_gives_identical_canonical_rows(
    sample_sources, materialize, landing_dir, warehouse_path, tmp_path, request
):
    """Bundles of a few patients, then a Bulk export of everything, read back in: the
    fhir_in.canonical_<entity> tables equal healthsim.<entity> row for row."""
    from fhir_assets.export import export_bulk
    from resources import local_warehouse

    sample_sources(
        "reference/states", "reference/places", "reference/svi", "reference/adi", "healthsim",
        healthsim_patients=60,
    )  # fmt: skip
    shared = Path(request.config.rootpath).parent / "shared" / "data" / "synthea"
    if shared.is_dir():
        shutil.copytree(shared, landing_dir / "synthea")
    assert materialize(CLINICAL).success
    with local_warehouse().session() as session:
        folder, _ = export_bulk(session, tmp_path / "export")

    # Synthea-style transaction Bundles (one per patient) for three patients.
    target = landing_dir / "fhir"
    target.mkdir()
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        patients = [
            p
            for (p,) in con.execute(
                "SELECT patient_id FROM healthsim.patients WHERE patient_id IN "
                "(SELECT patient_id FROM healthsim.conditions) ORDER BY patient_id LIMIT 3"
            ).fetchall()
        ]
    for number, bundle in enumerate(synthea_bundles(folder, patients)):
        (target / f"patient-{number}.json").write_text(json.dumps(bundle, indent=2))
    assert materialize(FHIR_IN).success
    members = "(" + ", ".join(f"'{p}'" for p in patients) + ")"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fhir_in.rejected_resources").fetchone()[0] == 0
        assert assert_identical(con, "patients", f"WHERE patient_id IN {members}") == 3
        for entity in ("encounters", "conditions"):
            assert assert_identical(con, entity, f"WHERE patient_id IN {members}") > 0
            assert con.execute(
                f"SELECT count(*) FROM fhir_in.canonical_{entity} WHERE patient_id NOT IN {members}"
            ).fetchone() == (0,)

    # The whole Bulk export, every type.
    for path in target.iterdir():
        path.unlink()
    for ndjson in folder.glob("*.ndjson"):
        if ndjson.stem != "OperationOutcome":
            shutil.copy(ndjson, target / ndjson.name)
    assert materialize(FHIR_IN).success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fhir_in.rejected_resources").fetchone()[0] == 0
        rows = {spec.entity: assert_identical(con, spec.entity) for spec in IMPORTS}
    assert all(rows.values()), rows
