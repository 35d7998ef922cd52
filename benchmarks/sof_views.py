"""Benchmark of compiled SQL on FHIR ViewDefinitions against hand-written SQL (DuckDB).

    .venv/bin/python benchmarks/sof_views.py                  # 1,000,000 resources per type
    .venv/bin/python benchmarks/sof_views.py --resources 100000

Generates (in the engine, once, reused) ``--resources`` Patient and as many Observation
resources (blood pressure: two ``component`` entries each) as JSON text in
``--workdir/bench.duckdb`` (tables ``fhir.patient`` and ``fhir.observation``, columns
``id``, ``resource``: the platform's convention). Then, for each view:

- ``view``: the ViewDefinition compiled by ``fhir_assets.views`` and run as one
  ``CREATE TABLE ... AS`` (what the asset does);
- ``hand``: a hand-written DuckDB query returning the same rows, run the same way.

Both results are compared (same rows, as multisets) before any figure is printed. Each
query runs ``--repeat`` times alternately; the best time of each counts. The printed ratio
is view time / hand-written time measured in the same run (goal: within 1.5x).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from fhir_assets.views.compiler import compile_view  # noqa: E402

DEMOGRAPHICS_VIEW = {
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "gender", "path": "gender", "type": "code"},
                {"name": "birth_date", "path": "birthDate", "type": "date"},
                {
                    "name": "family",
                    "path": "name.where(use = 'official').family.first()",
                    "type": "string",
                },
                {
                    "name": "given",
                    "path": "name.where(use = 'official').given.join(' ')",
                    "type": "string",
                },
                {"name": "city", "path": "address.city.first()", "type": "string"},
                {"name": "state", "path": "address.state.first()", "type": "string"},
                {"name": "active", "path": "active", "type": "boolean"},
            ]
        }
    ],
}

DEMOGRAPHICS_HAND = """
SELECT
    resource->>'$.id' AS id,
    resource->>'$.gender' AS gender,
    resource->>'$.birthDate' AS birth_date,
    list_filter(CAST(resource->'$.name' AS JSON[]), lambda n: n->>'use' = 'official')[1]->>'family' AS family,
    array_to_string(CAST(list_filter(CAST(resource->'$.name' AS JSON[]),
        lambda n: n->>'use' = 'official')[1]->'given' AS VARCHAR[]), ' ') AS given,
    resource->>'$.address[0].city' AS city,
    resource->>'$.address[0].state' AS state,
    CAST(resource->'$.active' AS BOOLEAN) AS active
FROM fhir.patient
"""

OBSERVATION_VIEW = {
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "patient_id", "path": "subject.getReferenceKey(Patient)", "type": "id"},
                {"name": "effective", "path": "effective.ofType(dateTime)", "type": "dateTime"},
            ]
        },
        {
            "forEach": "component",
            "column": [
                {"name": "code", "path": "code.coding.first().code", "type": "code"},
                {
                    "name": "value",
                    "path": "value.ofType(Quantity).value",
                    "type": "decimal",
                },
                {"name": "unit", "path": "value.ofType(Quantity).unit", "type": "string"},
            ],
        },
    ],
}

OBSERVATION_HAND = """
SELECT
    resource->>'$.id' AS id,
    regexp_extract(resource->>'$.subject.reference', '^Patient/([^/]+)$', 1) AS patient_id,
    resource->>'$.effectiveDateTime' AS effective,
    c->>'$.code.coding[0].code' AS code,
    CAST(c->'$.valueQuantity.value' AS DOUBLE) AS value,
    c->>'$.valueQuantity.unit' AS unit
FROM fhir.observation, unnest(CAST(resource->'$.component' AS JSON[])) AS u(c)
"""

GENERATE = """
CREATE SCHEMA IF NOT EXISTS fhir;
CREATE OR REPLACE TABLE fhir.patient AS
SELECT 'p' || i AS id, to_json(struct_pack(
    resourceType := 'Patient', id := 'p' || i, active := i % 7 <> 0,
    name := [struct_pack(use := 'usual', family := 'Nick' || (i % 97), given := ['N']),
             struct_pack(use := 'official', family := 'Family' || (i % 1013),
                         given := ['Given' || (i % 211), 'Middle' || (i % 17)])],
    gender := CASE i % 3 WHEN 0 THEN 'female' WHEN 1 THEN 'male' ELSE 'other' END,
    birthDate := CAST(DATE '1930-01-01' + CAST(i % 30000 AS INTEGER) AS VARCHAR),
    address := [struct_pack(use := 'home', city := 'City' || (i % 500), state := 'S' || (i % 50),
                            postalCode := lpad(CAST(i % 99999 AS VARCHAR), 5, '0'))]
))::VARCHAR AS resource
FROM range({n}) AS t(i);
CREATE OR REPLACE TABLE fhir.observation AS
SELECT 'o' || i AS id, to_json(struct_pack(
    resourceType := 'Observation', id := 'o' || i, status := 'final',
    code := struct_pack(coding := [struct_pack(system := 'http://loinc.org', code := '85354-9')]),
    subject := struct_pack(reference := 'Patient/p' || (i % 100000)),
    effectiveDateTime := CAST(TIMESTAMP '2020-01-01' + to_seconds(i * 61) AS VARCHAR),
    component := [
        struct_pack(code := struct_pack(coding := [struct_pack(system := 'http://loinc.org', code := '8480-6')]),
                    valueQuantity := struct_pack(value := 100 + i % 60, unit := 'mm[Hg]')),
        struct_pack(code := struct_pack(coding := [struct_pack(system := 'http://loinc.org', code := '8462-4')]),
                    valueQuantity := struct_pack(value := 60 + (i % 40) + 0.5, unit := 'mm[Hg]'))]
))::VARCHAR AS resource
FROM range({n}) AS t(i);
"""


def prepare(con: duckdb.DuckDBPyConnection, n: int) -> None:
    have = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'fhir'"
    ).fetchall()[0][0]
    if have == 2:
        counts = [
            con.sql(f"SELECT count(*) FROM fhir.{t}").fetchall()[0][0]
            for t in ("patient", "observation")
        ]
        if counts == [n, n]:
            return
    started = time.perf_counter()
    con.execute(GENERATE.format(n=int(n)))
    print(f"generated {n:,} Patient + {n:,} Observation in {time.perf_counter() - started:.1f}s")


def timed(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> float:
    started = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    return time.perf_counter() - started


def same_rows(con: duckdb.DuckDBPyConnection, a: str, b: str) -> bool:
    diff = con.sql(
        f"SELECT count(*) FROM ((SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) "
        f"UNION ALL (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
    ).fetchall()[0][0]
    return diff == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sof-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(args.workdir / "bench.duckdb"))
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    prepare(con, args.resources)
    print(
        f"DuckDB {duckdb.__version__}, {args.resources:,} resources per type, best of {args.repeat}"
    )
    print(
        f"{'view':<22}{'rows':>12}{'view s':>9}{'hand s':>9}{'view rows/s':>14}{'hand rows/s':>14}{'ratio':>7}"
    )
    for name, view, hand in (
        ("patient_demographics", DEMOGRAPHICS_VIEW, DEMOGRAPHICS_HAND),
        ("observation_forEach", OBSERVATION_VIEW, OBSERVATION_HAND),
    ):
        compiled = compile_view(view, "duckdb", lambda t: f"fhir.{t.lower()}")
        view_times, hand_times = [], []
        for _ in range(args.repeat):
            view_times.append(timed(con, "bench_view", compiled.sql))
            hand_times.append(timed(con, "bench_hand", hand))
        if not same_rows(con, "bench_view", "bench_hand"):
            raise SystemExit(f"{name}: the view and the hand-written query return different rows")
        rows = con.sql("SELECT count(*) FROM bench_view").fetchall()[0][0]
        v, h = min(view_times), min(hand_times)
        print(
            f"{name:<22}{rows:>12,}{v:>9.2f}{h:>9.2f}{rows / v:>14,.0f}{rows / h:>14,.0f}{v / h:>6.2f}x"
        )
    con.close()


if __name__ == "__main__":
    main()
