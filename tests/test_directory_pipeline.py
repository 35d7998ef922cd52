"""The directory end to end at a small scale: every asset, every check (passing and failing),
geohash, network and the query API against independent computations."""

import math
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pygeohash
import pytest
from click.testing import CliRunner

import directory_assets.definitions as directory
from directory_assets import checks, queries
from directory_assets.network_rounds import MAX_MILES, MAX_NEIGHBORS
from resources import DuckDBWarehouse, LandingZone
from tests.support import generate_sample

# The whole directory built once per module at sample scale, then queried.
pytestmark = pytest.mark.slow

SCALE = 0.03
EXPECTED_TABLES = {
    "organizations", "treatment_centers", "narr_residences", "recovery_centers",
    "recovery_organizations", "network_relationships", "rejected_records",
    "stg_treatment_centers", "stg_narr_residences", "stg_recovery_centers",
    "stg_recovery_organizations",
}  # fmt: skip
EXPECTED_VIEWS = {
    "v_organization_summary", "v_mat_providers", "v_recovery_ecosystem",
    "v_services_by_location", "v_data_quality",
}  # fmt: skip


def haversine_miles(lat1, lon1, lat2, lon2):
    """Independent great-circle distance (mean Earth radius 3958.7613 miles)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 3958.7613 * math.asin(min(1.0, math.sqrt(a)))


def _definitions(database: Path, landing: Path) -> dg.Definitions:
    resources = {
        "warehouse": DuckDBWarehouse(database_path=str(database)),
        "landing": LandingZone(root=str(landing)),
    }
    return dg.Definitions.merge(directory.defs, dg.Definitions(resources=resources))


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, selection: str = "group:directory"):
    job = defs.resolve_implicit_global_asset_job_def()
    keys = dg.AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph())
    return job.execute_in_process(
        asset_selection=list(keys), instance=instance, raise_on_error=False
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("directory")
    generate_sample(root / "landing", "directory", scale=SCALE)
    defs = _definitions(root / "warehouse.duckdb", root / "landing")
    instance = dg.DagsterInstance.ephemeral()
    result = _run(defs, instance)
    return {"root": root, "defs": defs, "instance": instance, "result": result,
            "db": root / "warehouse.duckdb"}  # fmt: skip


@pytest.fixture
def con(built):
    with duckdb.connect(str(built["db"]), read_only=True) as connection:
        yield connection


@pytest.fixture
def session(built):
    with DuckDBWarehouse(database_path=str(built["db"]), read_only=True).session() as s:
        yield s


@pytest.fixture
def tampered(built, tmp_path):
    """A writable copy of the built warehouse, for failing-case checks."""
    path = tmp_path / "tampered.duckdb"
    shutil.copy(built["db"], path)
    with DuckDBWarehouse(database_path=str(path)).session() as s:
        yield s


def test_every_asset_and_check_succeeds(built, con):
    result = built["result"]
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized >= EXPECTED_TABLES | EXPECTED_VIEWS
    evaluations = result.get_asset_check_evaluations()
    # 3 audits on each of the 4 staging assets, 7 on organizations, 1 on each subtype.
    assert len(evaluations) == 4 * 3 + 7 + 4
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'directory'"
    ).fetchall()
    kinds = dict(rows)
    assert all(kinds.get(t) == "BASE TABLE" for t in EXPECTED_TABLES)
    assert all(kinds.get(v) == "VIEW" for v in EXPECTED_VIEWS)
    for view in EXPECTED_VIEWS:
        assert con.execute(f"SELECT count(*) FROM directory.{view}").fetchall()[0][0] > 0


def test_staged_plus_rejected_equals_source_records(built, con):
    import json

    folder = built["root"] / "landing" / "directory"
    for name, stem, key in [
        ("treatment_centers", "treatment_centers_master", "all_facilities"),
        ("narr_residences", "master_directory", "all_organizations"),
        ("recovery_centers", "recovery_community_centers_master", "all_centers"),
        ("recovery_organizations", "recovery_community_organizations_master", "all_organizations"),
    ]:
        source = len(json.loads((folder / f"{stem}.json").read_text())[key])
        staged = con.execute(f"SELECT count(*) FROM directory.stg_{name}").fetchall()[0][0]
        rejected = con.execute(
            "SELECT count(*) FROM directory.rejected_records WHERE source_name = ?", [name]
        ).fetchall()[0][0]
        assert staged + rejected == source, name


def test_organizations_master(built, con):
    orgs = con.execute(
        "SELECT org_id, org_type, state, zip_code, latitude, longitude, geohash, listed_as "
        "FROM directory.organizations"
    ).fetchall()
    assert len({o[0] for o in orgs}) == len(orgs)
    assert {o[1] for o in orgs} == {
        "treatment_center", "narr_residence", "recovery_center", "recovery_organization",
    }  # fmt: skip
    assert all(len(o[2]) == 2 and o[2].isupper() for o in orgs)
    assert all(o[3] is None or (len(o[3]) == 5 and o[3].isdigit()) for o in orgs)
    located = [o for o in orgs if o[4] is not None]
    assert len(located) > 0.9 * sum(1 for o in orgs if o[1] == "treatment_center")
    for _, _, _, _, lat, lon, geohash, _ in located:
        assert geohash == pygeohash.encode(lat, lon, precision=7)
    # Duplicates across sources became one organization listed by both.
    assert any(o[7] == ["narr_residence", "treatment_center"] for o in orgs)
    assert any(o[7] == ["recovery_center", "recovery_organization"] for o in orgs)
    # Each subtype row links to its organization.
    for table in (
        "treatment_centers",
        "narr_residences",
        "recovery_centers",
        "recovery_organizations",
    ):
        orphans = con.execute(
            f"SELECT count(*) FROM directory.{table} t ANTI JOIN directory.organizations o USING (org_id)"
        ).fetchall()[0][0]
        assert orphans == 0
    beds = con.execute(
        "SELECT count(capacity_beds) FROM directory.narr_residences WHERE capacity_raw LIKE '% beds'"
    ).fetchall()[0][0]
    assert (
        beds
        == con.execute(
            "SELECT count(*) FROM directory.narr_residences WHERE capacity_raw LIKE '% beds'"
        ).fetchall()[0][0]
    )


def test_org_id_is_stable_across_runs(built, tmp_path):
    first = sorted(
        r[0] for r in duckdb.connect(str(built["db"]), read_only=True).execute(
            "SELECT org_id FROM directory.organizations").fetchall()
    )  # fmt: skip
    shutil.copytree(built["root"] / "landing", tmp_path / "landing")
    defs = _definitions(tmp_path / "again.duckdb", tmp_path / "landing")
    result = _run(
        defs,
        dg.DagsterInstance.ephemeral(),
        "group:directory and not key:*network* and not key:*search_index*",
    )
    assert result.success
    with duckdb.connect(str(tmp_path / "again.duckdb"), read_only=True) as con:
        again = sorted(
            r[0] for r in con.execute("SELECT org_id FROM directory.organizations").fetchall()
        )
    assert again == first


def test_network_matches_brute_force_nearest_within_25_miles(con):
    points = con.execute(
        "SELECT org_id, latitude, longitude FROM directory.organizations WHERE latitude IS NOT NULL"
    ).fetchall()
    network = {}
    for org_id, related, rank, miles, strength in con.execute(
        "SELECT org_id, related_org_id, neighbour_rank, distance_miles, strength "
        "FROM directory.network_relationships"
    ).fetchall():
        network.setdefault(org_id, []).append((rank, related, miles, strength))
    checked = 0
    for org_id, lat, lon in points[::7]:
        expected = sorted(
            (haversine_miles(lat, lon, la, lo), other)
            for other, la, lo in points
            if other != org_id and haversine_miles(lat, lon, la, lo) <= MAX_MILES
        )[:MAX_NEIGHBORS]
        got = sorted(network.get(org_id, []))
        assert [g[1] for g in got] == [e[1] for e in expected], org_id
        for (_, _, miles, strength), (distance, _) in zip(got, expected, strict=True):
            assert miles == pytest.approx(distance, abs=0.002)
            assert 0 <= strength <= 1
        checked += 1
    assert checked > 50


def test_nearby_matches_independent_distance(built, session, con):
    from directory_assets.index import DirectoryIndex

    index = DirectoryIndex.load(session)
    points = con.execute(
        "SELECT org_id, latitude, longitude FROM directory.organizations WHERE latitude IS NOT NULL"
    ).fetchall()
    cases = [(34.05, -118.25, 30), (40.71, -74.0, 15), (61.2, -149.9, 300), (21.3, -157.85, 100)]
    cases += [(la, lo, 40) for _, la, lo in points[::97]]
    found = 0
    for lat, lon, miles in cases:
        expected = {
            o: haversine_miles(lat, lon, la, lo) for o, la, lo in points
            if haversine_miles(lat, lon, la, lo) <= miles - 1e-6
        }  # fmt: skip
        found += len(expected)
        for target in (session, index):  # the engine query and the in-process index
            rows = queries.nearby(target, lat, lon, miles=miles, limit=1000)
            got = {r["org_id"]: r["distance_miles"] for r in rows}
            assert set(expected) <= set(got) and all(d <= miles for d in got.values())
            for org_id, distance in got.items():
                assert distance == pytest.approx(
                    expected.get(
                        org_id,
                        haversine_miles(
                            lat, lon, *next((la, lo) for o, la, lo in points if o == org_id)
                        ),
                    ),
                    abs=0.001,
                )
            distances = [r["distance_miles"] for r in rows]
            assert distances == sorted(distances)
        limited = queries.nearby(index, lat, lon, miles=miles, limit=3)
        assert [r["distance_miles"] for r in limited] == sorted(expected.values())[:3] or all(
            r["distance_miles"] == pytest.approx(d, abs=0.001)
            for r, d in zip(limited, sorted(expected.values())[:3], strict=False)
        )
    assert found > 100
    # The seed's degrees-times-69 formula is wrong away from the equator: in Anchorage a
    # degree of longitude is ~33 miles, so a point 1 degree east is ~33 miles away, not 69.
    assert haversine_miles(61.2, -149.9, 61.2, -148.9) == pytest.approx(33.3, abs=0.2)
    with pytest.raises(queries.QueryError):
        queries.nearby(session, 95.0, 0.0)


def test_published_snapshot_and_its_search(built, con):
    from directory_assets import snapshot
    from directory_assets.search_index import SearchIndex

    root = built["root"] / "directory_snapshot"  # beside the warehouse file by default
    manifest = snapshot.current(root)
    for table, rows in manifest.tables.items():
        assert rows == con.execute(f"SELECT count(*) FROM directory.{table}").fetchall()[0][0]
    copy = snapshot.open_database(manifest)
    assert (
        copy.execute("SELECT count(*) FROM directory.organizations").fetchall()[0][0]
        == (manifest.tables["organizations"])
    )
    with pytest.raises(duckdb.Error):  # read-only
        copy.execute("CREATE TABLE directory.x AS SELECT 1")
    with pytest.raises(duckdb.Error):  # no file access
        copy.execute(f"SELECT * FROM read_csv('{built['db']}')")
    copy.close()

    index = SearchIndex(manifest.search_folder)
    assert index.documents == manifest.tables["organizations"]
    name, state, org_id = con.execute(
        "SELECT name, state, org_id FROM directory.organizations "
        "WHERE org_type = 'treatment_center' AND len(name) > 20 ORDER BY org_id LIMIT 1"
    ).fetchall()[0]
    assert queries.search(index, name.upper(), limit=5)[0]["name"] == name
    words = name.split()
    longest = max(words, key=len)
    typo = name.replace(longest, longest[0] + longest[2:], 1)  # drop one letter
    shuffled = " ".join(reversed(typo.split()))
    assert org_id in [r["org_id"] for r in queries.search(index, shuffled, limit=10)]
    prefixed = " ".join(w[:4] for w in words)
    assert org_id in [r["org_id"] for r in queries.search(index, prefixed, limit=25, state=state)]
    by_filters = queries.search(
        index, words[0], state=state.lower(), service="mat", payment="medicaid", limit=100
    )
    flags = dict(
        con.execute(
            "SELECT org_id, state = ? AND medication_assisted_treatment AND accepts_medicaid "
            "FROM directory.organizations",
            [state],
        ).fetchall()
    )
    assert all(flags[r["org_id"]] for r in by_filters)
    before = con.execute("SELECT count(*) FROM directory.organizations").fetchall()[0][0]
    for attack in ["'; DROP TABLE directory.organizations; --", "x' OR '1'='1"]:
        assert queries.search(index, attack) == []  # all words must match: nothing does
    for symbols in ["%", "_", "\\", "*"]:
        with pytest.raises(queries.QueryError, match="empty"):
            queries.search(index, symbols)
    assert con.execute("SELECT count(*) FROM directory.organizations").fetchall()[0][0] == before
    with pytest.raises(queries.QueryError):
        queries.search(index, "clinic", service="surgery")


def test_service_availability_network_and_stats(session, con):
    result = queries.service_availability(session, "California", "mat", "medicaid")
    expected = con.execute(
        "SELECT count(*) FROM directory.organizations WHERE state = 'CA' "
        "AND medication_assisted_treatment AND accepts_medicaid"
    ).fetchall()[0][0]
    assert result["total"] == expected > 0
    assert all(r["state"] == "CA" for r in result["organizations"])
    from directory_assets.index import DirectoryIndex

    index = DirectoryIndex.load(session)
    for state, service, payment in [
        ("CA", "mat", "medicaid"),
        ("tx", "otp", None),
        ("NY", "residential", "private"),
    ]:
        assert queries.service_availability(
            index, state, service, payment
        ) == queries.service_availability(session, state, service, payment)
    assert queries.directory_stats(index, "CA") == queries.directory_stats(session, "CA")
    org_id = con.execute(
        "SELECT org_id FROM directory.network_relationships GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0][0]
    neighbours = queries.network(session, org_id)
    assert [n["neighbour_rank"] for n in neighbours] == list(range(1, len(neighbours) + 1))
    assert all(n["distance_miles"] <= MAX_MILES for n in neighbours)
    assert queries.network(index, org_id) == neighbours
    stats = queries.directory_stats(session)
    total = con.execute("SELECT count(*) FROM directory.organizations").fetchall()[0][0]
    assert sum(r["organizations"] for r in stats) == total
    ca = queries.directory_stats(session, state="CA")
    assert {r["state"] for r in ca} == {"CA"}


def test_cli_nearby_and_search(built, monkeypatch):
    import json

    from narr_platform.cli import main

    monkeypatch.setenv("DUCKDB_DATABASE_PATH", str(built["db"]))
    runner = CliRunner()
    out = runner.invoke(
        main, ["nearby", "--lat", "34.05", "--lon", "-118.25", "--miles", "25", "--json"]
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows and all(r["distance_miles"] <= 25 for r in rows)
    assert [r["distance_miles"] for r in rows] == sorted(r["distance_miles"] for r in rows)
    table = runner.invoke(
        main, ["search", "recovery", "--state", "CA", "--service", "mat", "--payment", "medicaid"]
    )
    assert table.exit_code == 0, table.output
    assert "organization(s)" in table.output or "No organizations found." in table.output
    bad = runner.invoke(main, ["search", "x", "--state", "Atlantis"])
    assert bad.exit_code == 2 and "Unknown state" in bad.output


# -- failing cases of every check ----------------------------------------------------------
def test_org_id_unique_fails_on_duplicate(tampered):
    assert checks.evaluate_org_id_unique(tampered).passed
    tampered.execute(
        "INSERT INTO directory.organizations SELECT * FROM directory.organizations LIMIT 1"
    )
    result = checks.evaluate_org_id_unique(tampered)
    assert not result.passed and result.metadata["failing_rows"].value == 1


def test_coordinates_check_fails_outside_us(tampered):
    assert checks.evaluate_coordinates_in_us(tampered).passed
    tampered.execute(
        "UPDATE directory.organizations SET latitude = 51.5, longitude = -0.12 "
        "WHERE org_id = (SELECT min(org_id) FROM directory.organizations WHERE latitude IS NOT NULL)"
    )
    assert not checks.evaluate_coordinates_in_us(tampered).passed


def test_coordinates_bounds_hold_every_real_zip_place():
    from directory_assets.normalize import in_us_bounds_sql
    from resources.geography import zip_places

    with duckdb.connect() as con:
        con.execute("CREATE TABLE p (lat DOUBLE, lon DOUBLE)")
        con.executemany(
            "INSERT INTO p VALUES (?, ?)", [(z.latitude, z.longitude) for z in zip_places()]
        )
        outside = con.execute(
            f"SELECT lat, lon FROM p WHERE NOT {in_us_bounds_sql('lat', 'lon')}"
        ).fetchall()
    # zipcodes ships a few ZIPs at (0, 0) ("null island"): the only places outside the bounds,
    # and organizations there get their coordinates cleared (coordinate_status).
    assert set(outside) <= {(0.0, 0.0)}


def test_state_code_check_fails_on_invalid_state(tampered):
    assert checks.evaluate_state_codes(tampered).passed
    tampered.execute(
        "UPDATE directory.organizations SET state = 'XX' WHERE org_id = (SELECT min(org_id) FROM directory.organizations)"
    )
    assert not checks.evaluate_state_codes(tampered).passed


def test_zip_check_fails_on_four_digits(tampered):
    assert checks.evaluate_zip_codes(tampered).passed
    tampered.execute(
        "UPDATE directory.organizations SET zip_code = '2134' WHERE org_id = (SELECT min(org_id) FROM directory.organizations)"
    )
    assert not checks.evaluate_zip_codes(tampered).passed


def test_duplicate_organization_check_fails(tampered):
    assert checks.evaluate_no_duplicates(tampered).passed
    tampered.execute(
        "INSERT INTO directory.organizations SELECT * REPLACE ('org_copy' AS org_id) "
        "FROM directory.organizations LIMIT 1"
    )
    result = checks.evaluate_no_duplicates(tampered)
    assert not result.passed and result.metadata["failing_rows"].value == 1


@pytest.mark.parametrize(
    "subtype",
    ["treatment_centers", "narr_residences", "recovery_centers", "recovery_organizations"],
)
def test_subtype_link_check_fails_on_orphan(tampered, subtype):
    assert checks.evaluate_subtype_linked(tampered, subtype).passed
    tampered.execute(
        f"DELETE FROM directory.organizations WHERE org_id = (SELECT min(org_id) FROM directory.{subtype})"
    )
    assert not checks.evaluate_subtype_linked(tampered, subtype).passed


def test_records_reconciled_fails_when_a_record_is_lost(tampered):
    from directory_assets.staging_sql import TREATMENT_CENTERS as source

    total = tampered.row_count(source.table) + tampered.row_count(source.rejected_table)
    assert checks.evaluate_records_reconciled(tampered, source, total).passed
    tampered.execute(
        f"DELETE FROM {source.table} WHERE record_position = (SELECT min(record_position) FROM {source.table})"
    )
    result = checks.evaluate_records_reconciled(tampered, source, total)
    assert not result.passed and result.metadata["staged"].value == total - 1 - tampered.row_count(
        source.rejected_table
    )


def test_row_count_drop_fails_after_a_shrunken_load(tmp_path):
    import json

    landing = tmp_path / "landing"
    generate_sample(landing, "directory", scale=SCALE)
    defs = _definitions(tmp_path / "w.duckdb", landing)
    instance = dg.DagsterInstance.ephemeral()
    selection = "key:directory/stg_recovery_centers"
    assert _run(defs, instance, selection).success
    path = landing / "directory" / "recovery_community_centers_master.json"
    centers = json.loads(path.read_text())["all_centers"]
    path.write_text(json.dumps({"all_centers": centers[: len(centers) // 2]}))
    result = _run(defs, instance, selection)
    drop = next(e for e in result.get_asset_check_evaluations() if e.check_name == "row_count_drop")
    assert not drop.passed
    assert drop.metadata["current_rows"].value < 0.9 * drop.metadata["previous_rows"].value


def test_network_rounds_from_an_eighth_of_a_mile_give_the_same_result(built, tmp_path, monkeypatch):
    """Dense directories start at 0.125 miles and resolve organizations round by round; the
    result must equal the single 25-mile round checked against brute force above."""
    from directory_assets import network_rounds

    monkeypatch.setattr(network_rounds, "starting_radius", lambda organizations: 0.125)
    monkeypatch.setattr(network_rounds, "PART_SIZE", 300)  # each round in several parts
    copy = tmp_path / "rounds.duckdb"
    shutil.copy(built["db"], copy)
    defs = _definitions(copy, built["root"] / "landing")
    result = _run(defs, dg.DagsterInstance.ephemeral(), "key:directory/network_relationships")
    assert result.success
    resolved = result.asset_materializations_for_node("directory__network_relationships")[0]
    assert list(resolved.metadata["resolved_by_radius"].value) == [
        "0.125 mi", "0.25 mi", "0.5 mi", "1 mi", "2 mi", "4 mi", "8 mi", "16 mi", "25 mi",
    ]  # fmt: skip
    with duckdb.connect(str(copy), read_only=True) as con:
        con.execute(f"ATTACH '{built['db']}' AS original (READ_ONLY)")
        differences = con.execute(
            "SELECT count(*) FROM directory.network_relationships AS a "
            "FULL JOIN original.directory.network_relationships AS b USING (org_id, related_org_id) "
            "WHERE a.org_id IS NULL OR b.org_id IS NULL OR a.neighbour_rank <> b.neighbour_rank "
            "OR a.distance_miles <> b.distance_miles OR a.strength <> b.strength"
        ).fetchall()[0][0]
        total = con.execute("SELECT count(*) FROM directory.network_relationships").fetchall()[0][0]
    assert differences == 0 and total > 0
