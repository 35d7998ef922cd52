"""One sensor per landing folder: a new or changed source file runs the assets that read it.

Each domain's ``definitions.py`` declares ``LANDING_SOURCES`` (landing folder relative to
the landing root -> the assets reading it). For each folder a sensor, every
``minimum_interval_seconds``:

- lists the files under ``<landing>/<source>/`` (hidden files, which is how writers name
  files still being written atomically, are skipped);
- waits while a file's size or modification time changes between two ticks (a file still
  being copied in is taken on the next tick after it stopped changing); a file whose
  modification time is already one interval old is taken at once;
- hashes the stable files whose size or modification time differ from the last processed
  version and requests ONE run of the folder's assets (``asset_selection``, so the run
  shows its target) when a file's content differs from what was last loaded from it,
  including a return to earlier content. A file touched without a change, or the same
  content under another name, launches nothing.
- On its first tick (no cursor: a new instance, or the first start of the daemon after
  ``make run``) it takes the files whose content the readers already loaded as seen: each
  reader records the SHA-256 of the files it read in its materialization metadata
  (``resources.landing.source_files_metadata``).

The state lives in the sensor cursor (JSON, stored by the Dagster instance), so it
survives restarts of the daemon or the UI. Run keys end with ``#<epoch>.<n>``, the n-th
run this cursor requested: a retried tick reuses its key (no duplicate run), while a file
put back to earlier content gets a new key (Dagster skips a run key used before).
"""

import dataclasses
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from resources.landing import (
    DEFAULT_LANDING_DIR,
    LANDING_DIR_ENV_VAR,
    LandingZone,
    file_sha256,
    recorded_source_hashes,
)

DEFAULT_INTERVAL_SECONDS = 15
_MAX_RUN_KEY = 200


@dataclasses.dataclass
class LandingState:
    """The sensor cursor: files seen last tick (not yet stable) and files processed."""

    seen: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # path -> [size, mtime_ns]
    done: dict[str, list[Any]] = dataclasses.field(
        default_factory=dict
    )  # path -> [size, mtime_ns, sha]
    epoch: str = ""  # when this cursor started (part of every run key)
    runs: int = 0  # runs requested since

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "LandingState":
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(
            seen=dict(data.get("seen", {})),
            done=dict(data.get("done", {})),
            epoch=str(data.get("epoch", "")),
            runs=int(data.get("runs", 0)),
        )

    def to_cursor(self) -> str:
        return json.dumps(
            {"seen": self.seen, "done": self.done, "epoch": self.epoch, "runs": self.runs},
            sort_keys=True,
        )


@dataclasses.dataclass(frozen=True)
class TickOutcome:
    state: LandingState
    changed: list[tuple[str, str]]  # (relative path, sha256) to process now
    waiting: list[str]  # files whose size/mtime changed since the last tick
    already_loaded: list[str] = dataclasses.field(default_factory=list)  # first tick only
    duplicates: list[str] = dataclasses.field(default_factory=list)  # same content, new name


def _sha256(path: Path) -> str:
    return file_sha256(path)


def landing_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (recursively), skipping hidden files and folders."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@dataclasses.dataclass(frozen=True)
class LoadedSources:
    """What the readers' newest materializations say they read (first tick only)."""

    hashes: set[str]  # content hashes of the files read
    read_at_ns: int  # the oldest of the readers' newest materialization times


def evaluate_folder(
    folder: Path,
    previous: LandingState,
    loaded: LoadedSources | None = None,
    settle_seconds: float = DEFAULT_INTERVAL_SECONDS,
    now_ns: int | None = None,
) -> TickOutcome:
    """Compare the folder with the cursor state; decide what to run and what waits.

    ``loaded`` (first tick only): a file holding content the readers already loaded is
    taken as processed without a run; so is a file the readers did not read (its pattern
    is not theirs, e.g. Synthea's ``allergies.csv``) that was last modified before every
    reader last ran.
    """
    state = LandingState(
        seen={}, done={}, epoch=previous.epoch or str(time.time_ns()), runs=previous.runs
    )
    changed: list[tuple[str, str]] = []
    waiting: list[str] = []
    already_loaded: list[str] = []
    duplicates: list[str] = []
    files = [(path.relative_to(folder).as_posix(), path) for path in landing_files(folder)]
    if loaded is not None and loaded.hashes:
        for rel, path in files:
            if rel in previous.done or rel in previous.seen:
                continue
            stat = path.stat()
            sha = _sha256(path)
            if sha in loaded.hashes or stat.st_mtime_ns < loaded.read_at_ns:
                previous.done[rel] = [stat.st_size, stat.st_mtime_ns, sha]
                already_loaded.append(rel)
    for rel, path in files:
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns]
        done = previous.done.get(rel)
        if done is not None and list(done[:2]) == signature:
            state.done[rel] = done  # processed and untouched since
            continue
        settled = (now_ns or time.time_ns()) - stat.st_mtime_ns >= settle_seconds * 1e9
        if previous.seen.get(rel) != signature and not settled:
            # New or still changing, and modified within the last interval: look again
            # next tick. (Untouched for a whole interval is the same evidence as the same
            # size and mtime on two ticks, one tick sooner.)
            state.seen[rel] = signature
            if done is not None:
                state.done[rel] = done
            waiting.append(rel)
            continue
        sha = _sha256(path)
        state.done[rel] = [*signature, sha]
        if done is not None and done[2] == sha:
            continue  # touched, same content
        # Content last loaded from any other file, including one just renamed or removed
        # (removing a file reloads nothing, so its content is still what was loaded).
        loaded_elsewhere = {
            entry[2]
            for other, entry in (*previous.done.items(), *state.done.items())
            if other != rel
        } | {s for _, s in changed}
        if done is None and sha in loaded_elsewhere:
            duplicates.append(rel)  # the same content under another name
            continue
        changed.append((rel, sha))
    if not changed:
        # A removed file reloads nothing, so its content stays loaded until the next run
        # of the readers (which read the folder as it is then).
        present = {rel for rel, _ in files}
        for rel, entry in previous.done.items():
            if rel not in present:
                state.done[rel] = entry
    return TickOutcome(
        state=state,
        changed=changed,
        waiting=waiting,
        already_loaded=already_loaded,
        duplicates=duplicates,
    )


def run_key_for(source: str, changed: list[tuple[str, str]], suffix: str = "") -> str:
    """``<source>/<file>@<sha256><suffix>`` (several files: joined, or hashed when long)."""
    key = "|".join(f"{source}/{rel}@{sha}" for rel, sha in sorted(changed))
    if len(key) > _MAX_RUN_KEY:
        key = f"{source}@batch-{hashlib.sha256(key.encode()).hexdigest()}"
    return key + suffix


def sensor_name(source: str) -> str:
    return "landing_" + re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_").lower() + "_sensor"


def _selected_keys(
    context: dg.SensorEvaluationContext, selection: dg.AssetSelection
) -> list[dg.AssetKey]:
    repository = context.repository_def
    if repository is None:  # a bare test context without definitions
        return sorted(getattr(selection, "selected_keys", []) or [])
    return sorted(selection.resolve(repository.asset_graph))


def _loaded_sources(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> LoadedSources:
    """Content hashes recorded by the newest materialization of each reader, and when."""
    hashes: set[str] = set()
    times: list[float] = []
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event else None
        if materialization is None:
            times.append(0.0)  # a reader never ran: no file counts as seen by it
            continue
        hashes |= recorded_source_hashes(dict(materialization.metadata))
        times.append(event.timestamp)
    read_at = min(times) if times else 0.0
    return LoadedSources(hashes=hashes, read_at_ns=int(read_at * 1e9))


def landing_sensor(
    source: str,
    selection: dg.AssetSelection,
    minimum_interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """The sensor of one landing folder, targeting the assets that read it."""
    # The folder as this code location resolves it (PLATFORM_LANDING_DIR, read at load).
    shown_folder = LandingZone(
        root=os.environ.get(LANDING_DIR_ENV_VAR, "").strip() or DEFAULT_LANDING_DIR
    ).folder(source)

    @dg.sensor(
        name=sensor_name(source),
        target=selection,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Watches {shown_folder}/ every {minimum_interval_seconds} s. When a file there is new or its content changed "
            "(SHA-256; a touched file or a copy of loaded content does not count), it runs "
            "the assets reading that folder once the file has stopped growing; everything "
            "downstream then follows by declarative automation. On its first tick it takes "
            "the files the readers already loaded (hashes in their materialization metadata) "
            "as seen. Ticks are kept as dagster_home/dagster.yaml's retention says (skipped "
            "7 days, others 30)."
        ),
    )
    def _landing_sensor(
        context: dg.SensorEvaluationContext, landing: LandingZone
    ) -> dg.SensorResult:
        folder = landing.folder(source)
        previous = LandingState.from_cursor(context.cursor)
        keys = _selected_keys(context, selection)
        loaded = _loaded_sources(context.instance, keys) if not context.cursor else None
        outcome = evaluate_folder(folder, previous, loaded)
        if outcome.already_loaded:
            context.log.info(
                f"First tick: {len(outcome.already_loaded)} file(s) in {folder} already "
                f"loaded by {[k.to_user_string() for k in keys]}: {outcome.already_loaded[:5]}"
            )
        if outcome.duplicates:
            context.log.info(f"Same content as a loaded file, not run: {outcome.duplicates[:5]}")
        if outcome.waiting:
            context.log.info(
                f"Waiting for {len(outcome.waiting)} file(s) to settle: {outcome.waiting[:5]}"
            )
        state = outcome.state
        if outcome.changed:
            files = [rel for rel, _ in outcome.changed]
            context.log.info(f"{len(files)} new or changed file(s) in {folder}: {files[:5]}")
            state.runs += 1
            request = dg.RunRequest(
                run_key=run_key_for(source, outcome.changed, f"#{state.epoch}.{state.runs}"),
                asset_selection=keys or None,
                tags={
                    "narr/landing_source": source,
                    "narr/landing_files": ", ".join(files)[:1000],
                },
            )
            return dg.SensorResult(run_requests=[request], cursor=state.to_cursor())
        if outcome.waiting:
            reason = f"waiting for {len(outcome.waiting)} file(s) in {folder} to stop changing"
        elif outcome.already_loaded:
            reason = f"{len(outcome.already_loaded)} file(s) in {folder} already loaded"
        else:
            reason = f"no new or changed file in {folder}"
        return dg.SensorResult(skip_reason=reason, cursor=state.to_cursor())

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
