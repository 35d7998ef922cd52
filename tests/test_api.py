"""The directory API for real: `narr-platform serve` (uvicorn) on a free port, over HTTP.

A small directory is built by the real assets (which publish the snapshot), then the
server runs as a subprocess with the snapshot folder and a token in its environment.
Results are checked against the snapshot's DuckDB copy and an independent distance.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

import directory_assets.definitions as directory
from directory_assets import snapshot
from resources import DuckDBWarehouse, LandingZone
from tests.support import generate_sample

SCALE = 0.03
TOKEN = "test-token-with-enough-entropy-0123456789"
CHROMIUM = Path("/usr/bin/chromium")
CLI = Path(sys.executable).parent / "narr-platform"


def haversine_miles(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 3958.7613 * math.asin(min(1.0, math.sqrt(a)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("api")
    generate_sample(root / "landing", "directory", scale=SCALE)
    database = root / "warehouse.duckdb"
    resources = {
        "warehouse": DuckDBWarehouse(database_path=str(database)),
        "landing": LandingZone(root=str(root / "landing")),
    }
    defs = dg.Definitions.merge(directory.defs, dg.Definitions(resources=resources))
    job = defs.resolve_implicit_global_asset_job_def()
    keys = dg.AssetSelection.groups("directory").resolve(defs.resolve_asset_graph())
    result = job.execute_in_process(
        asset_selection=list(keys), instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {"root": root, "database": database, "snapshots": root / "directory_snapshot"}


@contextlib.contextmanager
def server(snapshots: Path, token: str | None) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DIRECTORY_SNAPSHOT_DIR": str(snapshots),
           "NARR_API_POLL_SECONDS": "0.2", "NARR_API_QUERY_TIMEOUT_SECONDS": "1"}  # fmt: skip
    env.pop("NARR_API_TOKEN", None)
    if token is not None:
        env["NARR_API_TOKEN"] = token
    proc = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the server exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api(built) -> Iterator[httpx.Client]:
    with server(built["snapshots"], TOKEN) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def api_without_token(built) -> Iterator[httpx.Client]:
    with server(built["snapshots"], None) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


@pytest.fixture
def db(built) -> Iterator[duckdb.DuckDBPyConnection]:
    con = snapshot.open_database(snapshot.current(built["snapshots"]))
    yield con
    con.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_health_names_the_published_snapshot(api, built):
    body = api.get("/api/v1/health").json()
    manifest = snapshot.current(built["snapshots"])
    assert body["status"] == "ok"
    assert body["snapshot"]["version"] == manifest.version
    assert body["snapshot"]["published_at"] == manifest.published_at
    assert body["snapshot"]["organizations"] == manifest.tables["organizations"] > 0


def test_nearby_matches_an_independent_distance(api, db):
    org_id, lat, lon = db.execute(
        "SELECT org_id, latitude, longitude FROM directory.organizations "
        "WHERE latitude IS NOT NULL ORDER BY org_id LIMIT 1"
    ).fetchone()
    body = api.get(
        "/api/v1/organizations/nearby", params={"lat": lat, "lon": lon, "miles": 30, "limit": 1000}
    ).json()
    rows = body["organizations"]
    expected = sorted(
        (haversine_miles(lat, lon, a, b), i)
        for i, a, b in db.execute(
            "SELECT org_id, latitude, longitude FROM directory.organizations "
            "WHERE latitude IS NOT NULL"
        ).fetchall()
        if haversine_miles(lat, lon, a, b) <= 30
    )
    assert [r["org_id"] for r in rows] == [i for _, i in expected]
    assert rows[0]["org_id"] == org_id and rows[0]["distance_miles"] == 0
    for row, (distance, _) in zip(rows, expected, strict=True):
        assert row["distance_miles"] == pytest.approx(distance, abs=1e-3)
        assert isinstance(row["services"], list) and isinstance(row["payments"], list)
    typed = api.get(
        "/api/v1/organizations/nearby",
        params={"lat": lat, "lon": lon, "miles": 30, "type": "treatment_center", "limit": 3},
    ).json()["organizations"]
    assert len(typed) <= 3 and all(r["org_type"] == "treatment_center" for r in typed)


def test_nearby_by_zip_uses_the_zip_coordinates(api):
    import zipcodes

    place = zipcodes.matching("15213")[0]
    body = api.get("/api/v1/organizations/nearby", params={"zip": "15213", "miles": 50}).json()
    assert body["center"] == {"lat": float(place["lat"]), "lon": float(place["long"])}
    assert all(r["distance_miles"] <= 50 for r in body["organizations"])


def test_search_ranks_the_named_organization_first_and_filters(api, db):
    name, state, org_id = db.execute(
        "SELECT name, state, org_id FROM directory.organizations "
        "WHERE org_type = 'treatment_center' AND len(name) > 20 ORDER BY org_id LIMIT 1"
    ).fetchone()
    words = name.split()
    typo = " ".join(reversed([w[:-1] if len(w) > 5 else w for w in words]))
    body = api.get("/api/v1/organizations/search", params={"q": typo, "limit": 10}).json()
    assert org_id in [r["org_id"] for r in body["organizations"]]
    exact = api.get("/api/v1/organizations/search", params={"q": name}).json()["organizations"]
    assert exact[0]["name"] == name
    scores = [r["score"] for r in exact]
    assert scores == sorted(scores, reverse=True)
    filtered = api.get(
        "/api/v1/organizations/search",
        params={"q": words[0], "state": state, "service": "outpatient", "payment": "self_pay",
                "limit": 100},
    ).json()["organizations"]  # fmt: skip
    assert filtered
    flags = dict(
        db.execute(
            "SELECT org_id, state = ? AND level_of_care = 'outpatient' AND accepts_cash_self_payment "
            "FROM directory.organizations",
            [state],
        ).fetchall()
    )
    assert all(flags[r["org_id"]] for r in filtered)


def test_organization_with_its_network_neighbours(api, db):
    org_id = db.execute(
        "SELECT org_id FROM directory.network_relationships GROUP BY 1 "
        "ORDER BY count(*) DESC, org_id LIMIT 1"
    ).fetchone()[0]
    body = api.get(f"/api/v1/organizations/{org_id}", params={"neighbours": 5}).json()
    name = db.execute(
        "SELECT name FROM directory.organizations WHERE org_id = ?", [org_id]
    ).fetchone()[0]
    assert body["org_id"] == org_id and body["name"] == name
    expected = db.execute(
        "SELECT related_org_id FROM directory.network_relationships WHERE org_id = ? "
        "ORDER BY neighbour_rank LIMIT 5",
        [org_id],
    ).fetchall()
    assert [n["org_id"] for n in body["neighbours"]] == [e[0] for e in expected]
    assert api.get("/api/v1/organizations/org_0000000000000000").status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("nearby", {"lat": "abc", "lon": 0}, "lat"),
        ("nearby", {"lat": 100, "lon": 0}, "lat"),
        ("nearby", {"lat": 40, "lon": -200}, "lon"),
        ("nearby", {"lat": 40, "lon": -80, "miles": 0}, "miles"),
        ("nearby", {"lat": 40, "lon": -80, "miles": 501}, "miles"),
        ("nearby", {"lat": 40, "lon": -80, "limit": 0}, "limit"),
        ("nearby", {"lat": 40, "lon": -80, "type": "hospital"}, "type"),
        ("nearby", {"lat": 40}, "lon"),
        ("nearby", {"zip": "abcde"}, "zip"),
        ("nearby", {"zip": "00000"}, "zip"),
        ("search", {}, "q"),
        ("search", {"q": ""}, "q"),
        ("search", {"q": "recovery", "state": "Atlantis"}, "state"),
        ("search", {"q": "recovery", "service": "surgery"}, "service"),
        ("search", {"q": "recovery", "payment": "bitcoin"}, "payment"),
        ("search", {"q": "recovery", "limit": 1000}, "limit"),
        ("search", {"q": ";;;"}, "q"),
    ],
)
def test_bad_parameters_answer_422_naming_the_parameter(api, path, params, parameter):
    response = api.get(f"/api/v1/organizations/{path}", params=params)
    assert response.status_code == 422, response.text
    assert parameter in [d["loc"][-1] for d in response.json()["detail"]]


def test_malformed_org_id_is_422(api):
    response = api.get("/api/v1/organizations/../../etc/passwd")
    assert response.status_code in (404, 422)
    response = api.get("/api/v1/organizations/org_'; DROP TABLE x; --")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "org_id"


def test_statistics_needs_the_token(api, db):
    assert api.get("/api/v1/statistics").status_code == 401
    wrong = api.get("/api/v1/statistics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert api.get("/api/v1/statistics", headers={"Authorization": TOKEN}).status_code == 401
    body = api.get("/api/v1/statistics", headers=AUTH).json()
    total = db.execute("SELECT count(*) FROM directory.organizations").fetchone()[0]
    assert sum(r["organizations"] for r in body["organizations_by_state_and_type"]) == total
    assert {r["org_type"] for r in body["data_quality"]} <= {
        "treatment_center", "narr_residence", "recovery_center", "recovery_organization"
    }  # fmt: skip
    mat = db.execute("SELECT count(*) FROM directory.v_mat_providers").fetchone()[0]
    assert sum(r["mat_providers"] for r in body["mat_providers_by_state"]) == mat
    assert body["recovery_ecosystem_by_state"] and body["services_by_state"]


def test_without_a_configured_token_auth_endpoints_answer_503(api_without_token):
    for method, path in (("GET", "/api/v1/statistics"), ("POST", "/api/v1/query")):
        response = api_without_token.request(method, path, headers=AUTH, json={"sql": "SELECT 1"})
        assert response.status_code == 503
        assert "NARR_API_TOKEN" in response.json()["detail"]
    # The open endpoints still answer.
    assert api_without_token.get("/api/v1/health").status_code == 200


def test_query_runs_one_select_with_a_row_limit(api, db):
    response = api.post(
        "/api/v1/query",
        headers=AUTH,
        json={"sql": "SELECT state, count(*) AS n FROM directory.organizations "
                     "GROUP BY state ORDER BY n DESC, state", "max_rows": 3},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    expected = db.execute(
        "SELECT state, count(*) AS n FROM directory.organizations GROUP BY state "
        "ORDER BY n DESC, state LIMIT 3"
    ).fetchall()
    assert body["columns"] == ["state", "n"]
    assert [tuple(r) for r in body["rows"]] == expected
    assert body["truncated"] is True and body["row_count"] == 3
    cte = api.post(
        "/api/v1/query",
        headers=AUTH,
        json={"sql": "WITH t AS (SELECT * FROM directory.v_data_quality) SELECT count(*) FROM t"},
    )
    assert cte.status_code == 200 and cte.json()["truncated"] is False
    assert api.post("/api/v1/query", json={"sql": "SELECT 1"}).status_code == 401


REFUSED = [
    ("CREATE TABLE directory.x AS SELECT 1", "DDL"),
    ("DROP TABLE directory.organizations", "DDL"),
    ("ALTER TABLE directory.organizations ADD COLUMN x INT", "DDL"),
    ("INSERT INTO directory.organizations (org_id) VALUES ('x')", "INSERT"),
    ("UPDATE directory.organizations SET name = 'x'", "UPDATE"),
    ("DELETE FROM directory.organizations", "DELETE"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("DETACH directory", "DETACH"),
    ("COPY directory.organizations TO '/tmp/out.csv'", "COPY"),
    ("PRAGMA database_list", "PRAGMA"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("SET enable_external_access = true", "SET"),
    ("CALL pragma_version()", "CALL"),
    ("EXPORT DATABASE '/tmp/x'", "parse"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_parquet('https://example.org/x.parquet')", "read_parquet"),
    ("SELECT * FROM '/etc/passwd'", "not published"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("SELECT * FROM glob('/*')", "glob"),
    ("SELECT * FROM query('SELECT 1')", "query"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT current_setting('threads')", "current_setting"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
    ("SELECT * FROM information_schema.tables", "not published"),
    ("SELECT * FROM main.organizations", "not published"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("SELECT 1; DROP TABLE directory.organizations", "one statement"),
    ("SELECT * FROM directory.organizations; --", None),  # one statement: allowed
    ("", "empty"),
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
def test_query_refuses_everything_but_one_select(api, db, sql, reason):
    response = api.post("/api/v1/query", headers=AUTH, json={"sql": sql or " "})
    if reason is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code in (400, 422), response.text
    detail = response.json()["detail"]
    if response.status_code == 400:
        assert reason.lower() in detail.lower()
    assert db.execute("SELECT count(*) FROM directory.organizations").fetchone()[0] > 0


def test_query_timeout_is_enforced(api):
    started = time.monotonic()
    response = api.post(
        "/api/v1/query",
        headers=AUTH,
        json={"sql": "SELECT count(*) FROM range(100000000000) AS a(i) WHERE i % 7 = 3"},
    )
    assert response.status_code == 408, response.text
    assert time.monotonic() - started < 15


def test_injection_strings_in_every_parameter(api, db):
    attacks = ["'; DROP TABLE directory.organizations; --", "x' OR '1'='1", "1 UNION SELECT 1",
               "<script>alert(1)</script>", "../../etc/passwd", "%00"]  # fmt: skip
    for attack in attacks:
        for params in ({"q": attack}, {"q": "recovery", "state": attack}):
            response = api.get("/api/v1/organizations/search", params=params)
            assert response.status_code in (200, 422), response.text
        response = api.get("/api/v1/organizations/nearby", params={"lat": attack, "lon": 0})
        assert response.status_code == 422
    assert db.execute("SELECT count(*) FROM directory.organizations").fetchone()[0] > 0


def test_docs_and_page_are_served_without_outside_resources(api):
    docs = api.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert api.get("/openapi.json").json()["paths"]["/api/v1/organizations/nearby"]
    page = api.get("/").text
    assert "http://" not in page and "https://" not in page
    for asset in ("/static/app.js", "/static/app.css"):
        body = api.get(asset)
        assert body.status_code == 200 and "https://" not in body.text


def test_snapshot_swaps_while_serving_and_the_warehouse_is_locked(api, built):
    """A publish swaps the snapshot with no failed request; a writer on the warehouse
    file does not disturb the API (it never opens that file)."""
    before = api.get("/api/v1/health").json()["snapshot"]["version"]
    errors: list[str] = []
    served = 0
    stop = threading.Event()

    def hammer() -> None:
        nonlocal served
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            while not stop.is_set():
                for path, params in (
                    ("/api/v1/organizations/nearby", {"lat": 40.7, "lon": -74.0, "miles": 50}),
                    ("/api/v1/organizations/search", {"q": "recovery"}),
                ):
                    response = client.get(path, params=params)
                    served += 1
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code} {response.text[:200]}")

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(hammer) for _ in range(2)]
        # The pipeline's writer holds the warehouse file while the API answers...
        writer = duckdb.connect(str(built["database"]))
        try:
            writer.execute("BEGIN")
            writer.execute("CREATE OR REPLACE TABLE directory.api_probe AS SELECT 1 AS x")
            time.sleep(1.0)
            writer.execute("COMMIT")
            # ... and publishes a new snapshot through the same session.
            from resources.warehouse import DuckDBSession

            manifest = snapshot.publish(DuckDBSession(writer), root=built["snapshots"])
        finally:
            writer.close()
        deadline = time.monotonic() + 60
        while api.get("/api/v1/health").json()["snapshot"]["version"] != manifest.version:
            assert time.monotonic() < deadline, "the API did not swap to the new snapshot"
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        for future in futures:
            future.result()
    assert manifest.version != before
    assert errors == [] and served > 10


@contextlib.contextmanager
def chromium_page() -> Iterator:
    """A page in Debian's headless chromium, closed with its browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.ui
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_search_page_in_chromium(api, db):
    name, state = db.execute(
        "SELECT name, state FROM directory.organizations WHERE org_type = 'treatment_center' "
        "AND latitude IS NOT NULL AND len(name) > 20 ORDER BY org_id LIMIT 1"
    ).fetchone()
    outside: list[str] = []
    base = str(api.base_url).rstrip("/")
    with chromium_page() as page:
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(base) else None,
        )
        page.goto(f"{base}/")
        page.wait_for_function("document.getElementById('snapshot').textContent.length > 0")
        # Type a query (words reversed, one letter missing): ranked results appear.
        words = name.split()
        typed = " ".join(reversed([w[:-1] if len(w) > 5 else w for w in words]))
        page.fill("#q", typed)
        page.click("#go")
        page.wait_for_selector("#results li.result")
        first = page.locator("#results li.result .name").all_inner_texts()
        assert name in first[:10]
        assert "most relevant first" in page.inner_text("#status")
        assert page.locator("#plot circle.hit").count() == len(first)
        # Filter by state: every result is in that state.
        page.fill("#q", words[0])
        page.fill("#state", state)
        with page.expect_response(lambda r: "service=outpatient" in r.url) as filtered:
            page.select_option("#service", "outpatient")
        assert filtered.value.ok
        page.wait_for_function("document.getElementById('results').dataset.generation === '2'")
        metas = page.locator("#results li.result").all_inner_texts()
        assert metas and all(f", {state} " in m and "outpatient" in m for m in metas)
        # Open an organization: its details and network neighbours show.
        page.locator("#results li.result .name").first.click()
        page.wait_for_selector("#detail-name")
        assert (
            page.inner_text("#detail-name")
            == page.locator("#results li.result .name").first.inner_text()
        )
        assert "Nearby in the network" in page.inner_text("#detail")
        # Near a ZIP without words: nearest first, with distances.
        page.fill("#q", "")
        page.fill("#state", "")
        page.select_option("#service", "")
        page.fill("#near", "10001")
        page.select_option("#miles", "100")
        page.click("#go")
        page.wait_for_selector("#results li.result .distance")
        distances = [
            float(t.split()[0]) for t in page.locator("#results .distance").all_inner_texts()
        ]
        assert distances == sorted(distances) and distances[-1] <= 100
    assert outside == []


@pytest.mark.ui
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_leaving_a_filter_already_searched_keeps_the_results_under_the_pointer(api, db):
    """Typing a state, choosing a service, then clicking a result opens that result.

    Leaving the state box fires its change event at the click's mousedown; a search that
    redrew the list before the mouseup would take the button away and lose the click.
    """
    name, state = db.execute(
        "SELECT name, state FROM directory.organizations WHERE org_type = 'treatment_center' "
        "AND len(name) > 20 ORDER BY org_id LIMIT 1"
    ).fetchone()
    searches: list[str] = []
    with chromium_page() as page:
        page.on("request", lambda r: searches.append(r.url) if "/search?" in r.url else None)
        page.goto(str(api.base_url))
        page.fill("#q", name.split()[0])
        page.fill("#state", state)
        page.select_option("#service", "outpatient")
        page.wait_for_function("document.getElementById('results').dataset.generation === '1'")
        first = page.locator("#results li.result .name").first
        box = first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.wait_for_function("!document.getElementById('status').textContent.includes('…')")
        page.mouse.up()
        page.wait_for_selector("#detail-name", timeout=5000)
        assert page.inner_text("#detail-name") == first.inner_text()
    assert len(searches) == 1 and f"state={state}" in searches[0]


@pytest.mark.ui
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_an_answer_to_an_older_search_does_not_replace_a_newer_one(api, db):
    older, newer = (
        row[0]
        for row in db.execute(
            "SELECT name FROM directory.organizations WHERE len(name) > 20 ORDER BY org_id LIMIT 2"
        ).fetchall()
    )
    held = []
    with chromium_page() as page:
        page.route("**/search?*", lambda r: held.append(r) if not held else r.continue_())
        page.goto(str(api.base_url))
        page.fill("#q", older)
        page.click("#go")
        page.wait_for_function("document.getElementById('status').textContent.includes('…')")
        page.fill("#q", newer)
        page.click("#go")
        page.wait_for_function("document.getElementById('results').dataset.generation === '1'")
        assert held and held[0].request.url.endswith(str(httpx.QueryParams({"q": older})))
        with page.expect_response(lambda r: r.url == held[0].request.url):
            held[0].continue_()
        page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
        assert page.locator("#results").get_attribute("data-generation") == "1"
        assert newer in page.locator("#results li.result .name").all_inner_texts()
        assert "most relevant first" in page.inner_text("#status")


@pytest.mark.ui
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_an_answer_after_the_query_was_cleared_is_not_shown(api, db):
    (name,) = db.execute(
        "SELECT name FROM directory.organizations WHERE len(name) > 20 ORDER BY org_id LIMIT 1"
    ).fetchone()
    held = []
    with chromium_page() as page:
        page.route("**/search?*", lambda r: held.append(r))
        page.goto(str(api.base_url))
        page.fill("#q", name)
        page.click("#go")
        page.wait_for_function("document.getElementById('status').textContent.includes('…')")
        page.fill("#q", "")
        page.click("#go")
        assert page.inner_text("#status").startswith("Type what you are looking for")
        with page.expect_response(lambda r: r.url == held[0].request.url):
            held[0].continue_()
        page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
        assert page.inner_text("#status").startswith("Type what you are looking for")
        assert page.locator("#results li.result").count() == 0
