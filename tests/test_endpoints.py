"""The five data endpoints: the upstream request each question becomes, and the answer it gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sportstats.core.params import current_season
from sportstats.core.shape import MAX_BODY_CHARS
from tests.conftest import (
    API_KEY,
    answer_season_averages,
    ask,
    averages_url,
    load_fixture,
    sent,
    upstream_route,
    upstream_url,
)

EMPTY_PAGE = {"data": [], "meta": {"per_page": 25}}


def players_named(*people: tuple[int, str, str]) -> dict[str, Any]:
    """A /players page with the given (id, first name, last name), shaped like the recordings."""
    lebron = load_fixture("player_237.json")["data"]
    return {
        "data": [{**lebron, "id": i, "first_name": f, "last_name": last} for i, f, last in people],
        "meta": {"per_page": 100},
    }


NAMES = players_named((237, "LeBron", "James"), (115, "Stephen", "Curry"))
AVERAGES_237 = load_fixture("season_averages_237_2019.json")


# --- the upstream request built for each question -------------------------------------------

UPSTREAM_QUERIES = [
    # With no limit given, players, games and stats ask for the default page size explicitly
    # (per_page=25): no limit and limit=25 are one question. Teams take no limit.
    ("/players?query=curry", "/players", [("search", "curry"), ("per_page", "25")]),
    # A full name matches nothing in the upstream's `search`: it is asked as first and last name.
    ("/players?query=LeBron%20James", "/players", [
        ("first_name", "LeBron"), ("last_name", "James"), ("per_page", "25")]),
    ("/players?query=Shai+Gilgeous-Alexander", "/players", [
        ("first_name", "Shai"), ("last_name", "Gilgeous-Alexander"), ("per_page", "25")]),
    ("/players?query=Jaren+Jackson+Jr.", "/players", [
        ("first_name", "Jaren"), ("last_name", "Jackson Jr."), ("per_page", "25")]),
    ("/players?query=LeBron+James&last_name=James", "/players", [
        ("search", "LeBron James"), ("last_name", "James"), ("per_page", "25")]),
    ("/players?first_name=Stephen&last_name=Curry", "/players", [
        ("first_name", "Stephen"), ("last_name", "Curry"), ("per_page", "25")]),
    ("/players?limit=10&cursor=489", "/players", [("per_page", "10"), ("cursor", "489")]),
    ("/players?team_ids=14&team_ids=2", "/players", [
        ("team_ids[]", "2"), ("team_ids[]", "14"), ("per_page", "25")]),
    ("/players?player_ids=237,115", "/players", [
        ("player_ids[]", "115"), ("player_ids[]", "237"), ("per_page", "25")]),
    ("/teams", "/teams", []),
    ("/teams?conference=western&division=pacific", "/teams", []),  # filtered from the full list
    ("/games?seasons=2023&seasons=2024", "/games", [
        ("seasons[]", "2023"), ("seasons[]", "2024"), ("per_page", "25")]),
    ("/games?seasons=2023,2024", "/games", [
        ("seasons[]", "2023"), ("seasons[]", "2024"), ("per_page", "25")]),
    ("/games?seasons[]=2023&seasons[]=2024", "/games", [
        ("seasons[]", "2023"), ("seasons[]", "2024"), ("per_page", "25")]),
    ("/games?seasons=2024,2023&seasons[]=2023&seasons=2024", "/games", [
        ("seasons[]", "2023"), ("seasons[]", "2024"), ("per_page", "25")]),
    ("/games?dates=2025-01-05&team_ids=14&postseason=TRUE", "/games", [
        ("team_ids[]", "14"), ("dates[]", "2025-01-05"), ("postseason", "true"),
        ("per_page", "25")]),
    ("/games?start_date=2024-01-01&end_date=2024-01-31&limit=100", "/games", [
        ("start_date", "2024-01-01"), ("end_date", "2024-01-31"), ("per_page", "100")]),
    ("/stats?game_ids=15907925", "/stats", [("game_ids[]", "15907925"), ("per_page", "25")]),
    ("/stats?player_ids=70&seasons=2024&postseason=false&cursor=7", "/stats", [
        ("player_ids[]", "70"), ("seasons[]", "2024"), ("postseason", "false"), ("per_page", "25"),
        ("cursor", "7")]),
    ("/stats?dates=2024-10-22,2024-10-23&start_date=2024-10-01", "/stats", [
        ("dates[]", "2024-10-22"), ("dates[]", "2024-10-23"), ("start_date", "2024-10-01"),
        ("per_page", "25")]),
]  # fmt: skip


@pytest.mark.parametrize(("asked", "path", "pairs"), UPSTREAM_QUERIES)
async def test_each_question_becomes_one_upstream_request_with_the_raw_key(
    client: Any, upstream: Any, asked: str, path: str, pairs: list[tuple[str, str]]
) -> None:
    upstream.get(upstream_route(path), payload=EMPTY_PAGE)
    await ask(client, asked)
    assert sent(upstream) == [upstream_url(path, pairs)]
    [calls] = upstream.requests.values()
    assert calls[0].kwargs["headers"]["Authorization"] == API_KEY


async def test_array_forms_repeated_comma_and_bracketed_are_one_question(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/games"), payload=EMPTY_PAGE)
    first = await ask(client, "/games?seasons=2024&seasons=2023")
    for form in ("seasons=2023,2024", "seasons[]=2023&seasons[]=2024", "seasons=2024,2023,2024"):
        again = await ask(client, f"/games?{form}")
        expected = {"limit": 25, "seasons": [2023, 2024]}
        assert again["meta"]["query"] == first["meta"]["query"] == expected
        assert again["meta"]["cache"] == "hit"
    assert len(sent(upstream)) == 1


async def test_season_averages_ask_once_per_player_and_once_for_their_names(
    client: Any, upstream: Any
) -> None:
    answer_season_averages(
        upstream,
        2019,
        {237: AVERAGES_237, 115: load_fixture("season_averages_115_2022.json")},
        NAMES,
    )

    answer = await ask(client, "/season_averages?season=2019&player_ids=237,115")

    assert sorted(sent(upstream)) == sorted(
        [
            averages_url(2019, 115),
            averages_url(2019, 237),
            upstream_url(
                "/players",
                [("player_ids[]", "115"), ("player_ids[]", "237"), ("per_page", "100")],
            ),
        ]
    )
    assert {(row["player_id"], row["player"]) for row in answer["data"]} == {
        (237, "LeBron James"),
        (115, "Stephen Curry"),
    }
    assert "errors" not in answer["meta"] and "missing_player_ids" not in answer["meta"]


async def test_season_averages_default_to_the_current_season(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/season_averages"), payload={"data": []})
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    answer = await ask(client, "/season_averages?player_ids=237")
    assert averages_url(current_season(), 237) in sent(upstream)
    assert answer["meta"]["query"]["season"] == current_season()


# --- answers ---------------------------------------------------------------------------------


async def test_a_player_without_averages_is_named_in_meta_and_the_answer_is_still_200(
    client: Any, upstream: Any
) -> None:
    answer_season_averages(
        upstream,
        2019,
        {237: AVERAGES_237, 70: load_fixture("season_averages_empty.json")},
        load_fixture("players_page_ASSEMBLED.json"),
    )

    answer = await ask(client, "/season_averages?season=2019&player_ids=237&player_ids=70")

    assert [row["player_id"] for row in answer["data"]] == [237]
    assert answer["meta"]["missing_player_ids"] == [70]
    assert "70" in answer["meta"]["note"] and "2019" in answer["meta"]["note"]


async def test_one_players_upstream_failure_does_not_hide_the_others(
    client: Any, upstream: Any
) -> None:
    upstream.get(averages_url(2019, 115), status=404, payload={"error": "Not Found"})
    answer_season_averages(upstream, 2019, {237: AVERAGES_237}, NAMES)

    answer = await ask(client, "/season_averages?season=2019&player_ids=237,115")

    assert [row["player"] for row in answer["data"]] == ["LeBron James"]
    assert answer["meta"]["errors"] == [
        {
            "player_id": 115,
            "code": "not_found",
            "message": "The upstream has no record for that id.",
        }
    ]


async def test_when_no_player_has_averages_the_answer_is_an_empty_200_saying_so(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/season_averages"), payload={"data": []}, repeat=True)
    upstream.get(upstream_route("/players"), payload=NAMES)
    answer = await ask(client, "/season_averages?season=1990&player_ids=237,115")
    assert answer["data"] == []
    assert answer["meta"]["missing_player_ids"] == [115, 237]
    assert "1990" in answer["meta"]["note"]


async def test_averages_are_still_answered_when_the_names_lookup_fails(
    client: Any, upstream: Any
) -> None:
    upstream.get(averages_url(2019, 237), payload=AVERAGES_237)
    upstream.get(upstream_route("/players"), status=404, payload={"error": "Not Found"})
    answer = await ask(client, "/season_averages?season=2019&player_ids=237")
    [row] = answer["data"]
    assert (row["player_id"], row["player"], row["pts"]) == (237, None, 25.3)
    assert answer["meta"]["names_unavailable"] is True


async def test_when_every_player_fails_the_failure_is_the_answer(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/season_averages"), status=401, body="Unauthorized", repeat=True)
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    body = await ask(client, "/season_averages?season=2019&player_ids=237,115", status=403)
    assert body["error"]["code"] == "plan_not_covered"


async def test_an_empty_result_is_200_with_a_note_saying_what_was_searched(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=load_fixture("players_empty_search.json"))
    answer = await ask(client, "/players?query=zzyzx")
    assert answer["data"] == []
    assert answer["meta"]["count"] == 0
    assert answer["meta"]["next_cursor"] is None
    assert "zzyzx" in answer["meta"]["note"]


async def test_meta_carries_count_next_cursor_source_and_the_query(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    answer = await ask(client, "/players?limit=4")
    meta = answer["meta"]
    assert meta["count"] == len(answer["data"]) == 4
    assert meta["next_cursor"] == 489
    assert "BALLDONTLIE" in meta["source"]
    assert meta["query"] == {"limit": 4}
    assert meta["cache"] == "miss"


async def test_an_unpaged_endpoint_has_no_next_cursor(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    answer = await ask(client, "/teams")
    assert answer["meta"]["next_cursor"] is None


def synthetic_stats_page(rows: int) -> dict[str, Any]:
    """A page of box-score lines whose every row is about 1,500 characters long."""
    base = load_fixture("stats_2024-10-22_jaylen_brown.json")["data"][0]
    page = []
    for n in range(rows):
        stat = json.loads(json.dumps(base))
        stat["id"] = n + 1
        stat["player"]["id"] = n + 1
        stat["player"]["last_name"] = f"Player{n:03d}-" + "x" * 1400
        page.append(stat)
    return {"data": page, "meta": {"next_cursor": None, "per_page": 100}}


async def test_a_large_page_is_trimmed_under_the_size_limit_and_says_so(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/stats"), payload=synthetic_stats_page(100))
    response = await client.get("/stats?seasons=2024&limit=100")
    text = await response.text()
    answer = json.loads(text)

    assert response.status == 200
    assert len(text) <= MAX_BODY_CHARS < 100_000
    meta = answer["meta"]
    assert meta["truncated"] is True
    assert meta["total"] == 100
    assert 0 < meta["shown"] == meta["count"] == len(answer["data"]) < 100
    assert f"{meta['shown']} of 100" in meta["note"]
    assert [row["player_id"] for row in answer["data"]] == list(range(1, meta["shown"] + 1))


async def test_a_page_within_the_limit_is_not_marked_truncated(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/stats"), payload=synthetic_stats_page(20))
    answer = await ask(client, "/stats?seasons=2024")
    assert len(answer["data"]) == 20
    assert "truncated" not in answer["meta"]


# --- teams: every filter answered from one cached full list ---------------------------------


async def test_teams_filters_come_from_one_cached_full_list(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))

    everything = await ask(client, "/teams")
    west = await ask(client, "/teams?conference=Western")
    pacific = await ask(client, "/teams?conference=west&division=PACIFIC")
    east = await ask(client, "/teams?conference=eastern")

    assert sent(upstream) == [upstream_url("/teams")]  # one upstream call for all four
    assert len(everything["data"]) == 30
    assert {row["conference"] for row in west["data"]} == {"West"} and len(west["data"]) == 15
    assert {row["abbreviation"] for row in pacific["data"]} == {"GSW", "LAC", "LAL", "PHX", "SAC"}
    assert len(east["data"]) == 15 and west["meta"]["query"] == {"conference": "West"}
    assert "note" not in west["meta"]  # the defunct-teams note belongs to the full list


async def test_a_filtered_teams_answer_is_stale_when_the_full_list_is(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cache_support import fast, install_clock

    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    upstream.get(upstream_route("/teams"), status=503, body="down", repeat=True)
    client = await make_client(**fast())
    await ask(client, "/teams")
    clock.advance(86400 + 3600)  # past the TTL and the revalidation window, within stale_max_age

    response = await client.get("/teams?conference=East")

    assert (response.status, response.headers["X-Cache"]) == (200, "STALE")
    assert len((await response.json())["data"]) == 15


async def test_meta_says_what_each_answer_cost_the_upstream(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    answer_season_averages(upstream, 2019, {237: AVERAGES_237, 115: AVERAGES_237}, NAMES)

    cold = await ask(client, "/teams")
    warm = await ask(client, "/teams")
    filtered = await ask(client, "/teams?conference=West")
    averages = await ask(client, "/season_averages?season=2019&player_ids=237,115")

    assert (cold["meta"]["upstream_calls"], cold["meta"]["cache"]) == (1, "miss")
    assert (warm["meta"]["upstream_calls"], warm["meta"]["cache"]) == (0, "hit")
    assert filtered["meta"]["upstream_calls"] == 0  # from the cached full list
    assert averages["meta"]["upstream_calls"] == 3  # one per player, one for their names
    assert len(sent(upstream)) == 4


async def test_a_filtered_answer_is_dated_by_the_list_it_came_from(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cache_support import fast, install_clock

    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    client = await make_client(**fast())
    everything = await ask(client, "/teams")
    clock.advance(600)

    response = await client.get("/teams?division=Pacific")
    pacific = await response.json()

    assert pacific["meta"]["fetched_at"] == everything["meta"]["fetched_at"]
    assert int(response.headers["Age"]) >= 600
    assert pacific["meta"]["cache"] == "hit" and pacific["meta"]["upstream_calls"] == 0
    assert response.headers["X-Cache"] == "HIT"
