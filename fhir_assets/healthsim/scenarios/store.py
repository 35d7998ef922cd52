"""Saved scenarios: a named set of entities (patients, encounters, ...) with tags.

The API behind ``narr-platform scenario ...`` and the scenario assets/jobs. It works on an
open ``WarehouseSession`` (so it runs in a Dagster step or the CLI alike) and opens the
tables at the latest schema version first (:mod:`.schema`).

JSON documents (export/import) are canonical: keys sorted, two-space indent, entities
sorted by (entity_type, entity_id), tags sorted, timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(UTC). Exporting, importing that JSON elsewhere and exporting again gives identical bytes.
Importing into a database that already has the scenario (same id, or same name) merges:
for each entity UUID the copy with the later ``updated_at`` wins, and the report says what
was added, updated, kept and unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from fhir_assets.healthsim.scenarios.schema import SCHEMA, transaction, upgrade
from resources.warehouse import WarehouseSession

DOCUMENT_FORMAT = "healthsim.scenario"
DOCUMENT_FORMAT_VERSION = 1
_ROW_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-4c59-9a57-3b8f0f7d2a11")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class ScenarioError(ValueError):
    """A scenario operation cannot be done (unknown name, duplicate, malformed document)."""


def format_time(value: dt.datetime) -> str:
    return value.strftime(_TIME_FORMAT)


def parse_time(value: str) -> dt.datetime:
    """A document timestamp (``...Z`` or offset-free ISO 8601) as naive UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def canonical_json(document: Mapping[str, Any]) -> str:
    """The one serialization of a document: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def compact_json(data: Any) -> str:
    """One line, sorted keys: how entity data is stored."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclasses.dataclass(frozen=True)
class Entity:
    entity_type: str
    entity_id: str
    data: Any
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_document(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "data": self.data,
        }


@dataclasses.dataclass
class ImportReport:
    """What an import changed; entity keys are ``entity_type/entity_id``."""

    scenario: str
    created: bool
    added: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    kept: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    tags_added: list[str] = dataclasses.field(default_factory=list)
    scenario_fields_updated: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.created
            or self.added
            or self.updated
            or self.tags_added
            or self.scenario_fields_updated
        )

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "created": self.created,
            "added": len(self.added),
            "updated": len(self.updated),
            "kept_existing": len(self.kept),
            "unchanged": len(self.unchanged),
            "tags_added": self.tags_added,
            "scenario_fields_updated": self.scenario_fields_updated,
            "updated_entities": self.updated,
            "kept_entities": self.kept,
        }


def _row_id(*parts: str) -> str:
    return str(uuid.uuid5(_ROW_NAMESPACE, "/".join(parts)))


class ScenarioStore:
    """Scenario state in ``healthsim.scenarios``/``scenario_entities``/``scenario_tags``."""

    def __init__(self, session: WarehouseSession) -> None:
        self.session = session
        upgrade(session)

    # -- reading ---------------------------------------------------------------------------
    def _scenario_row(self, name_or_id: str) -> tuple[Any, ...] | None:
        rows = self.session.fetch_rows(
            f"SELECT scenario_id, name, description, created_at, updated_at, CAST(metadata AS VARCHAR) "
            f"FROM {SCHEMA}.scenarios WHERE name = ? OR scenario_id = ? ORDER BY name = ? DESC LIMIT 1",
            [name_or_id, name_or_id, name_or_id],
        )
        return rows[0] if rows else None

    def _require(self, name: str) -> tuple[Any, ...]:
        row = self._scenario_row(name)
        if row is None:
            raise ScenarioError(f"No scenario named {name!r}.")
        return row

    def exists(self, name: str) -> bool:
        return self._scenario_row(name) is not None

    def entities(self, scenario_id: str) -> list[Entity]:
        rows = self.session.fetch_rows(
            f"SELECT entity_type, entity_id, CAST(entity_data AS VARCHAR), created_at, updated_at "
            f"FROM {SCHEMA}.scenario_entities WHERE scenario_id = ? ORDER BY entity_type, entity_id",
            [scenario_id],
        )
        return [
            Entity(t, i, json.loads(d) if d is not None else None, c, u) for t, i, d, c, u in rows
        ]

    def tags(self, scenario_id: str) -> list[str]:
        rows = self.session.fetch_rows(
            f"SELECT tag FROM {SCHEMA}.scenario_tags WHERE scenario_id = ? ORDER BY tag",
            [scenario_id],
        )
        return [r[0] for r in rows]

    def document(self, name: str) -> dict[str, Any]:
        """The scenario as a JSON-ready document (see :func:`canonical_json`)."""
        scenario_id, scenario_name, description, created_at, updated_at, metadata = self._require(
            name
        )
        return {
            "format": DOCUMENT_FORMAT,
            "format_version": DOCUMENT_FORMAT_VERSION,
            "scenario": {
                "scenario_id": scenario_id,
                "name": scenario_name,
                "description": description,
                "created_at": format_time(created_at),
                "updated_at": format_time(updated_at),
                "metadata": json.loads(metadata) if metadata is not None else None,
            },
            "tags": self.tags(scenario_id),
            "entities": [e.as_document() for e in self.entities(scenario_id)],
        }

    def export_json(self, name: str) -> str:
        return canonical_json(self.document(name))

    def list(self, tag: str | None = None) -> list[dict[str, Any]]:
        """Scenarios (optionally only those with ``tag``), with entity counts and tags."""
        where = (
            f"WHERE s.scenario_id IN (SELECT scenario_id FROM {SCHEMA}.scenario_tags WHERE tag = ?)"
            if tag
            else ""
        )
        rows = self.session.fetch_rows(
            f"SELECT s.scenario_id, s.name, s.description, s.updated_at, "
            f"(SELECT count(*) FROM {SCHEMA}.scenario_entities e WHERE e.scenario_id = s.scenario_id) "
            f"FROM {SCHEMA}.scenarios s {where} ORDER BY s.name",
            [tag] if tag else None,
        )
        return [
            {
                "scenario_id": sid,
                "name": name,
                "description": description,
                "updated_at": format_time(updated),
                "entities": int(count),
                "tags": self.tags(sid),
            }
            for sid, name, description, updated, count in rows
        ]

    # -- writing ---------------------------------------------------------------------------
    def save(
        self,
        name: str,
        entities: Iterable[tuple[str, str, Any]],
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        replace: bool = False,
        now: dt.datetime | None = None,
        scenario_id: str | None = None,
    ) -> dict[str, Any]:
        """Save ``(entity_type, entity_id, data)`` triples as the scenario ``name``.

        ``now`` (default: the wall clock) stamps the rows; ``scenario_id`` (default: a
        random UUID) names a new scenario. A pipeline passes both from its data, so the
        same input saves the same rows.
        """
        if not name or not name.strip():
            raise ScenarioError("A scenario needs a name.")
        stamp = now or utc_now()
        existing = self._scenario_row(name)
        if existing and not replace:
            raise ScenarioError(f"Scenario {name!r} exists; use replace (--replace) or import.")
        scenario_id = existing[0] if existing else (scenario_id or str(uuid.uuid4()))
        created_at = existing[3] if existing else stamp
        with transaction(self.session):
            if existing:
                self._delete_rows(scenario_id)
            self.session.execute(
                f"INSERT INTO {SCHEMA}.scenarios VALUES (?, ?, ?, ?, ?, CAST(? AS JSON))",
                [
                    scenario_id,
                    name,
                    description,
                    created_at,
                    stamp,
                    compact_json(dict(metadata or {})),
                ],
            )
            self._insert_entities(
                scenario_id, [Entity(t, str(i), d, stamp, stamp) for t, i, d in entities]
            )
            self._insert_tags(scenario_id, tags)
        return self.document(name)["scenario"]

    def tag(self, name: str, tags: Iterable[str], remove: bool = False) -> list[str]:
        scenario_id = self._require(name)[0]
        tags = list(tags)
        with transaction(self.session):
            if remove and tags:
                marks = ", ".join("?" for _ in tags)
                self._rewrite(
                    "scenario_tags",
                    f"WHERE NOT (scenario_id = ? AND tag IN ({marks}))",
                    [scenario_id, *tags],
                )
            elif not remove:
                self._insert_tags(scenario_id, tags)
        return self.tags(scenario_id)

    def delete(self, name: str) -> bool:
        row = self._scenario_row(name)
        if row is None:
            return False
        with transaction(self.session):
            self._delete_rows(row[0])
        return True

    def import_json(self, text: str) -> ImportReport:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"Not JSON: {exc}") from exc
        return self.import_document(document)

    def import_document(self, document: Mapping[str, Any]) -> ImportReport:
        """Create the scenario, or merge it into the existing one: latest wins by entity UUID."""
        scenario, tags, entities = _validate(document)
        existing = self._scenario_row(scenario["scenario_id"]) or self._scenario_row(
            scenario["name"]
        )
        report = ImportReport(scenario=scenario["name"], created=existing is None)
        incoming_updated = parse_time(scenario["updated_at"])
        with transaction(self.session):
            if existing is None:
                self.session.execute(
                    f"INSERT INTO {SCHEMA}.scenarios VALUES (?, ?, ?, ?, ?, CAST(? AS JSON))",
                    [
                        scenario["scenario_id"],
                        scenario["name"],
                        scenario.get("description"),
                        parse_time(scenario["created_at"]),
                        incoming_updated,
                        compact_json(scenario.get("metadata"))
                        if scenario.get("metadata") is not None
                        else None,
                    ],
                )
                self._insert_entities(scenario["scenario_id"], entities)
                report.added = [f"{e.entity_type}/{e.entity_id}" for e in entities]
                self._insert_tags(scenario["scenario_id"], tags)
                report.tags_added = sorted(set(tags))
                return report
            scenario_id, _, description, _, current_updated, metadata = existing
            report.scenario = existing[1]
            self._merge_entities(scenario_id, entities, report)
            known_tags = set(self.tags(scenario_id))
            report.tags_added = sorted(set(tags) - known_tags)
            self._insert_tags(scenario_id, report.tags_added)
            incoming_metadata = scenario.get("metadata")
            if incoming_updated > current_updated and (
                scenario.get("description") != description
                or incoming_metadata != (json.loads(metadata) if metadata is not None else None)
            ):
                report.scenario_fields_updated = True
                metadata_text = (
                    compact_json(incoming_metadata) if incoming_metadata is not None else None
                )
                self._update_scenario(
                    scenario_id,
                    description=("?", scenario.get("description")),
                    metadata=("CAST(? AS JSON)", metadata_text),
                )
            if report.changed:
                newest = max(
                    [current_updated, incoming_updated]
                    + [
                        e.updated_at
                        for e in entities
                        if f"{e.entity_type}/{e.entity_id}" in report.updated
                    ]
                )
                if newest != current_updated:
                    self._update_scenario(scenario_id, updated_at=("?", newest))
        return report

    # -- internals -------------------------------------------------------------------------
    def _merge_entities(
        self, scenario_id: str, entities: list[Entity], report: ImportReport
    ) -> None:
        current = {(e.entity_type, e.entity_id): e for e in self.entities(scenario_id)}
        additions, updates = [], []
        for entity in entities:
            key = f"{entity.entity_type}/{entity.entity_id}"
            mine = current.get((entity.entity_type, entity.entity_id))
            if mine is None:
                additions.append(entity)
                report.added.append(key)
            elif entity.updated_at > mine.updated_at:
                row_id = _row_id(scenario_id, entity.entity_type, entity.entity_id)
                updates.append((row_id, compact_json(entity.data), entity.updated_at))
                report.updated.append(key)
            elif entity.updated_at == mine.updated_at and entity.data == mine.data:
                report.unchanged.append(key)
            else:
                report.kept.append(key)
        if updates:  # the newer copies replace the stored ones, in one table rewrite
            rows = ", ".join("(?, CAST(? AS JSON), CAST(? AS TIMESTAMP))" for _ in updates)
            self.session.create_table_as(
                f"{SCHEMA}.scenario_entities",
                "SELECT e.id, e.scenario_id, e.entity_type, e.entity_id, "
                "CASE WHEN u.id IS NULL THEN e.entity_data ELSE u.entity_data END AS entity_data, "
                "e.created_at, coalesce(u.updated_at, e.updated_at) AS updated_at "
                f"FROM {SCHEMA}.scenario_entities AS e LEFT JOIN (VALUES {rows}) "
                "AS u(id, entity_data, updated_at) ON u.id = e.id",
                [value for update in updates for value in update],
            )
        self._insert_entities(scenario_id, additions)

    def _insert_entities(self, scenario_id: str, entities: Iterable[Entity]) -> None:
        rows = [
            [
                _row_id(scenario_id, e.entity_type, e.entity_id),
                scenario_id,
                e.entity_type,
                e.entity_id,
                compact_json(e.data),
                e.created_at,
                e.updated_at,
            ]
            for e in entities
        ]
        for row in rows:
            self.session.execute(
                f"INSERT INTO {SCHEMA}.scenario_entities "
                "(id, scenario_id, entity_type, entity_id, entity_data, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, CAST(? AS JSON), ?, ?)",
                row,
            )

    def _insert_tags(self, scenario_id: str, tags: Iterable[str]) -> None:
        # INSERT ... WHERE NOT EXISTS rather than ON CONFLICT, which Spark SQL lacks.
        for tag in sorted({t.strip() for t in tags if t and t.strip()}):
            row_id = _row_id(scenario_id, "tag", tag)
            self.session.execute(
                f"INSERT INTO {SCHEMA}.scenario_tags SELECT ?, ?, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM {SCHEMA}.scenario_tags WHERE id = ?)",
                [row_id, scenario_id, tag, row_id],
            )

    def _delete_rows(self, scenario_id: str) -> None:
        for table in ("scenario_tags", "scenario_entities", "scenarios"):
            self._rewrite(table, "WHERE scenario_id <> ?", [scenario_id])

    # Rows change by rewriting the table (CREATE TABLE AS), not UPDATE/DELETE, which
    # Spark's Parquet tables lack. A rewrite drops declared keys: the store enforces them.
    def _rewrite(self, table: str, keep: str, params: list[Any]) -> None:
        """Keep only the rows of ``table`` matching ``keep`` (a WHERE clause)."""
        self.session.create_table_as(
            f"{SCHEMA}.{table}", f"SELECT * FROM {SCHEMA}.{table} {keep}", params
        )

    def _update_scenario(self, scenario_id: str, **values: tuple[str, Any]) -> None:
        """Set columns of one scenario: ``column=(SQL with one ?, value)``."""
        columns = ("scenario_id", "name", "description", "created_at", "updated_at", "metadata")
        select = ", ".join(
            f"CASE WHEN scenario_id = ? THEN {values[c][0]} ELSE {c} END AS {c}"
            if c in values
            else c
            for c in columns
        )
        params = [p for c in columns if c in values for p in (scenario_id, values[c][1])]
        self.session.create_table_as(
            f"{SCHEMA}.scenarios", f"SELECT {select} FROM {SCHEMA}.scenarios", params
        )


def _validate(document: Any) -> tuple[dict[str, Any], list[str], list[Entity]]:
    """Check a document's shape; return its scenario fields, tags and entities."""
    if not isinstance(document, Mapping) or document.get("format") != DOCUMENT_FORMAT:
        raise ScenarioError(f"Not a scenario document (expected format {DOCUMENT_FORMAT!r}).")
    if document.get("format_version") != DOCUMENT_FORMAT_VERSION:
        raise ScenarioError(f"Unsupported format_version {document.get('format_version')!r}.")
    scenario = document.get("scenario")
    if not isinstance(scenario, Mapping):
        raise ScenarioError("The document has no 'scenario' object.")
    for field in ("scenario_id", "name", "created_at", "updated_at"):
        if not isinstance(scenario.get(field), str) or not scenario[field]:
            raise ScenarioError(f"scenario.{field} is missing or not text.")
    tags = document.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ScenarioError("'tags' must be a list of text.")
    entities = []
    for index, raw in enumerate(document.get("entities") or []):
        if not isinstance(raw, Mapping) or not raw.get("entity_type") or not raw.get("entity_id"):
            raise ScenarioError(f"entities[{index}] lacks entity_type or entity_id.")
        try:
            created, updated = parse_time(raw["created_at"]), parse_time(raw["updated_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ScenarioError(f"entities[{index}] has a bad timestamp: {exc}") from exc
        entities.append(
            Entity(
                str(raw["entity_type"]), str(raw["entity_id"]), raw.get("data"), created, updated
            )
        )
    keys = [(e.entity_type, e.entity_id) for e in entities]
    if len(keys) != len(set(keys)):
        raise ScenarioError("The document lists the same entity twice.")
    try:
        parse_time(scenario["created_at"])
        parse_time(scenario["updated_at"])
    except ValueError as exc:
        raise ScenarioError(f"scenario has a bad timestamp: {exc}") from exc
    return dict(scenario), list(tags), entities
