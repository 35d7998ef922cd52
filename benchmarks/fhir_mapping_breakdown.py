"""Where the FHIR Patient mapping spends its time: formulations of the same JSON, and the asset's parts.

    DUCKDB_MEMORY_LIMIT=1GB .venv/bin/python benchmarks/fhir_mapping_breakdown.py \
        [--workdir /tmp/fhir-bench] [--rows 1000000] [--rounds 3] [--only mapping,join_lookup]

Reads ``fhir.patient_data`` from the warehouse that ``benchmarks/fhir_mapping.py`` left in
``--workdir`` (run that first) and copies ``--rows`` mapping-input rows into a scratch
database file (``<workdir>/breakdown.duckdb``, the warehouse's settings: threads, memory
limit). Then, on the same rows in one run, rounds interleaved:

1. **Formulations**: the mapping (``fhir_assets/sql/patient_to_fhir.sql``), every
   alternative in ``benchmarks/patient_formulations/*.sql`` and the struct form of
   ``tests/fixtures/patient_to_fhir_struct.sql`` (``to_json`` of a struct, null members cut
   out by a regular expression). Each must give the same JSON text as the mapping
   (checksum of ``(id, resource_json)`` over all rows; a formulation that differs is
   reported as such). Per formulation: ``compute`` (``SELECT sum(strlen(resource_json))``,
   the JSON built and nothing stored). Records/s on the wall clock and per CPU-second of
   the process (user + system of all DuckDB threads), the best of the rounds, and the
   ratio to the mapping: the CPU figure is the one to compare on a shared machine. The
   alternatives spell out the members the generic sample fills (the optional Synthea
   inputs, e.g. marital status or coordinates, are NULL there); the same text costs the
   same to store, so only the mapping is also written: ``write`` (``CREATE TABLE AS`` +
   ``CHECKPOINT``, DuckDB's default storage) and ``write_zstd`` (as the asset writes it,
   ``resource_json`` a ZSTD document column).
2. **The asset's parts** (the mapping only): what ``fhir/fhir_patients`` does besides the
   write: each audit of ``FHIR_PATIENT_AUDITS`` on the written table, the swap, the table
   summary and the Synthea count of the asset's metadata.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from fhir_assets.assets import MAPPING_INPUT_SQL  # noqa: E402
from fhir_assets.audits import FHIR_PATIENT_AUDITS  # noqa: E402
from fhir_assets.patient_mapping import (  # noqa: E402
    MAPPING_INPUT_VIEW,
    SYNTHEA_IDENTIFIER_SYSTEM,
    mapping_input_sql,
    patient_mapping_sql,
)
from resources import local_warehouse  # noqa: E402
from resources.publish import AuditContext  # noqa: E402
from resources.warehouse import DuckDBSession, sql_literal  # noqa: E402

FORMULATIONS = Path(__file__).resolve().parent / "patient_formulations"
STRUCT_MAPPING = PROJECT / "tests/fixtures/patient_to_fhir_struct.sql"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``action()``."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    action()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def formulations(only: set[str]) -> dict[str, str]:
    found = {"mapping": patient_mapping_sql()}
    found |= {path.stem: path.read_text() for path in sorted(FORMULATIONS.glob("*.sql"))}
    found["struct_regexp_strip"] = STRUCT_MAPPING.read_text()
    return {name: sql for name, sql in found.items() if not only or name in only}


def load_rows(session: DuckDBSession, warehouse_file: Path, rows: int) -> int:
    session.execute(f"ATTACH {sql_literal(str(warehouse_file))} AS source (READ_ONLY)")
    session.execute("USE source")
    session.execute(
        "CREATE TABLE breakdown.main.mapping_rows AS SELECT * FROM "
        f"({mapping_input_sql(MAPPING_INPUT_SQL)}) AS input LIMIT {int(rows)}"
    )
    session.execute("USE breakdown")
    session.execute("DETACH source")
    session.execute(f"CREATE TEMP VIEW {MAPPING_INPUT_VIEW} AS SELECT * FROM mapping_rows")
    session.execute("CHECKPOINT")
    return session.row_count("mapping_rows")


def timed_write(
    session: DuckDBSession, sql: str, document_columns: tuple[str, ...]
) -> tuple[float, float]:
    """The table written as the publish stage writes it, then checkpointed."""
    session.execute("DROP TABLE IF EXISTS breakdown_written")
    session.execute("CHECKPOINT")
    return timed(
        lambda: (
            session.create_staged_table("breakdown_written", sql, None, document_columns),
            session.execute("CHECKPOINT"),
        )
    )


def compare_formulations(
    session: DuckDBSession, forms: dict[str, str], rows: int, rounds: int, write: bool
) -> dict[str, dict[str, tuple[float, float]]]:
    checksum = "SELECT sum(hash(id, resource_json)), count(*) FROM ({}) AS f"
    reference = session.fetch_rows(checksum.format(patient_mapping_sql()))[0]
    for name, sql in forms.items():
        same = session.fetch_rows(checksum.format(sql))[0] == reference
        print(f"  {name:<28} {'same JSON text as the mapping' if same else 'DIFFERENT JSON'}")
    best: dict[str, dict[str, tuple[float, float]]] = {name: {} for name in forms}
    for round_ in range(rounds):
        for name, sql in forms.items():
            figures = {
                "compute": timed(
                    lambda sql=sql: session.fetch_rows(
                        f"SELECT sum(strlen(resource_json)) FROM ({sql}) AS f"
                    )
                )
            }
            if write and name == "mapping":  # the same text costs the same to store
                figures["write"] = timed_write(session, sql, ())
                figures["write_zstd"] = timed_write(session, sql, ("resource_json",))
            for kind, (wall, cpu) in figures.items():
                old = best[name].get(kind, (float("inf"), float("inf")))
                best[name][kind] = (min(old[0], wall), min(old[1], cpu))
            shown = "  ".join(
                f"{kind} {wall:6.2f} s wall {cpu:6.2f} s CPU"
                for kind, (wall, cpu) in figures.items()
            )
            print(
                f"  round {round_ + 1} {name:<28} {shown}  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(
        f"\nBest of {rounds} rounds, records/s (wall | per CPU-second), ratio to the mapping's CPU:"
    )
    base = best.get("mapping", {})
    for name, kinds in best.items():
        parts = []
        for kind, (wall, cpu) in kinds.items():
            reference = base.get("write" if kind == "write_zstd" else kind)
            ratio = f" x{reference[1] / cpu:.2f}" if reference else ""
            parts.append(f"{kind} {rows / wall:>10,.0f} | {rows / cpu:>10,.0f}{ratio}")
        print(f"  {name:<28} " + "   ".join(parts))
    return best


def asset_parts(session: DuckDBSession, rows: int) -> None:
    """The asset's work besides building the table, each part on the written mapping."""
    session.execute("DROP TABLE IF EXISTS fhir_patients_published")
    session.execute("DROP TABLE IF EXISTS fhir_patients_staged")
    # A published table to compare with and replace, as on every run after the first.
    session.execute(f"CREATE TABLE fhir_patients_published AS {patient_mapping_sql()}")
    write_wall, write_cpu = timed(
        lambda: (
            session.create_staged_table(
                "fhir_patients_staged", patient_mapping_sql(), None, ("resource_json",)
            ),
            session.execute("CHECKPOINT"),
        )
    )
    context = AuditContext(
        session=session, table="fhir_patients_staged", published="fhir_patients_published"
    )
    parts: dict[str, tuple[float, float]] = {}
    for audit in FHIR_PATIENT_AUDITS:
        parts[f"audit {audit.name}"] = timed(lambda audit=audit: audit.evaluate(context))
    parts["swap"] = timed(
        lambda: session.swap_in("fhir_patients_staged", "fhir_patients_published")
    )
    parts["summary"] = timed(lambda: session.summarize("fhir_patients_published"))
    parts["synthea count"] = timed(
        lambda: session.fetch_rows(
            "SELECT count(*) FROM fhir_patients_published "
            f"WHERE identifier_system = {sql_literal(SYNTHEA_IDENTIFIER_SYSTEM)}"
        )
    )
    print(f"\nThe asset's parts on {rows:,} rows (the mapping's write = 100%):")
    print(
        f"  {'write (resource_json ZSTD, CHECKPOINT)':<44} {write_wall:6.2f} s wall {write_cpu:6.2f} s CPU"
    )
    for name, (wall, cpu) in parts.items():
        print(
            f"  {name:<44} {wall:6.2f} s wall {cpu:6.2f} s CPU  "
            f"({wall / write_wall:5.1%} of the write's wall, {cpu / write_cpu:5.1%} of its CPU)"
        )
    session.execute("DROP TABLE fhir_patients_published")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fhir-bench"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated formulation names")
    parser.add_argument("--no-write", action="store_true", help="compute figures only")
    parser.add_argument("--no-asset-parts", action="store_true")
    args = parser.parse_args()
    warehouse_file = args.workdir.resolve() / "warehouse.duckdb"
    if not warehouse_file.exists():
        raise SystemExit(f"{warehouse_file} is missing: run benchmarks/fhir_mapping.py first.")
    scratch = args.workdir.resolve() / "breakdown.duckdb"
    for stale in (scratch, scratch.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    environ = {**os.environ, "DUCKDB_DATABASE_PATH": str(scratch)}
    environ.setdefault("DUCKDB_TEMP_DIRECTORY", str(args.workdir.resolve() / "spill"))
    warehouse = local_warehouse(environ)
    forms = formulations({n for n in args.only.split(",") if n})
    try:
        with warehouse.session() as session:
            rows = load_rows(session, warehouse_file, args.rows)
            settings = session.fetch_rows(
                "SELECT current_setting('threads'), current_setting('memory_limit')"
            )[0]
            print(
                f"FHIR mapping breakdown: {rows:,} rows from {warehouse_file} in {scratch} "
                f"(threads {settings[0]}, memory_limit {settings[1]}), "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
            )
            compare_formulations(session, forms, rows, args.rounds, not args.no_write)
            if not args.no_asset_parts:
                asset_parts(session, rows)
    finally:
        for stale in (scratch, scratch.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
