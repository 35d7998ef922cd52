"""Landing-folder sensors: run keys from path + content hash, settling, cursor, end to end."""

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

import reference_assets.definitions
from resources.landing import LandingZone
from schedules.landing_sensors import (
    LandingState,
    landing_sensor,
    landing_sensor_definitions,
    merge_landing_sources,
    sensor_name,
)
from tests.support.ops import operations_definitions, use_private_ops_dirs

STATES = dg.AssetSelection.assets(dg.AssetKey(["reference", "ref_us_states"]))
STATES_CSV = "usps,name,fips\nAL,Alabama,01\nAK,Alaska,02\n"


@pytest.fixture(autouse=True)
def ops_dirs(platform_env, monkeypatch):
    return use_private_ops_dirs(platform_env, monkeypatch)


@pytest.fixture
def states_folder(landing_dir: Path) -> Path:
    folder = landing_dir / "reference" / "states"
    folder.mkdir(parents=True)
    return folder


def tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, landing_dir: Path, cursor: str | None
):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": LandingZone(root=str(landing_dir))}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result.run_requests or [], result.cursor


def test_file_is_processed_once_after_it_settles(states_folder, landing_dir, dagster_home):
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    (states_folder / "states.csv").write_text(STATES_CSV)

    context = dg.build_sensor_context(
        instance=instance, resources={"landing": LandingZone(root=str(landing_dir))}
    )
    first = sensor(context)
    assert not first.run_requests  # first sighting: wait one tick for the size to settle
    assert "waiting for 1 file(s)" in first.skip_reason.skip_message
    requests, cursor = tick(sensor, instance, landing_dir, first.cursor)
    assert len(requests) == 1
    import hashlib

    sha = hashlib.sha256(STATES_CSV.encode()).hexdigest()
    assert requests[0].run_key.startswith(f"reference/states/states.csv@{sha}#")
    assert requests[0].asset_selection == [dg.AssetKey(["reference", "ref_us_states"])]
    assert requests[0].tags["narr/landing_files"] == "states.csv"
    for _ in range(2):  # nothing new: no more runs
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert requests == []


def test_changed_file_runs_again_and_touch_does_not(states_folder, landing_dir, dagster_home):
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    path = states_folder / "states.csv"
    path.write_text(STATES_CSV)
    cursor = None
    for _ in range(2):
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
    first_key = requests[0].run_key

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    for _ in range(3):
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert requests == []

    path.write_text(STATES_CSV + "AZ,Arizona,04\n")
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert requests == []
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1 and requests[0].run_key != first_key


def test_growing_file_waits_until_its_size_stops_changing(states_folder, landing_dir, dagster_home):
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    path = states_folder / "big.csv"
    path.write_text("usps,name,fips\n")
    requests, cursor = tick(sensor, instance, landing_dir, None)
    for row in ("AL,Alabama,01\n", "AK,Alaska,02\n"):
        with open(path, "a") as handle:  # still being written between ticks
            handle.write(row)
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert requests == []
        assert "big.csv" in LandingState.from_cursor(cursor).seen
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1 and "big.csv@" in requests[0].run_key


def test_hidden_partial_files_are_ignored_and_batches_get_one_run(
    states_folder, landing_dir, dagster_home
):
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    (states_folder / ".states.csv.abc123").write_text("half written")
    (states_folder / "a.csv").write_text(STATES_CSV)
    (states_folder / "b.csv").write_text(STATES_CSV.replace("AL", "AZ"))
    _, cursor = tick(sensor, instance, landing_dir, None)
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1
    key = requests[0].run_key
    assert "reference/states/a.csv@" in key and "reference/states/b.csv@" in key
    assert ".states.csv" not in key
    assert set(LandingState.from_cursor(cursor).done) == {"a.csv", "b.csv"}


def test_cursor_survives_a_restart(states_folder, landing_dir, dagster_home):
    """A new sensor object (daemon restart) given the stored cursor does not run again."""
    (states_folder / "states.csv").write_text(STATES_CSV)
    instance = dg.DagsterInstance.get()
    _, cursor = tick(landing_sensor("reference/states", STATES), instance, landing_dir, None)
    requests, cursor = tick(
        landing_sensor("reference/states", STATES), instance, landing_dir, cursor
    )
    assert len(requests) == 1
    restarted = landing_sensor("reference/states", STATES)
    requests, _ = tick(restarted, instance, landing_dir, cursor)
    assert requests == []
    # Without the cursor it would have started over (proves the cursor carries the state).
    fresh = LandingState.from_cursor(None)
    assert fresh.done == {}


def test_one_sensor_per_landing_source_of_each_domain():
    defs = landing_sensor_definitions([reference_assets.definitions.LANDING_SOURCES, {}])
    names = sorted(s.name for s in defs.sensors)
    expected = sorted(sensor_name(s) for s in reference_assets.definitions.LANDING_SOURCES)
    assert names == expected
    assert "landing_reference_states_sensor" in names
    merged = merge_landing_sources([{"x": STATES}, {"x": dg.AssetSelection.groups("other")}])
    assert list(merged) == ["x"]


def test_sensor_targets_exactly_the_assets_reading_its_folder():
    defs = operations_definitions()
    sensor = defs.resolve_sensor_def("landing_reference_states_sensor")
    job = defs.resolve_job_def(sensor.job_name)
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["reference", "ref_us_states"])}
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _run_request(defs: dg.Definitions, instance, landing_dir, sensor_name_: str):
    from resources import build_resources

    sensor = defs.resolve_sensor_def(sensor_name_)
    landing = build_resources()["landing"]  # the code location's landing resource (env)
    assert Path(landing.root) == landing_dir
    cursor = None
    for _ in range(2):
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources={"landing": landing}
        )
        result = sensor(context)
        cursor = result.cursor
    [request] = result.run_requests
    return request, defs.resolve_job_def(sensor.job_name)  # the job the daemon would launch


def test_dropped_file_runs_the_states_asset_end_to_end(landing_dir, warehouse_path, dagster_home):
    from narr_platform import sample_data

    sample_data.generate(sample_data.SampleDataRequest(out=landing_dir), ("reference/states",))
    defs = operations_definitions()
    instance = dg.DagsterInstance.get()
    request, job = _run_request(defs, instance, landing_dir, "landing_reference_states_sensor")
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["reference", "ref_us_states"])}
    result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM reference.ref_us_states").fetchone()[0] == 56
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["narr/landing_source"] == "reference/states"


def test_unparseable_file_fails_its_run_naming_the_file(landing_dir, dagster_home):
    folder = landing_dir / "reference" / "states"
    folder.mkdir(parents=True)
    (folder / "broken.csv").write_text('usps,name,fips\n"AL,Alabama,01\nAK,"Alaska,02,extra,more\n')
    defs = operations_definitions()
    instance = dg.DagsterInstance.get()
    request, job = _run_request(defs, instance, landing_dir, "landing_reference_states_sensor")
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["reference", "ref_us_states"])}
    result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "broken.csv" in str(failure.event_specific_data.error)


def test_code_location_has_one_sensor_per_landing_folder_of_every_domain():
    import directory_assets.definitions
    import fhir_assets.definitions
    import fhir_assets.healthsim.definitions
    from narr_platform.definitions import defs as code_location

    defs = code_location()
    modules = (
        directory_assets.definitions,
        fhir_assets.definitions,
        fhir_assets.healthsim.definitions,
        reference_assets.definitions,
    )
    folders = merge_landing_sources(m.LANDING_SOURCES for m in modules)
    names = {s.name for s in defs.sensors if s.name.startswith("landing_")}
    assert names == {sensor_name(folder) for folder in folders}
    assert "landing_reference_states_sensor" in names


def _drive(sensor, instance, landing_dir, cursor, definitions=None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        resources={"landing": LandingZone(root=str(landing_dir))},
    )
    result = sensor(context)
    return result.run_requests or [], result.cursor, result


def test_return_to_earlier_content_reloads_with_a_fresh_run_key(
    states_folder, landing_dir, dagster_home
):
    """Issue 19.4: A -> B -> A must run three times, each with a run key never used before.

    Dagster skips a run request whose run key the sensor used before, so a key made of
    path and content alone (A's key again) would leave B's rows in the warehouse.
    """
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    path = states_folder / "states.csv"
    contents = [STATES_CSV, STATES_CSV + "AZ,Arizona,04\n", STATES_CSV]
    keys, cursor = [], None
    for number, content in enumerate(contents):
        path.write_text(content)
        stat = path.stat()  # distinct mtimes even on coarse filesystems
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + number * 1_000_000_000))
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert requests == []  # one tick to settle
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert len(requests) == 1, f"content #{number} was not reloaded"
        keys.append(requests[0].run_key)
    assert len(set(keys)) == 3, keys
    # A retried tick (same cursor) would request the same key: no duplicate run.
    restarted = landing_sensor("reference/states", STATES)
    path.write_text(STATES_CSV + "AK,Alaska,02\n")
    _, settle = tick(restarted, instance, landing_dir, cursor)
    first, _ = tick(restarted, instance, landing_dir, settle)
    again, _ = tick(restarted, instance, landing_dir, settle)
    assert first[0].run_key == again[0].run_key


def test_same_content_under_another_name_launches_nothing(states_folder, landing_dir, dagster_home):
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    (states_folder / "states.csv").write_text(STATES_CSV)
    _, cursor = tick(sensor, instance, landing_dir, None)
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1
    (states_folder / "states_copy.csv").write_text(STATES_CSV)  # a copy
    (states_folder / "states.csv").rename(states_folder / "renamed.csv")  # a rename
    for _ in range(3):
        requests, cursor = tick(sensor, instance, landing_dir, cursor)
        assert requests == []
    # New content under a new name still runs; the readers then read the folder as it is,
    # so the removed name leaves the cursor.
    (states_folder / "more.csv").write_text("usps,name,fips\nAZ,Arizona,04\n")
    _, cursor = tick(sensor, instance, landing_dir, cursor)
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1 and "more.csv@" in requests[0].run_key
    assert set(LandingState.from_cursor(cursor).done) == {
        "states_copy.csv",
        "renamed.csv",
        "more.csv",
    }


def test_first_tick_takes_files_the_reader_already_loaded_as_seen(
    landing_dir, warehouse_path, dagster_home
):
    """After `make run`, the daemon's first tick launches nothing for loaded files."""
    from narr_platform import sample_data

    sample_data.generate(sample_data.SampleDataRequest(out=landing_dir), ("reference/states",))
    # A file the reader does not read (not *.csv), there before it ran: seen, too.
    (landing_dir / "reference" / "states" / "README.txt").write_text("where states come from")
    defs = operations_definitions()
    instance = dg.DagsterInstance.get()
    states_key = dg.AssetKey(["reference", "ref_us_states"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={states_key})
    assert job.execute_in_process(instance=instance).success
    event = instance.get_latest_materialization_event(states_key)
    recorded = event.asset_materialization.metadata["source_files_sha256"].data
    assert len(recorded) == len(list((landing_dir / "reference" / "states").glob("*.csv")))

    sensor = defs.resolve_sensor_def("landing_reference_states_sensor")
    requests, cursor, result = _drive(sensor, instance, landing_dir, None, defs)
    assert requests == []
    assert "already loaded" in result.skip_reason.skip_message
    for _ in range(2):
        requests, cursor, _ = _drive(sensor, instance, landing_dir, cursor, defs)
        assert requests == []

    # A file the reader has not loaded is still picked up (one settling tick, one run).
    folder = landing_dir / "reference" / "states"
    (folder / "extra.csv").write_text("usps,name,fips\nZZ,Nowhere,99\n")
    requests, cursor, _ = _drive(sensor, instance, landing_dir, cursor, defs)
    assert requests == []
    requests, cursor, _ = _drive(sensor, instance, landing_dir, cursor, defs)
    assert len(requests) == 1 and requests[0].asset_selection == [states_key]

    # Without the recorded hashes (a reader that records none) the first tick would run.
    fresh = dg.DagsterInstance.ephemeral()
    _, cursor, _ = _drive(sensor, fresh, landing_dir, None, defs)
    requests, _, _ = _drive(sensor, fresh, landing_dir, cursor, defs)
    assert len(requests) == 1


def test_file_untouched_for_an_interval_is_taken_on_first_sight(
    states_folder, landing_dir, dagster_home
):
    """A file renamed into place long after it was written needs no second tick."""
    instance = dg.DagsterInstance.get()
    sensor = landing_sensor("reference/states", STATES)
    path = states_folder / "states.csv"
    path.write_text(STATES_CSV)
    stat = path.stat()
    old = stat.st_mtime_ns - 60 * 1_000_000_000
    os.utime(path, ns=(stat.st_atime_ns, old))
    requests, cursor = tick(sensor, instance, landing_dir, None)
    assert len(requests) == 1
    # A file written just now still waits one tick.
    (states_folder / "fresh.csv").write_text("usps,name,fips\nAZ,Arizona,04\n")
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert requests == []
    requests, cursor = tick(sensor, instance, landing_dir, cursor)
    assert len(requests) == 1 and "fresh.csv@" in requests[0].run_key
