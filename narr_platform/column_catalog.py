"""Refresh each domain's ``columns.json`` from a built warehouse.

    .venv/bin/python -m narr_platform.column_catalog [--warehouse data/warehouse.duckdb]

For every asset of the code location whose table exists in the warehouse (and that does
not declare its own column schema), writes the table's columns and types into the owning
domain's ``columns.json``: a new column gets a description from
``resources.columns.describe_column``; a column already cataloged keeps its description
(edit the JSON to improve one); a column the table no longer has is dropped. Run after
``make run`` when a table's SQL changed its columns; ``tests/test_automation.py`` fails
while an asset lacks column descriptions.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources as package_files
from pathlib import Path

import duckdb

from resources.columns import CATALOG_FILE, COLUMN_SCHEMA_KEY, describe_column, table_of

#: Assets that write no table (files, snapshots): no column schema to describe.
NOT_TABLES = frozenset({"directory/search_index"})

#: Which domain package owns the tables of each schema.
SCHEMA_PACKAGES = {
    "directory": "directory_assets",
    "fhir": "fhir_assets",
    "fhir_views": "fhir_assets",
    "fhir_in": "fhir_assets",
    "healthsim": "fhir_assets.healthsim",
    "analytics": "fhir_assets.healthsim",
    "reference": "reference_assets",
}


def catalog_tables(warehouse: Path) -> dict[str, dict[str, dict[str, list[str]]]]:
    """package -> table -> column -> [type, description], merged with the existing files."""
    from narr_platform.definitions import defs

    graph = defs().resolve_asset_graph()
    cataloged = {table for p in set(SCHEMA_PACKAGES.values()) for table in _read(p)}
    wanted = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        table = table_of(key)
        if not table or key.path[0] not in SCHEMA_PACKAGES:
            continue
        # Declared in code (a ViewDefinition's columns) wins; the catalog's own is refreshed.
        if COLUMN_SCHEMA_KEY not in node.metadata or table in cataloged:
            wanted[table] = SCHEMA_PACKAGES[key.path[0]]
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT schema_name || '.' || table_name, column_name, data_type FROM "
            "duckdb_columns() WHERE database_name = current_database() ORDER BY 1, column_index"
        ).fetchall()
    existing = {p: _read(p) for p in set(wanted.values())}
    for table, column, dtype in rows:
        package = wanted.get(table)
        if package is None:
            continue
        known = existing[package].get(table, {}).get(column)
        description = known[1] if known else describe_column(table, column)
        out.setdefault(package, {}).setdefault(table, {})[column] = [dtype, description]
    return out


def _read(package: str) -> dict:
    path = package_files.files(package).joinpath(CATALOG_FILE)
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    args = parser.parse_args()
    for package, tables in sorted(catalog_tables(args.warehouse).items()):
        path = Path(str(package_files.files(package).joinpath(CATALOG_FILE)))
        merged = {**_read(package), **tables}
        path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
        print(f"{path}: {len(tables)} table(s)")


if __name__ == "__main__":
    main()
