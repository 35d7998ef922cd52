"""Search quality of the tantivy index: words in any order, prefixes, one typo, ranking, filters.

The index is built by the production builder (``search_index.build``) from organizations
shaped like the directory's, including near-misses that a substring search confused
(South Pittsburg TN, Pittsburg KS, a "Recovery Rd" street address).
"""

from __future__ import annotations

import pytest

from directory_assets import queries, search_index
from directory_assets.search_index import SearchIndex

TARGET = "Recovery Works Recovery Center of Pittsburgh"


def _org(n: int, name: str, city: str, state: str, **extra):
    row = {
        "org_id": f"org_{n:016x}",
        "org_type": "treatment_center",
        "name": name,
        "dba_names": [],
        "street": f"{100 + n} Main St",
        "city": city,
        "state": state,
        "zip_code": f"{15200 + n:05d}",
        "phone": f"(412) 555-{n:04d}",
        "website": None,
        "latitude": 40.44 + n / 1000,
        "longitude": -79.99 - n / 1000,
        "level_of_care": "outpatient",
        "medication_assisted_treatment": False,
        "opioid_treatment_program": False,
        "accepts_medicaid": False,
        "accepts_medicare": False,
        "accepts_private_insurance": False,
        "accepts_cash_self_payment": True,
        "sliding_fee_scale": False,
    }
    row.update(extra)
    return row


ROWS = [
    _org(1, TARGET, "Pittsburgh", "PA", medication_assisted_treatment=True, accepts_medicaid=True),
    _org(2, "Recovery Works Treatment Center of South Pittsburg", "South Pittsburg", "TN",
         latitude=35.01, longitude=-85.70),
    _org(3, "Anchor Behavioral Health of Pittsburgh", "Pittsburgh", "PA",
         dba_names=["Anchor Recovery"]),
    _org(4, "Summit Wellness Clinic of Pittsburg", "Pittsburg", "KS", latitude=37.41,
         longitude=-94.70),
    _org(5, "Harbor Counseling Services of Erie", "Erie", "PA", street="12 Recovery Rd"),
    _org(6, "Recovery Alliance of Erie", "Erie", "PA", org_type="recovery_organization",
         level_of_care=None, accepts_cash_self_payment=False),
    _org(7, "Hope House Recovery Center of Pittsburgh", "Pittsburgh", "PA",
         level_of_care="residential", accepts_medicaid=True),
    _org(8, "Beacon Addiction Services of Philadelphia", "Philadelphia", "PA",
         latitude=39.95, longitude=-75.16),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    folder = tmp_path_factory.mktemp("search") / "index"
    assert search_index.build(ROWS, folder) == len(ROWS)
    return SearchIndex(folder)


def names(index: SearchIndex, text: str, **filters) -> list[str]:
    return [r["name"] for r in queries.search(index, text, **filters)]


@pytest.mark.parametrize(
    "text",
    [
        "recovery pittsburgh",  # the example: two words, not one substring
        "pittsburgh recovery",  # any order
        "Recovery Works Recovery Center of Pittsburgh",  # the whole name
        "recovery pitts",  # a prefix
        "recvery pittsburgh",  # one typo (a missing letter)
        "recovery pittsbrugh",  # one typo (a transposition)
        "RECOVERY  works,  PITTSBURGH",  # case and punctuation
    ],
)
def test_examples_find_the_pittsburgh_center_first(index, text):
    assert names(index, text)[0] == TARGET


def test_a_misspelled_city_still_finds_the_organization(index):
    # "pittsburg" is also a real city (Kansas, South Pittsburg TN): exact hits on it may
    # rank first, but the Pittsburgh center is found among the top three.
    found = names(index, "recvery pittsburg")
    assert TARGET in found[:3]
    assert "Summit Wellness Clinic of Pittsburg" not in found  # no "recovery" word at all


def test_every_word_must_match_and_ranking_prefers_name_over_address(index):
    # "Harbor Counseling Services of Erie" only has Recovery in its street address.
    ranked = names(index, "recovery erie")
    assert ranked == ["Recovery Alliance of Erie", "Harbor Counseling Services of Erie"]
    # DBA names are searched (and weigh more than the city).
    assert names(index, "anchor recovery")[0] == "Anchor Behavioral Health of Pittsburgh"
    assert names(index, "pittsburgh philadelphia") == []


def test_scores_are_descending_and_exact_beats_fuzzy(index):
    rows = queries.search(index, "recovery pittsburgh", limit=10)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    exact = {r["name"]: r["score"] for r in rows}
    fuzzy = {r["name"]: r["score"] for r in queries.search(index, "recvery pittsburgh")}
    assert exact[TARGET] > fuzzy[TARGET]


def test_filters_state_type_service_payment(index):
    assert set(names(index, "recovery", state="tn")) == {
        "Recovery Works Treatment Center of South Pittsburg"
    }
    assert names(index, "recovery", state="Pennsylvania", org_type="recovery_organization") == [
        "Recovery Alliance of Erie"
    ]
    assert names(index, "pittsburgh", service="mat") == [TARGET]
    assert names(index, "pittsburgh", service="residential") == [
        "Hope House Recovery Center of Pittsburgh"
    ]
    assert set(names(index, "pittsburgh", payment="medicaid")) == {
        TARGET,
        "Hope House Recovery Center of Pittsburgh",
    }
    rows = queries.search(index, "recovery", near=(40.44, -79.99, 5.0))
    assert rows and all(r["distance_miles"] <= 5.0 for r in rows)
    assert all(r["state"] == "PA" for r in rows)


def test_result_rows_carry_what_the_page_shows(index):
    row = queries.search(index, "recovery works pittsburgh")[0]
    assert row["phone"] == "(412) 555-0001" and row["city"] == "Pittsburgh"
    assert row["services"] == ["mat", "outpatient"]
    assert row["payments"] == ["medicaid", "self_pay"]


@pytest.mark.parametrize(
    ("attack", "plain"),
    [
        ("'; DROP TABLE directory.organizations; --", "drop table directory organizations"),
        ('name:"recovery" pittsburgh*', "name recovery pittsburgh"),
        ('"recovery" pittsburgh*', "recovery pittsburgh"),
        ("recovery^10 pitts~2", "recovery 10 pitts 2"),
        ("(recovery) OR x' OR '1'='1", "recovery or x or 1 1"),
    ],
)
def test_query_syntax_and_injection_are_just_words(index, attack, plain):
    # The user's text is never parsed as query syntax: only its words count.
    assert names(index, attack) == names(index, plain)
    if plain == "recovery pittsburgh":
        assert names(index, attack)[0] == TARGET


def test_bad_input_is_a_query_error(index):
    with pytest.raises(queries.QueryError, match="empty"):
        queries.search(index, "  ;; ")
    with pytest.raises(queries.QueryError, match="service"):
        queries.search(index, "recovery", service="surgery")
    with pytest.raises(queries.QueryError, match="state") as error:
        queries.search(index, "recovery", state="Atlantis")
    assert error.value.parameter == "state"  # the API's 422 names it
    with pytest.raises(queries.QueryError) as error:
        queries.search(index, "recovery", near=(40.0, -80.0, 900.0))
    assert error.value.parameter == "miles"


def test_a_warehouse_without_a_folder_never_reads_another_warehouses_snapshot():
    """A MotherDuck warehouse used to default to data/directory_snapshot, the default local
    warehouse's snapshot: `search` with DUCKDB_DATABASE_PATH=md:x answered from it."""
    from directory_assets.snapshot import snapshot_root

    local = snapshot_root({})
    assert local == snapshot_root({"DUCKDB_DATABASE_PATH": "data/warehouse.duckdb"})
    others = [
        snapshot_root({"DUCKDB_DATABASE_PATH": "md:x"}),
        snapshot_root({"DUCKDB_DATABASE_PATH": "md:y?motherduck_token=secret"}),
        snapshot_root({"DUCKDB_DATABASE_PATH": ":memory:"}),
    ]
    assert len({local, *others}) == 4
    assert "secret" not in str(others[1])
