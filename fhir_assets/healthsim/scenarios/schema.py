"""Schema versioning of the HealthSim state tables.

``healthsim.schema_version`` records every migration applied (version, description, when).
:func:`upgrade` runs the migrations newer than the recorded version, in order, each once,
each inside its own transaction (a failure rolls that migration back and raises, leaving
the database at the previous version). Every open of the store calls it, so the tables
are created on first use and an older database is upgraded when it is next opened.

This is the engine-specific part of the scenario store (DuckDB DDL: ``JSON`` columns,
transactional DDL); everything runs through ``WarehouseSession.execute``/``fetch_rows``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from resources.warehouse import WarehouseSession

SCHEMA = "healthsim"
VERSION_TABLE = f"{SCHEMA}.schema_version"


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "scenarios, scenario_entities and scenario_tags (SOURCES.md section 4)",
        (
            f"""CREATE TABLE {SCHEMA}.scenarios (
                scenario_id VARCHAR PRIMARY KEY,
                name VARCHAR UNIQUE NOT NULL,
                description VARCHAR,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                metadata JSON
            )""",
            # scenario_id references scenarios; DuckDB cannot update or delete a parent row
            # that a declared FOREIGN KEY points at within one transaction, so the store
            # enforces the reference itself (entities and tags are written and deleted with
            # their scenario, in one transaction).
            f"""CREATE TABLE {SCHEMA}.scenario_entities (
                id VARCHAR PRIMARY KEY,
                scenario_id VARCHAR NOT NULL,
                entity_type VARCHAR NOT NULL,
                entity_id VARCHAR NOT NULL,
                entity_data JSON,
                created_at TIMESTAMP NOT NULL,
                UNIQUE (scenario_id, entity_type, entity_id)
            )""",
            f"""CREATE TABLE {SCHEMA}.scenario_tags (
                id VARCHAR PRIMARY KEY,
                scenario_id VARCHAR NOT NULL,
                tag VARCHAR NOT NULL,
                UNIQUE (scenario_id, tag)
            )""",
        ),
    ),
    Migration(
        2,
        "scenario_entities.updated_at: when an entity last changed (latest wins on import)",
        (
            # a table rewrite, not ALTER + UPDATE: Spark's Parquet tables have no UPDATE
            f"CREATE OR REPLACE TABLE {SCHEMA}.scenario_entities AS "
            f"SELECT *, created_at AS updated_at FROM {SCHEMA}.scenario_entities",
        ),
    ),
    Migration(
        3,
        "index scenario_tags.tag for listing scenarios by tag",
        (f"CREATE INDEX scenario_tags_by_tag ON {SCHEMA}.scenario_tags (tag)",),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


@contextlib.contextmanager
def transaction(session: WarehouseSession) -> Iterator[None]:
    """One transaction: committed when the block succeeds, rolled back when it raises."""
    session.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        session.execute("ROLLBACK")
        raise
    session.execute("COMMIT")


def current_version(session: WarehouseSession) -> int:
    if not session.table_exists(VERSION_TABLE):
        return 0
    (version,) = session.fetch_rows(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}")[0]
    return int(version)


def upgrade(session: WarehouseSession, target: int = LATEST_VERSION) -> list[int]:
    """Apply the pending migrations up to ``target``, in order; return the versions applied."""
    session.ensure_schema(SCHEMA)
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
        "version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    applied = []
    for migration in MIGRATIONS:
        if migration.version > target or migration.version <= current_version(session):
            continue
        with transaction(session):
            for statement in migration.statements:
                session.execute(statement)
            session.execute(
                f"INSERT INTO {VERSION_TABLE} VALUES (?, ?, CAST(now() AS TIMESTAMP))",
                [migration.version, migration.description],
            )
        applied.append(migration.version)
    return applied
