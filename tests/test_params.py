"""Input validation: every bad parameter is a 400 saying what is wrong, before any upstream call."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from multidict import MultiDict
from yarl import URL

from sportstats.core import dates
from sportstats.core.endpoints import GAMES, PLAYERS, SEASON_AVERAGES, STATS, TEAMS
from sportstats.core.memo import MAX_MEMOISED_QUERY_CHARS, QueryMemo
from sportstats.core.params import (
    LIMIT_DEFAULT,
    Query,
    current_season,
    last_season,
    parse_query,
    upstream_params,
)
from sportstats.errors import ApiError
from tests.conftest import upstream_route

NEXT_YEAR = dt.date.today().year + 1
MANY_IDS = ",".join(str(n) for n in range(1, 27))
ENOUGH_IDS = ",".join(str(n) for n in range(1, 26))


async def refused(client: Any, upstream: Any, asked: str) -> dict[str, str]:
    """The 400 error a question gets; the upstream was not asked anything."""
    response = await client.get(asked)
    body = await response.json()
    assert response.status == 400, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    assert upstream.requests == {}
    return body["error"]


# (question, parameter named, what was given, words of what is allowed)
INVALID = [
    ("/players?player_ids=abc", "player_ids", "'abc'", "positive integer"),
    ("/players?player_ids=0", "player_ids", "'0'", "positive integer"),
    ("/players?player_ids=-3", "player_ids", "'-3'", "positive integer"),
    ("/players?team_ids=1.5", "team_ids", "'1.5'", "positive integer"),
    ("/stats?game_ids=12,x", "game_ids", "'x'", "positive integer"),
    (f"/stats?player_ids={MANY_IDS}", "player_ids", "26 values", "at most 25"),
    ("/games?dates=2024-02-30", "dates", "'2024-02-30'", "YYYY-MM-DD"),
    ("/games?dates=2024-1-5", "dates", "'2024-1-5'", "YYYY-MM-DD"),
    ("/games?start_date=20240101", "start_date", "'20240101'", "YYYY-MM-DD"),
    ("/stats?end_date=someday", "end_date", "'someday'", "today, yesterday, tomorrow"),
    ("/games?dates=someday", "dates", "'someday'", "today, yesterday, tomorrow, last_night"),
    ("/games?seasons=1945", "seasons", "'1945'", f"1946 to {NEXT_YEAR}"),
    (f"/games?seasons={NEXT_YEAR + 1}", "seasons", f"'{NEXT_YEAR + 1}'", f"1946 to {NEXT_YEAR}"),
    ("/season_averages?player_ids=237&season=1900", "season", "'1900'", f"1946 to {NEXT_YEAR}"),
    ("/season_averages?player_ids=237&season=2023-24", "season", "'2023-24'", "1946"),
    ("/players?limit=0", "limit", "'0'", "1 to 100"),
    ("/games?limit=101", "limit", "'101'", "1 to 100"),
    ("/stats?limit=ten", "limit", "'ten'", "1 to 100"),
    ("/players?cursor=-1", "cursor", "'-1'", "next_cursor"),
    ("/games?postseason=yes", "postseason", "'yes'", "true or false"),
    ("/teams?conference=North", "conference", "'North'", "one of East, West"),
    ("/teams?division=Midwest", "division", "'Midwest'", "Atlantic, Central, Southeast"),
    ("/players?query=" + "a" * 65, "query", "'" + "a" * 65, "1 to 64 characters"),
    ("/players?limit=5&limit=6", "limit", "'5,6'", "given once"),
    ("/players?query=", "query", "is empty", "Leave it out"),  # as the spec says: minLength 1
    ("/teams?conference=", "conference", "is empty", "one of East, West"),
    ("/games?start_date=", "start_date", "is empty", "YYYY-MM-DD"),
    ("/games?seasons=,", "seasons", "is empty", "1946"),
    ("/games?start_date=2024-01-01&start_date=2024-02-01", "start_date", "2024-01-01", "once"),
]


@pytest.mark.parametrize(("asked", "name", "given", "allowed"), INVALID)
async def test_a_bad_value_is_a_400_naming_the_parameter_the_value_and_what_is_allowed(
    client: Any, upstream: Any, asked: str, name: str, given: str, allowed: str
) -> None:
    error = await refused(client, upstream, asked)
    assert error["code"] == "invalid_parameter"
    assert f"'{name}'" in error["message"]
    assert given in error["message"]
    assert allowed in error["hint"]


async def test_a_start_date_after_the_end_date_is_a_400(client: Any, upstream: Any) -> None:
    error = await refused(client, upstream, "/games?start_date=2024-03-01&end_date=2024-02-01")
    assert error["code"] == "invalid_date_range"
    assert "2024-03-01" in error["message"] and "2024-02-01" in error["message"]
    assert "start_date" in error["hint"]


@pytest.mark.parametrize(
    ("asked", "unknown", "allowed"),
    [
        ("/players?name=curry", "name", PLAYERS),
        ("/games?season=2024", "season", GAMES),
        ("/stats?limit[]=5", "limit[]", STATS),
        ("/teams?page=2", "page", TEAMS),
    ],
)
async def test_an_unknown_parameter_is_a_400_listing_the_allowed_ones(
    client: Any, upstream: Any, asked: str, unknown: str, allowed: Any
) -> None:
    error = await refused(client, upstream, asked)
    assert error["code"] == "unknown_parameter"
    assert f"'{unknown}'" in error["message"]
    names = [p.name for p in allowed.params]
    assert error["hint"] == f"Allowed parameters: {', '.join(names)}."


async def test_season_averages_without_player_ids_is_a_400(client: Any, upstream: Any) -> None:
    error = await refused(client, upstream, "/season_averages?season=2023")
    assert error["code"] == "missing_parameter"
    assert "'player_ids'" in error["message"]
    assert "positive integer" in error["hint"]


async def test_a_bad_value_after_good_ones_still_stops_before_the_upstream(
    client: Any, upstream: Any
) -> None:
    error = await refused(client, upstream, "/stats?player_ids=237&seasons=2023&dates=2024-13-01")
    assert "'dates'" in error["message"]


@pytest.mark.parametrize(
    "asked",
    [
        "/games?seasons=1946",
        f"/games?seasons={NEXT_YEAR}",
        "/players?limit=1",
        "/players?limit=100",
        f"/stats?player_ids={ENOUGH_IDS}",
        "/games?dates=2024-02-29",
        "/games?start_date=2024-01-05&end_date=2024-01-05",
        "/games?postseason=False",
        "/players?cursor=0",
        "/teams?conference=east",
    ],
)
async def test_values_at_the_edges_of_what_is_allowed_are_accepted(
    client: Any, upstream: Any, asked: str
) -> None:
    upstream.get(upstream_route(asked.split("?")[0]), payload={"data": [], "meta": {}})
    response = await client.get(asked)
    assert response.status == 200, await response.text()
    assert len(upstream.requests) == 1


def test_array_values_are_deduplicated_and_sorted_whatever_the_form() -> None:
    forms = [
        MultiDict([("seasons", "2024"), ("seasons", "2023"), ("seasons", "2024")]),
        MultiDict([("seasons", "2024, 2023,2024")]),
        MultiDict([("seasons[]", "2023"), ("seasons[]", "2024")]),
        MultiDict([("seasons[]", "2024"), ("seasons", "2023,2023")]),
    ]
    queries = [parse_query(GAMES.params, form) for form in forms]
    assert len({q.key for q in queries}) == 1
    assert {q.get("seasons") for q in queries} == {(2023, 2024)}


def test_values_are_normalised_so_equal_questions_have_equal_keys() -> None:
    one = parse_query(GAMES.params, MultiDict([("postseason", "TRUE"), ("team_ids", "14,2")]))
    two = parse_query(
        GAMES.params, MultiDict([("team_ids", "2"), ("team_ids", "14"), ("postseason", "true")])
    )
    assert one == two
    assert one.key == two.key
    assert one.as_json() == {"limit": 25, "postseason": True, "team_ids": [2, 14]}


def test_no_limit_and_the_default_limit_are_one_question_with_one_key() -> None:
    unset = parse_query(PLAYERS.params, MultiDict([("query", "curry")]))
    default = parse_query(PLAYERS.params, MultiDict([("query", "curry"), ("limit", "25")]))
    assert unset == default
    assert unset.key == default.key
    assert unset.get("limit") == LIMIT_DEFAULT == 25
    other = parse_query(PLAYERS.params, MultiDict([("query", "curry"), ("limit", "10")]))
    assert other != unset
    assert other.key != unset.key


def test_a_memoised_question_is_the_one_first_parsed_and_only_valid_ones_are_kept() -> None:
    memo = QueryMemo(GAMES.params, size=2)
    first = memo.parse(URL("/games?seasons=2024,2023"))
    assert memo.parse(URL("/games?seasons=2024,2023")) is first
    assert first.key == '{"limit":25,"seasons":[2023,2024]}'
    with pytest.raises(ApiError):
        memo.parse(URL("/games?seasons=1800"))
    assert len(memo) == 1  # the refused question is not kept
    memo.parse(URL("/games?seasons=2022"))
    memo.parse(URL("/games?seasons=2021"))
    assert len(memo) == 2  # least recently used dropped past `size`
    assert memo.parse(URL("/games?seasons=2024,2023")) is not first


def test_a_long_query_string_is_parsed_each_time_not_kept() -> None:
    memo = QueryMemo(PLAYERS.params)
    long_query = "/players?" + "&".join(f"player_ids={n:012d}" for n in range(1, 26))
    assert len(URL(long_query).raw_query_string) > MAX_MEMOISED_QUERY_CHARS
    assert memo.parse(URL(long_query)).get("player_ids") == tuple(range(1, 26))
    assert len(memo) == 0


def test_the_memo_tells_apart_queries_that_decode_to_the_same_text() -> None:
    memo = QueryMemo(PLAYERS.params)
    one_name = memo.parse(URL("/players?query=a%26cursor%3D5", encoded=True))
    assert one_name.get("query") == "a&cursor=5"
    two_params = memo.parse(URL("/players?query=a&cursor=5", encoded=True))
    assert two_params.get("query") == "a" and two_params.get("cursor") == 5


def test_json_arguments_numbers_booleans_and_lists_are_accepted_as_well_as_text() -> None:
    query = parse_query(GAMES.params, {"seasons": [2024, "2023"], "postseason": True, "limit": 5})
    assert query == Query({"seasons": (2023, 2024), "postseason": True, "limit": 5})


@pytest.mark.parametrize("fraction", [1.5, 2.0])
def test_a_json_fraction_is_refused_with_the_parameters_own_rule(fraction: float) -> None:
    with pytest.raises(ApiError) as refused:
        parse_query(GAMES.params, {"team": "Lakers", "next": fraction})
    assert refused.value.status == 400
    assert f"got '{fraction}'" in refused.value.message
    assert refused.value.hint == "Allowed: an integer from 1 to 25."


def test_upstream_pairs_use_the_upstream_names_in_declaration_order() -> None:
    query = parse_query(
        STATS.params,
        MultiDict([("cursor", "9"), ("limit", "50"), ("seasons", "2024"), ("player_ids", "70,3")]),
    )
    assert STATS.route.query(upstream_params(STATS.params, query)) == [
        ("player_ids[]", "3"),
        ("player_ids[]", "70"),
        ("seasons[]", "2024"),
        ("per_page", "50"),
        ("cursor", "9"),
    ]


def test_a_season_is_named_by_the_year_it_began_and_a_new_one_starts_in_october() -> None:
    assert current_season(dt.date(2025, 9, 30)) == 2024
    assert current_season(dt.date(2025, 10, 1)) == 2025
    assert current_season(dt.date(2026, 1, 15)) == 2025
    assert last_season(dt.date(2025, 3, 1)) == 2026


@pytest.mark.parametrize(
    ("now_utc", "season"),
    [
        ("2025-10-01T03:59", 2024),  # 23:59 EDT on September 30th: the server's day is October
        ("2025-10-01T04:00", 2025),  # midnight EDT: the new season
    ],
)
def test_the_current_season_turns_on_the_leagues_day_not_the_servers(
    monkeypatch: Any, now_utc: str, season: int
) -> None:
    moment = dt.datetime.fromisoformat(now_utc).replace(tzinfo=dt.UTC)
    monkeypatch.setattr(dates, "now_utc", lambda: moment)
    assert current_season() == season


def test_season_averages_require_player_ids_or_player_or_team_in_the_declaration() -> None:
    required = [(p.name, p.or_instead) for p in SEASON_AVERAGES.params if p.required]
    assert required == [("player_ids", ("player", "team"))]
