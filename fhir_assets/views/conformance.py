"""The SQL on FHIR v2 conformance suite run on a warehouse engine.

Each test file holds ``resources`` and ``tests`` (a ``view`` with ``expect`` rows, in any
order, or ``expectError: true``). :func:`run_suite` loads each file's resources into one
table per resource type (``id``, ``resource`` JSON text, the platform's convention),
compiles every view for the engine, runs it there and compares the rows. The report is the
specification's ``test_report`` shape: ``{file: {"tests": [{"name", "result": {"passed"}}]}}``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir_assets.views.compiler import CompiledView, compile_view
from fhir_assets.views.dialects import RUNTIME_ERROR_PREFIX
from fhir_assets.views.fhirpath import ViewError
from resources.warehouse import WarehouseSession

TABLE_PREFIX = "sof_conformance_"


@dataclasses.dataclass(frozen=True)
class CaseResult:
    file: str
    title: str
    tags: tuple[str, ...]
    passed: bool
    error: str | None = None

    @property
    def shareable(self) -> bool:
        return "shareable" in self.tags


def suite_files(folder: Path) -> list[Path]:
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"No conformance test files (*.json) in {folder}.")
    return files


def iter_cases(folder: Path) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(file, file document, test) for every test of the suite."""
    for path in suite_files(folder):
        document = json.loads(path.read_text())
        for test in document["tests"]:
            yield path, document, test


def table_for(resource_type: str) -> str:
    return TABLE_PREFIX + resource_type.lower()


def load_resources(
    session: WarehouseSession, resources: list[dict[str, Any]], types: set[str]
) -> None:
    """One temporary table per resource type (``types`` also get one, empty when absent)."""
    by_type: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for resource in resources:
        by_type[resource["resourceType"]].append((str(resource.get("id")), json.dumps(resource)))
    for resource_type in set(by_type) | types:
        rows = by_type.get(resource_type, [])
        table = table_for(resource_type)
        if session.engine == "spark":
            frame = session.spark.createDataFrame(rows, "id string, resource string")
            frame.createOrReplaceTempView(table)
        else:
            session.execute(f"CREATE OR REPLACE TEMP TABLE {table} (id VARCHAR, resource VARCHAR)")
            if rows:
                session.connection.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)


def _plain(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


def fetch_view(session: WarehouseSession, compiled: CompiledView) -> list[dict[str, Any]]:
    """The view's rows as dicts of JSON-like values."""
    rows = session.fetch_rows_native(compiled.sql)
    out = []
    for row in rows:
        record = {}
        for column, value in zip(compiled.columns, row, strict=True):
            if column.collection:
                record[column.name] = (
                    None if value is None else [_plain(v, column.kind) for v in value]
                )
            else:
                record[column.name] = _plain(value, column.kind)
        out.append(record)
    return out


def _normalize(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _key(row: dict[str, Any]) -> str:
    return json.dumps(_normalize(row), sort_keys=True)


def run_case(
    session: WarehouseSession, document: dict[str, Any], test: dict[str, Any], engine: str
) -> tuple[bool, str | None]:
    """Whether one test passes on the session's engine, and why not."""
    view = test["view"]
    try:
        compiled = compile_view(view, engine, table_for)
    except ViewError as exc:
        if test.get("expectError"):
            return True, None
        return False, f"refused: {exc}"
    load_resources(session, document.get("resources", []), {compiled.resource})
    try:
        rows = fetch_view(session, compiled)
    except Exception as exc:  # the engine's own error type
        if test.get("expectError") and RUNTIME_ERROR_PREFIX in str(exc):
            return True, None  # the view's own runtime refusal, not any engine failure
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    if test.get("expectError"):
        return False, f"expected an error, got {len(rows)} rows"
    if "expectColumns" in test:
        names = [c.name for c in compiled.columns]
        if names != test["expectColumns"]:
            return False, f"columns {names} != {test['expectColumns']}"
    expected = test.get("expect", [])
    got = sorted(_key(r) for r in rows)
    want = sorted(_key(r) for r in expected)
    if got != want:
        return False, f"rows differ: got {got[:5]} want {want[:5]}"
    return True, None


def run_suite(session: WarehouseSession, folder: Path, engine: str) -> list[CaseResult]:
    results = []
    for path, document, test in iter_cases(folder):
        passed, error = run_case(session, document, test, engine)
        results.append(
            CaseResult(path.name, test["title"], tuple(test.get("tags", [])), passed, error)
        )
    return results


def test_report(results: list[CaseResult]) -> dict[str, Any]:
    """The specification's test_report JSON."""
    report: dict[str, Any] = {}
    for result in results:
        entry: dict[str, Any] = {"name": result.title, "result": {"passed": result.passed}}
        if result.error:
            entry["result"]["error"] = result.error
        report.setdefault(result.file, {"tests": []})["tests"].append(entry)
    return report


def summary(results: list[CaseResult]) -> dict[str, int]:
    shareable = [r for r in results if r.shareable]
    other = [r for r in results if not r.shareable]
    return {
        "tests": len(results),
        "passed": sum(r.passed for r in results),
        "shareable": len(shareable),
        "shareable_passed": sum(r.passed for r in shareable),
        "experimental": len(other),
        "experimental_passed": sum(r.passed for r in other),
    }
