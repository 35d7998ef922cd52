"""Where the FHIR Patient mapping spends its time: the mapping against its struct form.

    .venv/bin/python benchmarks/fhir_mapping_breakdown.py [--workdir /tmp/fhir-bench] [--rows 1000000]

Reads ``fhir.patient_data`` from the warehouse that ``benchmarks/fhir_mapping.py`` left in
``--workdir`` (run that first), copies ``--rows`` mapping-input rows into an in-memory DuckDB
(2 threads, no disk, no memory limit: the engine at its fastest) and times, on the same rows
in one run:

1. the earlier form of the mapping (``tests/fixtures/patient_to_fhir_struct.sql``): the
   resource as one struct serialised by ``to_json``, with every null member removed by a
   ``regexp_replace`` over the whole document;
2. the mapping (``fhir_assets/sql/patient_to_fhir.sql``): the JSON text built member by
   member, absent members omitted as it goes;
3. the whole mapping as ``CREATE TABLE AS`` in memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fhir_assets.assets import MAPPING_INPUT_SQL
from fhir_assets.patient_mapping import (
    MAPPING_INPUT_VIEW,
    mapping_input_sql,
    patient_mapping_sql,
)

STRUCT_MAPPING = Path(__file__).resolve().parents[1] / "tests/fixtures/patient_to_fhir_struct.sql"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fhir-bench"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    database = args.workdir / "warehouse.duckdb"
    if not database.exists():
        raise SystemExit(f"{database} is missing: run benchmarks/fhir_mapping.py first.")

    mapping = patient_mapping_sql()
    con = duckdb.connect()
    try:
        con.execute("SET threads = 2")
        con.execute(f"ATTACH '{database}' AS bench (READ_ONLY)")
        con.execute("USE bench")
        con.execute(
            "CREATE TEMP TABLE mapping_rows AS SELECT * FROM "
            f"({mapping_input_sql(MAPPING_INPUT_SQL)}) LIMIT {int(args.rows)}"
        )
        con.execute("USE memory")
        con.execute("DETACH bench")
        con.execute(f"CREATE TEMP VIEW {MAPPING_INPUT_VIEW} AS SELECT * FROM mapping_rows")
        (rows,) = con.execute("SELECT count(*) FROM mapping_rows").fetchone()
        # label -> a SELECT returning the bytes of JSON produced
        stages = {
            "struct, to_json, strip": "SELECT sum(length(resource_json)) "
            f"FROM ({STRUCT_MAPPING.read_text()})",
            "built member by member": f"SELECT sum(length(resource_json)) FROM ({mapping})",
        }
        print(f"FHIR mapping breakdown: {rows:,} rows from {database}, in-memory DuckDB, 2 threads")
        for label, select in stages.items():
            started = time.perf_counter()
            (value,) = con.execute(select).fetchone()
            seconds = time.perf_counter() - started
            print(
                f"  {label:<26} {seconds:7.2f} s  {rows / seconds:>12,.0f} records/s  ({value / rows:,.0f} bytes of JSON each)"
            )
        started = time.perf_counter()
        con.execute("CREATE TABLE mapped AS " + mapping)
        seconds = time.perf_counter() - started
        print(f"  {'whole mapping, CTAS':<26} {seconds:7.2f} s  {rows / seconds:>12,.0f} records/s")
    finally:
        con.close()


if __name__ == "__main__":
    main()
