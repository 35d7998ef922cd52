"""Write-audit-publish: real bad input fails a blocking audit and nothing is published.

One test per domain. Each lands good input and materializes, then lands bad input (a real
mistake an operator makes) and asserts: the run fails naming the check and the source
file; the published table keeps exactly its rows (row count and an order-independent
content hash computed in SQL); the staged table is kept; the next good run publishes it
and removes the staged table.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from resources.publish import staged_name


def fingerprint(warehouse: Path, table: str) -> tuple[int, str]:
    """Row count and order-independent content hash (sum of row hashes), in SQL."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        count, digest = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {table} AS t"
        ).fetchone()
    return int(count), str(digest)


def table_exists(warehouse: Path, table: str) -> bool:
    schema, name = table.split(".")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return bool(
            con.execute(
                "SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                [schema, name],
            ).fetchall()
        )


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    """What the failed steps said (the failure's description, as the UI shows it)."""
    messages = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            messages.append(data.user_failure_data.description)
        elif data.error is not None:
            messages.append(data.error.message)
    return "\n".join(messages)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }


def assert_not_published(
    result: dg.ExecuteInProcessResult,
    warehouse: Path,
    table: str,
    before: tuple[int, str],
    check: str,
    source_file: str,
) -> str:
    assert not result.success
    message = failure_messages(result)
    assert check in message, message
    assert source_file in message, message
    assert fingerprint(warehouse, table) == before
    assert table_exists(warehouse, staged_name(table))
    name = table.split(".")[1]
    assert evaluations(result)[(name, check)] is False
    assert not result.asset_materializations_for_node(table.replace(".", "__"))
    return message


def assert_published(result: dg.ExecuteInProcessResult, warehouse: Path, table: str) -> None:
    assert result.success
    assert not table_exists(warehouse, staged_name(table))


# ---- reference: two SVI vintages of one state; a state file replacing the national one ------
def _svi_frame(populations: list[int], state_fips: str = "01"):
    from tests.support.reference import svi_rows

    frame = svi_rows(populations)
    return frame


def test_reference_svi_file_downloaded_twice_is_not_published(
    landing_dir, warehouse_path, materialize
):
    table = "reference.ref_svi_county"
    folder = landing_dir / "reference/svi"
    folder.mkdir(parents=True)
    good = _svi_frame([1000, 2000, 3000])
    good.to_csv(folder / "SVI_2022_AL_county.csv", index=False)
    assert_published(materialize("key:reference/ref_svi_county"), warehouse_path, table)
    before = fingerprint(warehouse_path, table)
    assert before[0] == 3

    # The browser saved a second download of the same release beside the first one
    # (two vintages of a county resolve to the newest; one vintage twice cannot).
    again = _svi_frame([900, 1900, 2900])
    again.to_csv(folder / "SVI_2022_AL_county (1).csv", index=False)
    result = materialize("key:reference/ref_svi_county", raise_on_error=False)
    message = assert_not_published(
        result, warehouse_path, table, before, "key_unique", "SVI_2022_AL_county (1).csv"
    )
    assert "SVI_2022_AL_county.csv" in message  # each copy's file is named
    assert "3 failing row(s)" in message

    (folder / "SVI_2022_AL_county (1).csv").unlink()
    assert_published(materialize("key:reference/ref_svi_county"), warehouse_path, table)
    assert fingerprint(warehouse_path, table) == before


def test_reference_state_file_replacing_the_national_one_is_a_row_count_drop(
    landing_dir, warehouse_path, materialize, monkeypatch
):
    table = "reference.ref_svi_county"
    folder = landing_dir / "reference/svi"
    folder.mkdir(parents=True)
    _svi_frame([1000 + i for i in range(20)]).to_csv(folder / "SVI_2022_US_county.csv", index=False)
    assert_published(materialize("key:reference/ref_svi_county"), warehouse_path, table)
    before = fingerprint(warehouse_path, table)

    (folder / "SVI_2022_US_county.csv").unlink()
    _svi_frame([1000, 2000]).to_csv(folder / "SVI_2022_AL_county.csv", index=False)
    result = materialize("key:reference/ref_svi_county", raise_on_error=False)
    message = assert_not_published(
        result, warehouse_path, table, before, "row_count_drop", "SVI_2022_AL_county.csv"
    )
    assert "20 -> 2 rows" in message

    # The operator means it: accepted for one run by its tag, never by default.
    accepted = materialize(
        "key:reference/ref_svi_county",
        tags={"narr/accept_row_count_drop": table},
    )
    assert_published(accepted, warehouse_path, table)
    assert fingerprint(warehouse_path, table)[0] == 2


# ---- directory: a NARR master file cut short by an interrupted export ---------------------
def test_directory_truncated_narr_master_file_is_not_published(
    landing_dir, warehouse_path, materialize, sample_sources
):
    import json

    table = "directory.stg_narr_residences"
    sample_sources("directory", scale=0.03)
    narr = landing_dir / "directory" / "master_directory.json"
    good = narr.read_bytes()
    selection = "key:directory/stg_narr_residences"
    assert_published(materialize(selection), warehouse_path, table)
    before = fingerprint(warehouse_path, table)
    assert before[0] >= 10

    # The affiliate export stopped after five residences (an empty, 0-byte file is refused
    # earlier, by the file's contract, before anything is staged).
    document = json.loads(good)
    document["all_organizations"] = document["all_organizations"][:5]
    narr.write_text(json.dumps(document))
    result = materialize(selection, raise_on_error=False)
    message = assert_not_published(
        result, warehouse_path, table, before, "row_count_drop", "master_directory.json"
    )
    assert f"{before[0]} -> 5 rows" in message

    narr.write_bytes(good)
    assert_published(materialize(selection), warehouse_path, table)
    assert fingerprint(warehouse_path, table) == before


# ---- FHIR: a truncated patient extract replaces the full one ---------------------------------
PATIENT_HEADER = (
    "patient_id,first_name,last_name,birth_date,gender,address,city,state,postal_code,"
    "phone,email,race,ethnicity"
)


def _patients_csv(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [PATIENT_HEADER] + [
        f"P{i},Ann{i},Lee{i},1950-01-{1 + i % 28:02d},{'female' if i % 2 else 'male'},"
        f"{i} Main St,Boston,MA,02108,555-010{i % 10},a{i}@example.org,,"
        for i in range(1, count + 1)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_fhir_truncated_extract_is_not_published(landing_dir, warehouse_path, materialize):
    table = "fhir.fhir_patients"
    extract = landing_dir / "patients" / "daily_extract.csv"
    selection = "key:fhir/patient_data or key:fhir/fhir_patients"
    _patients_csv(extract, 40)
    assert_published(materialize(selection), warehouse_path, table)
    before = fingerprint(warehouse_path, table)
    assert before[0] == 40

    _patients_csv(extract, 5)  # the transfer stopped after five records
    result = materialize(selection, raise_on_error=False)
    message = assert_not_published(
        result, warehouse_path, table, before, "row_count_drop", "daily_extract.csv"
    )
    assert "40 -> 5 rows" in message

    _patients_csv(extract, 40)
    assert_published(materialize(selection), warehouse_path, table)
    assert fingerprint(warehouse_path, table) == before


# ---- HealthSim: an interrupted copy of the export's encounters file --------------------------
def test_healthsim_interrupted_copy_is_not_published(
    landing_dir, warehouse_path, materialize, sample_sources
):
    from tests.support.healthsim import install_geography

    table = "healthsim.encounters"
    sample_sources("healthsim", healthsim_patients=4)
    install_geography(warehouse_path)
    selection = "key:healthsim/patients or key:healthsim/encounters"
    assert_published(materialize(selection), warehouse_path, table)
    before = fingerprint(warehouse_path, table)
    assert before[0] >= 10

    encounters = landing_dir / "healthsim" / "encounters.csv"
    good = encounters.read_bytes()
    lines = good.splitlines(keepends=True)
    encounters.write_bytes(b"".join(lines[: 1 + len(lines) // 5]))  # the copy stopped early
    result = materialize("key:healthsim/encounters", raise_on_error=False)
    message = assert_not_published(
        result, warehouse_path, table, before, "row_count_drop", "healthsim/encounters.csv"
    )
    assert f"{before[0]} -> " in message

    encounters.write_bytes(good)
    assert_published(materialize("key:healthsim/encounters"), warehouse_path, table)
    assert fingerprint(warehouse_path, table) == before


# ---- star schema: next month's encounters reach the fact before the date dimension ---------
def test_star_fact_with_dates_missing_from_dim_date_is_not_published(
    landing_dir, warehouse_path, materialize, sample_sources
):
    import csv
    import datetime as dt
    import io

    from tests.support.healthsim import install_geography

    table = "analytics.fact_encounters"
    sample_sources("healthsim", healthsim_patients=4)
    install_geography(warehouse_path)
    # What the fact and its dimensions are built from, not the other facts.
    build = "+key:analytics/fact_encounters and (group:healthsim or group:analytics)"
    assert_published(materialize(build), warehouse_path, table)
    before = fingerprint(warehouse_path, table)

    # A later encounter lands; the fact is rebuilt with it, dim_date is not (yet).
    encounters = landing_dir / "healthsim" / "encounters.csv"
    good = encounters.read_text()
    rows = list(csv.reader(io.StringIO(good)))
    latest = max(dt.datetime.fromisoformat(r[1].replace("Z", "")) for r in rows[1:])
    later = rows[-1][:]
    start = latest + dt.timedelta(days=2)
    later[0] = "00000000-0000-4000-8000-000000000001"
    later[1] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    later[2] = (start + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(later)
    encounters.write_text(good + out.getvalue())
    result = materialize(
        "key:healthsim/encounters or key:analytics/fact_encounters", raise_on_error=False
    )
    message = assert_not_published(
        result, warehouse_path, table, before, "foreign_keys_resolve", "healthsim/encounters.csv"
    )
    assert f"start_date_key={start:%Y%m%d} not in dim_date" in message

    # The next run builds dim_date first: the fact publishes, the staged table is gone.
    assert_published(
        materialize("key:analytics/dim_date or key:analytics/fact_encounters"),
        warehouse_path,
        table,
    )
    assert fingerprint(warehouse_path, table)[0] == before[0] + 1


# ---- what reads the warehouse sees published tables only ----------------------------------
def test_staged_table_is_listed_by_summary_and_never_backed_up_exported_or_viewed(
    landing_dir, warehouse_path, materialize, platform_env, monkeypatch, dagster_home
):
    import json

    from narr_platform.summary import build_summary, render_summary
    from resources import local_warehouse
    from schedules.backup import create_backup
    from tests.support.ops import run_job, use_private_ops_dirs

    backups, exports = use_private_ops_dirs(platform_env, monkeypatch)
    table = "reference.ref_svi_county"
    folder = landing_dir / "reference/svi"
    folder.mkdir(parents=True)
    _svi_frame([1000, 2000, 3000]).to_csv(folder / "SVI_2022_AL_county.csv", index=False)
    assert materialize("key:reference/ref_svi_county").success
    warehouse = local_warehouse()
    with warehouse.session() as session:  # a view on the published table, as v_* views are
        session.create_view_as("reference.v_svi_al", f"SELECT * FROM {table}")
    _svi_frame([900, 1900, 2900]).to_csv(folder / "SVI_2022_AL_county (1).csv", index=False)
    assert not materialize("key:reference/ref_svi_county", raise_on_error=False).success
    staged = staged_name(table)

    report = build_summary()
    assert [t["table"] for t in report["staged"]] == [staged]
    assert report["staged"][0]["rows"] == 6
    assert staged not in [t["table"] for t in report["tables"]]
    assert staged in render_summary(report)
    with warehouse.session() as session:
        assert session.row_count("reference.v_svi_al") == 3  # the view reads published rows
        assert staged not in [name for name, _ in session.list_tables()]

    backup = create_backup(warehouse.connect, warehouse_path, backups, "daily")
    manifest = json.loads(backup.manifest_path.read_text())
    assert table in manifest["tables"] and staged not in manifest["tables"]
    assert manifest["staged_tables"] == [staged]

    assert run_job("monthly_export").success
    [export] = [p for p in (exports / "monthly").iterdir() if not p.name.startswith(".")]
    assert (export / "reference" / "ref_svi_county.parquet").exists()
    assert not list(export.rglob("_staged_*"))

    # The next good run publishes: the view follows the swap, the staged table is gone.
    (folder / "SVI_2022_AL_county (1).csv").unlink()
    _svi_frame([1, 2, 3, 4]).to_csv(folder / "SVI_2022_AL_county.csv", index=False)
    assert materialize("key:reference/ref_svi_county").success
    with warehouse.session() as session:
        assert session.row_count("reference.v_svi_al") == 4
        assert session.list_staged_tables() == []


# ---- the key rule: one scan decides a clean table, the exact count names the rest ------
def test_key_audit_counts_duplicates_and_null_keys_exactly(warehouse_path):
    from resources import local_warehouse
    from resources.publish import AuditContext, key_audit

    cases = {
        # rows of (a, b, file) -> (duplicate_keys, rows_with_null_key, passed)
        "clean": ([(1, "x"), (1, "y"), (2, "x")], (0, 0, True)),
        "one duplicate key, three copies": (
            [(1, "x"), (1, "x"), (1, "x"), (2, "x")],
            (1, 0, False),
        ),
        "two duplicate keys": ([(1, "x"), (1, "x"), (2, "y"), (2, "y"), (3, "z")], (2, 0, False)),
        "a NULL key, no duplicate": ([(1, "x"), (None, "x"), (2, None)], (0, 2, False)),
        "the same NULL key twice": ([(None, "x"), (None, "x"), (1, "x")], (1, 2, False)),
    }
    with local_warehouse().session() as session:
        session.ensure_schema("t")
        for name, (rows, (duplicates, nulls, passed)) in cases.items():
            session.execute(
                "CREATE OR REPLACE TABLE t.k (a INTEGER, b VARCHAR, source_file VARCHAR)"
            )
            for i, (a, b) in enumerate(rows):
                session.execute("INSERT INTO t.k VALUES (?, ?, ?)", [a, b, f"file{i % 2}.csv"])
            context = AuditContext(session=session, table="t.k", published="t.k")
            result = key_audit(["a", "b"]).rule(context)
            assert result.metadata["duplicate_keys"].value == duplicates, name
            assert result.metadata["rows_with_null_key"].value == nulls, name
            assert result.passed is passed, name
            if duplicates:
                assert "file0.csv" in str(result.metadata), name
            single = key_audit(["b"], not_null=False).rule(context)
            expected = len({b for _, b in rows}) != len(rows)
            assert single.passed is not expected, name


def test_every_audit_result_shows_its_seconds_but_a_failure_message_does_not(warehouse_path):
    from resources import local_warehouse
    from resources.publish import AUDIT_SECONDS, AuditContext, describe_failure, key_audit

    with local_warehouse().session() as session:
        session.ensure_schema("t")
        session.execute("CREATE TABLE t.k AS SELECT * FROM (VALUES (1), (1), (2)) AS v(a)")
        result = key_audit(["a"]).evaluate(
            AuditContext(session=session, table="t.k", published="t.k")
        )
    seconds = result.metadata[AUDIT_SECONDS].value
    assert isinstance(seconds, float) and 0 <= seconds < 60
    assert result.passed is False
    message = describe_failure(result)
    assert "check key_unique failed" in message and "duplicate_keys=1" in message, message
    assert AUDIT_SECONDS not in message, message
