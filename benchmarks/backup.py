"""Backup and restore-and-verify speed on a warehouse of about 1 GB.

    .venv/bin/python benchmarks/backup.py [--size-gb 1.0] [--workdir /tmp/operations-bench]

Builds a DuckDB file of synthetic tables (random doubles, hashes and dates: data that does
not compress to nothing) in the work folder, then times:

- a plain file copy of the database (the baseline, same disk, same run);
- ``create_backup`` (checkpoint, per-table fingerprints, zstd copy, SHA-256s, manifest);
- ``restore_backup`` (checksum, decompress, open and compare every table with the
  manifest, atomic replace).

Goal: restore-and-verify of 1 GB in under 60 s (the recovery-time objective is 5 minutes).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.warehouse import DuckDBWarehouse
from schedules.backup import create_backup, restore_backup, table_fingerprints

CHUNK_ROWS = 4_000_000
CHUNK_SQL = """
CREATE TABLE bench.events_{n} AS
SELECT
    range AS event_id,
    (range * 7919) % 1000003 AS patient_id,
    random() AS score_a,
    random() * 1000 AS score_b,
    md5(range::VARCHAR || '{n}') AS event_hash,
    DATE '2020-01-01' + (random() * 2000)::INTEGER AS event_date,
    ['CA', 'TX', 'NY', 'FL', 'WA'][(range % 5) + 1] AS state
FROM range({rows})
"""


def build_warehouse(path: Path, target_bytes: int) -> None:
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA bench")
        n = 0
        while True:
            con.execute(CHUNK_SQL.format(n=n, rows=CHUNK_ROWS))
            con.execute("CHECKPOINT")
            n += 1
            size = path.stat().st_size
            print(f"  table bench.events_{n - 1}: file now {size / 1e6:,.0f} MB", flush=True)
            if size >= target_bytes:
                break
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/operations-bench"))
    args = parser.parse_args()
    work: Path = args.workdir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    database = work / "warehouse.duckdb"
    print(f"Building a ~{args.size_gb:g} GB warehouse in {database}")
    build_warehouse(database, int(args.size_gb * 1e9))
    size_mb = database.stat().st_size / 1e6

    started = time.perf_counter()
    shutil.copyfile(database, work / "plain-copy.duckdb")
    copy_s = time.perf_counter() - started
    (work / "plain-copy.duckdb").unlink()

    # The full-table scan both backup (fingerprints) and restore (verification) include.
    started = time.perf_counter()
    with duckdb.connect(str(database), read_only=True) as con:
        table_fingerprints(con)
    scan_s = time.perf_counter() - started

    warehouse = DuckDBWarehouse(database_path=str(database))
    started = time.perf_counter()
    backup = create_backup(warehouse.connect, database, work / "backups", "daily")
    backup_s = time.perf_counter() - started

    restored = work / "restored.duckdb"
    started = time.perf_counter()
    result = restore_backup(backup.path, restored)
    restore_s = time.perf_counter() - started
    rows = sum(result.tables.values())

    print()
    print(
        f"database                 {size_mb:>10,.0f} MB in {len(result.tables)} tables, {rows:,} rows"
    )
    print(
        f"backup file (zstd)       {backup.size_bytes / 1e6:>10,.0f} MB ({backup.size_bytes / 1e6 / size_mb:.0%} of the database)"
    )
    print(f"plain copy (baseline)    {copy_s:>10.1f} s  {size_mb / copy_s:>8,.0f} MB/s")
    print(
        f"fingerprint scan alone   {scan_s:>10.1f} s  {size_mb / scan_s:>8,.0f} MB/s  "
        "(part of both figures below)"
    )
    print(
        f"backup                   {backup_s:>10.1f} s  {size_mb / backup_s:>8,.0f} MB/s  ({backup_s / copy_s:.1f}x the plain copy)"
    )
    print(
        f"restore and verify       {restore_s:>10.1f} s  {size_mb / restore_s:>8,.0f} MB/s  ({restore_s / copy_s:.1f}x the plain copy)"
    )
    goal = 60.0 * size_mb / 1000
    verdict = "met" if restore_s < goal else "MISSED"
    print(f"goal: restore-and-verify under {goal:.0f} s for this size (60 s per GB): {verdict}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
