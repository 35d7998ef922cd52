"""Migration of legacy scenarios: a folder with one JSON file per scenario.

The legacy layout (HealthSim before the scenario tables), one file ``<anything>.json`` each::

    {
      "scenario_name": "diabetic-cohort",            # required, unique
      "description": "Adults with type 2 diabetes",  # optional
      "created": "2023-05-01T10:00:00",              # required, ISO 8601 (UTC if no offset)
      "modified": "2023-06-01T08:30:00",             # optional; defaults to "created"
      "tags": ["diabetes", "demo"],                  # optional
      "entities": {                                  # entity type (plural) -> objects
        "patients":   [{"id": "<uuid>", ...}],       # every object has a UUID "id"
        "encounters": [{"id": "<uuid>", ...}],
        "conditions": [...], "claims": [...]
      }
    }

Each file becomes one scenario (id = uuid5 of the legacy name, so it is stable), each
object one entity (type = the singular of its key, id = its ``id``, data = the object),
timestamps from ``created``/``modified``. Migration goes through the import merge, so
re-running it changes nothing; a malformed file is reported with its reason and skipped,
and the other files still migrate.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

from fhir_assets.healthsim.scenarios.store import (
    DOCUMENT_FORMAT,
    DOCUMENT_FORMAT_VERSION,
    ImportReport,
    ScenarioError,
    ScenarioStore,
    format_time,
    parse_time,
)

LEGACY_NAMESPACE = uuid.UUID("0b8f3c1e-7a4d-4f3e-9d0a-52e1c6b7a9f4")
_SINGULAR = {
    "patients": "patient",
    "encounters": "encounter",
    "conditions": "condition",
    "claims": "claim",
    "medications": "medication",
    "procedures": "procedure",
}


@dataclasses.dataclass
class LegacyMigrationReport:
    migrated: list[tuple[str, ImportReport]] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def changed_files(self) -> list[str]:
        return [name for name, report in self.migrated if report.changed]

    def summary(self) -> dict[str, Any]:
        return {
            "files_migrated": len(self.migrated),
            "files_changed": self.changed_files,
            "files_skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "entities_added": sum(len(r.added) for _, r in self.migrated),
            "entities_updated": sum(len(r.updated) for _, r in self.migrated),
        }


def legacy_to_document(legacy: Any) -> dict[str, Any]:
    """A legacy scenario object as a current scenario document; ScenarioError when malformed."""
    if not isinstance(legacy, dict):
        raise ScenarioError("the file is not a JSON object")
    name = legacy.get("scenario_name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError("'scenario_name' is missing")
    try:
        created = parse_time(str(legacy["created"]))
        modified = parse_time(str(legacy.get("modified") or legacy["created"]))
    except (KeyError, ValueError) as exc:
        raise ScenarioError(f"'created'/'modified' is not an ISO 8601 timestamp ({exc})") from exc
    groups = legacy.get("entities") or {}
    if not isinstance(groups, dict):
        raise ScenarioError("'entities' must be an object of entity lists")
    entities = []
    for plural, objects in groups.items():
        if not isinstance(objects, list):
            raise ScenarioError(f"entities.{plural} must be a list")
        entity_type = _SINGULAR.get(plural, plural.rstrip("s"))
        for index, obj in enumerate(objects):
            if not isinstance(obj, dict) or "id" not in obj:
                raise ScenarioError(f"entities.{plural}[{index}] has no 'id'")
            try:
                entity_id = str(uuid.UUID(str(obj["id"])))
            except ValueError as exc:
                raise ScenarioError(f"entities.{plural}[{index}].id is not a UUID") from exc
            entities.append(
                {
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "created_at": format_time(created),
                    "updated_at": format_time(modified),
                    "data": obj,
                }
            )
    tags = legacy.get("tags") or []
    if not isinstance(tags, list):
        raise ScenarioError("'tags' must be a list")
    return {
        "format": DOCUMENT_FORMAT,
        "format_version": DOCUMENT_FORMAT_VERSION,
        "scenario": {
            "scenario_id": str(uuid.uuid5(LEGACY_NAMESPACE, name.strip())),
            "name": name.strip(),
            "description": legacy.get("description"),
            "created_at": format_time(created),
            "updated_at": format_time(modified),
            "metadata": {"migrated_from": "legacy-json"},
        },
        "tags": sorted({str(t) for t in tags}),
        "entities": entities,
    }


def migrate_legacy_folder(store: ScenarioStore, folder: Path) -> LegacyMigrationReport:
    """Migrate every ``*.json`` of ``folder`` (sorted by name); skip and report bad files."""
    report = LegacyMigrationReport()
    for path in sorted(folder.glob("*.json")):
        try:
            legacy = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            report.skipped.append((path.name, f"not valid JSON ({exc})"))
            continue
        try:
            report.migrated.append((path.name, store.import_document(legacy_to_document(legacy))))
        except ScenarioError as exc:
            report.skipped.append((path.name, str(exc)))
    return report
