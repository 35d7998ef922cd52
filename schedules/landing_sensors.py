"""One sensor per landing folder: a new or changed source file runs the assets that read it.

Each domain's ``definitions.py`` declares ``LANDING_SOURCES`` (landing folder relative to
the landing root -> the assets reading it). For each folder a sensor, every
``minimum_interval_seconds``:

- lists the files under ``<landing>/<source>/`` (hidden files, which is how writers name
  files still being written atomically, are skipped);
- waits while a file's size or modification time changes between two ticks (a file still
  being copied in is taken on the next tick after it stopped changing);
- hashes the stable files whose size or modification time differ from the last processed
  version, and requests ONE run of the folder's assets for those whose content changed.
  The run key is made of the file path(s) and content hash(es), so a file is processed
  once and a changed file again.

The state lives in the sensor cursor (JSON, stored by the Dagster instance), so it
survives restarts of the daemon or the UI.
"""

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from resources.landing import LandingZone

DEFAULT_INTERVAL_SECONDS = 30
_MAX_RUN_KEY = 200


@dataclasses.dataclass
class LandingState:
    """The sensor cursor: files seen last tick (not yet stable) and files processed."""

    seen: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # path -> [size, mtime_ns]
    done: dict[str, list[Any]] = dataclasses.field(
        default_factory=dict
    )  # path -> [size, mtime_ns, sha]

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "LandingState":
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(seen=dict(data.get("seen", {})), done=dict(data.get("done", {})))

    def to_cursor(self) -> str:
        return json.dumps({"seen": self.seen, "done": self.done}, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class TickOutcome:
    state: LandingState
    changed: list[tuple[str, str]]  # (relative path, sha256) to process now
    waiting: list[str]  # files whose size/mtime changed since the last tick


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def landing_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (recursively), skipping hidden files and folders."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def evaluate_folder(folder: Path, previous: LandingState) -> TickOutcome:
    """Compare the folder with the cursor state; decide what to run and what waits."""
    state = LandingState(seen={}, done={})
    changed: list[tuple[str, str]] = []
    waiting: list[str] = []
    for path in landing_files(folder):
        rel = path.relative_to(folder).as_posix()
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns]
        done = previous.done.get(rel)
        if done is not None and list(done[:2]) == signature:
            state.done[rel] = done  # processed and untouched since
            continue
        if previous.seen.get(rel) != signature:
            state.seen[rel] = signature  # new or still changing: look again next tick
            if done is not None:
                state.done[rel] = done
            waiting.append(rel)
            continue
        sha = _sha256(path)
        state.done[rel] = [*signature, sha]
        if done is None or done[2] != sha:
            changed.append((rel, sha))
    return TickOutcome(state=state, changed=changed, waiting=waiting)


def run_key_for(source: str, changed: list[tuple[str, str]]) -> str:
    """``<source>/<file>@<sha256>`` (several files: joined, or hashed when long)."""
    key = "|".join(f"{source}/{rel}@{sha}" for rel, sha in sorted(changed))
    if len(key) <= _MAX_RUN_KEY:
        return key
    return f"{source}@batch-{hashlib.sha256(key.encode()).hexdigest()}"


def sensor_name(source: str) -> str:
    return "landing_" + re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_").lower() + "_sensor"


def landing_sensor(
    source: str,
    selection: dg.AssetSelection,
    minimum_interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """The sensor of one landing folder, targeting the assets that read it."""

    @dg.sensor(
        name=sensor_name(source),
        target=selection,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Runs the assets reading {source}/ when a file there appears or changes (run key: "
            "path + SHA-256; files still growing wait for the next tick)."
        ),
    )
    def _landing_sensor(
        context: dg.SensorEvaluationContext, landing: LandingZone
    ) -> dg.SensorResult:
        folder = landing.folder(source)
        outcome = evaluate_folder(folder, LandingState.from_cursor(context.cursor))
        if outcome.waiting:
            context.log.info(
                f"Waiting for {len(outcome.waiting)} file(s) to settle: {outcome.waiting[:5]}"
            )
        requests = []
        if outcome.changed:
            files = [rel for rel, _ in outcome.changed]
            context.log.info(f"{len(files)} new or changed file(s) in {folder}: {files[:5]}")
            requests.append(
                dg.RunRequest(
                    run_key=run_key_for(source, outcome.changed),
                    tags={
                        "narr/landing_source": source,
                        "narr/landing_files": ", ".join(files)[:1000],
                    },
                )
            )
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=outcome.state.to_cursor())
        reason = (
            f"waiting for {len(outcome.waiting)} file(s) in {folder} to stop changing"
            if outcome.waiting
            else f"no new or changed file in {folder}"
        )
        return dg.SensorResult(skip_reason=reason, cursor=outcome.state.to_cursor())

    return _landing_sensor


def merge_landing_sources(
    sources: Iterable[Mapping[str, dg.AssetSelection]],
) -> dict[str, dg.AssetSelection]:
    """Merge domains' LANDING_SOURCES; a folder read by two domains gets both selections."""
    merged: dict[str, dg.AssetSelection] = {}
    for mapping in sources:
        for folder, selection in mapping.items():
            merged[folder] = merged[folder] | selection if folder in merged else selection
    return merged


def landing_sensors(landing_sources: Mapping[str, dg.AssetSelection]) -> list[dg.SensorDefinition]:
    """One sensor per landing folder."""
    return [landing_sensor(source, landing_sources[source]) for source in sorted(landing_sources)]


def landing_sensor_definitions(
    sources: Iterable[Mapping[str, dg.AssetSelection]],
) -> dg.Definitions:
    """Sensors for the given domains' ``LANDING_SOURCES`` (the code location passes them)."""
    return dg.Definitions(sensors=landing_sensors(merge_landing_sources(sources)))
