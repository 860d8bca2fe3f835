"""/standings and get_standings: the ledger filled in date order in pages of 100, resumed after
a failure, answering as of the last complete date while it fills or when the upstream fails;
bad input refused at no cost; a season not started; the upstream's table where the plan serves
it; the same question over MCP.

The made-up league is last season's (2024-25, `season=2024`), so that what is asked does not
depend on today's date: a past season is asked up to its last possible day, April 30th.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import CallbackResult

from sportstats.core import dates
from sportstats.core.dates import LEAGUE_ZONE, league_today
from sportstats.core.league_table import team_infos
from sportstats.core.params import current_season
from sportstats.core.tables import TEAMS
from sportstats.standings import Game, table
from tests.conftest import ask, load_fixture, sent, upstream_route
from tests.league import League
from tests.mcp_support import connect

SEASON = 2024
LEAGUE_DAY = dt.date(2025, 2, 20)  # "today" of the made-up league: mid-season
LAKERS, CELTICS = 14, 2
FAST = {"upstream": {"requests_per_minute": 600}, "standings": {"start_delay_s": -1}}
ONE_ATTEMPT = {"upstream": {"requests_per_minute": 600, "max_attempts": 1}}
FREE = {"upstream": {"requests_per_minute": 5}, "standings": {"start_delay_s": -1}}
TEAM_INFOS = team_infos(TEAMS.rows(load_fixture("teams_all.json")["data"]))


def season_of_games(first_days_ago: int, last_days_ago: int, per_day: int = 7) -> League:
    """A league with `per_day` games a day (every team at most once a day), seeded."""
    league = League(today=LEAGUE_DAY, roster=1)
    pick = random.Random(26)
    for days_ago in range(first_days_ago, last_days_ago - 1, -1):
        teams = list(range(1, 31))
        pick.shuffle(teams)
        pairs = zip(teams[0 : 2 * per_day : 2], teams[1 : 2 * per_day : 2], strict=True)
        for home, visitor in pairs:
            score = (pick.randint(95, 130), pick.randint(95, 130))
            if score[0] != score[1]:
                league.game(days_ago, home, visitor, score=score)
    return league


@pytest.fixture
def serve_league(upstream: Any) -> Callable[[League], None]:
    def serve(league: League) -> None:
        league.serve(upstream)
        upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)

    return serve


def games_asked(upstream: Any) -> list[dict[str, str]]:
    return [dict(url.query) for url in sent(upstream) if url.path.endswith("/games")]


def expected_table(league: League, through: str = "9999") -> list[dict[str, Any]]:
    """The table worked out from the league's own games, as the arithmetic ranks it."""
    games = [
        Game(g["id"], g["date"], g["home_team"]["id"], g["visitor_team"]["id"],
             g["home_team_score"], g["visitor_team_score"])
        for g in league.games
        if g["status"] == "Final" and g["date"] <= through
    ]  # fmt: skip
    return table(games, TEAM_INFOS)


def by_team(rows: list[dict[str, Any]]) -> dict[int, tuple[Any, ...]]:
    keys = ("wins", "losses", "conference_rank", "home", "road", "last_10", "streak")
    return {row["team_id"]: tuple(row[k] for k in keys) for row in rows}


async def test_a_season_is_filled_oldest_first_in_pages_of_100_within_games_over_100_plus_5(
    make_client: Any, upstream: Any, serve_league: Any
) -> None:
    league = season_of_games(first_days_ago=115, last_days_ago=1)  # late Oct. to Feb. 19th
    serve_league(league)
    client = await make_client(**FAST)

    answer = await ask(client, f"/standings?season={SEASON}")

    asked = games_asked(upstream)
    finished = len(league.games)
    assert len(asked) <= math.ceil(finished / 100) + 5
    assert all(q["per_page"] == "100" and q["postseason"] == "false" for q in asked)
    assert all(q["seasons[]"] == str(SEASON) for q in asked)
    starts = [q["start_date"] for q in asked]
    assert starts == sorted(starts) and starts[0] == f"{SEASON}-10-01"
    assert asked[-1]["end_date"] == f"{SEASON + 1}-04-30"
    meta = answer["meta"]
    assert meta["ledger"] == {"games": finished, "complete": True, "calls_left": 0}
    assert meta["as_of"] == f"{SEASON + 1}-04-30" and "note" not in meta
    assert "head-to-head" in meta["tie_break"] and meta["source"] == "computed"
    assert meta["upstream_calls"] == len(asked) + 1  # and the teams list
    assert by_team(answer["data"]) == by_team(expected_table(league))
    assert [r["conference"] for r in answer["data"]] == ["East"] * 15 + ["West"] * 15

    again = await ask(client, f"/standings?season={SEASON}&conference=Western")
    assert again["meta"]["upstream_calls"] == 0
    assert [r["team_id"] for r in again["data"]] == [r["team_id"] for r in answer["data"][15:]]

    # Filters that exclude each other: an empty table that says why, at no cost.
    apart = await ask(client, f"/standings?season={SEASON}&conference=East&division=Pacific")
    elsewhere = await ask(client, f"/standings?season={SEASON}&team=Lakers&conference=East")
    assert apart["data"] == elsewhere["data"] == []
    assert apart["meta"]["note"] == (
        "No team is in the East conference and the Pacific division: the Pacific is in the West."
    )
    assert elsewhere["meta"]["note"] == (
        "No team asked is in the East conference:"
        " the Los Angeles Lakers play in the West (Pacific)."
    )
    assert apart["meta"]["upstream_calls"] == elsewhere["meta"]["upstream_calls"] == 0


async def test_a_question_while_the_ledger_fills_gets_the_standings_of_the_last_complete_date(
    make_client: Any, upstream: Any, serve_league: Any
) -> None:
    league = season_of_games(first_days_ago=100, last_days_ago=1, per_day=3)  # from Nov. 12th
    serve_league(league)
    client = await make_client(**FREE)  # 5 a minute: the ledger gets one while testers ask

    answer = await ask(client, f"/standings?season={SEASON}&team=Lakers")

    assert len(games_asked(upstream)) == 1  # the first window, Oct. 1st to Nov. 14th, one page
    meta = answer["meta"]
    assert meta["as_of"] == f"{SEASON}-11-14"
    assert meta["ledger"]["complete"] is False and meta["ledger"]["calls_left"] >= 1
    assert meta["note"].startswith(f"Standings through {SEASON}-11-14; the rest still loading")
    assert "minutes at this plan's budget" in meta["note"]
    assert "cache" in meta and meta["cache"] == "miss"
    through = by_team(expected_table(league, f"{SEASON}-11-14"))
    assert [by_team(answer["data"])[LAKERS]] == [through[LAKERS]]


def failing_on(league: League, failing_calls: set[int]) -> Callable[..., CallbackResult]:
    """The league's /games, but a 503 on the calls numbered in `failing_calls` (from 1)."""
    calls = [0]

    def games(url: Any, **kwargs: Any) -> CallbackResult:
        calls[0] += 1
        if calls[0] in failing_calls:
            return CallbackResult(status=503, payload={"error": "down"})
        return league._games(url, **kwargs)

    return games


async def test_the_fill_resumes_at_the_page_that_failed_and_loses_nothing(
    make_client: Any, upstream: Any
) -> None:
    league = season_of_games(first_days_ago=115, last_days_ago=1)
    upstream.get(upstream_route("/games"), callback=failing_on(league, {2}), repeat=True)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    client = await make_client(**ONE_ATTEMPT)

    failed = await client.get(f"/standings?season={SEASON}")
    assert failed.status == 502  # nothing complete yet to answer from: the failure itself
    assert (await failed.json())["error"]["code"] == "upstream_error"
    asked = games_asked(upstream)
    assert len(asked) == 2 and asked[1].get("cursor") is not None  # the first window's 2nd page

    answer = await ask(client, f"/standings?season={SEASON}")

    resumed = games_asked(upstream)[2:]
    assert resumed[0] == asked[1]  # the page that failed, asked again, and no earlier one
    assert asked[0] not in resumed
    assert answer["meta"]["ledger"]["complete"] is True
    assert by_team(answer["data"]) == by_team(expected_table(league))


async def test_an_upstream_failure_while_bringing_it_current_is_in_meta_not_a_5xx(
    make_client: Any, upstream: Any
) -> None:
    league = season_of_games(first_days_ago=60, last_days_ago=2, per_day=3)
    league.game(1, LAKERS, CELTICS, status="4th Qtr")  # still open: its date is not complete
    open_day = league.games[-1]["date"]
    down = [False]

    def games(url: Any, **kwargs: Any) -> CallbackResult:
        if down[0]:
            return CallbackResult(status=503, payload={"error": "down"})
        return league._games(url, **kwargs)

    upstream.get(upstream_route("/games"), callback=games, repeat=True)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    client = await make_client(**ONE_ATTEMPT, standings={"start_delay_s": -1, "refresh_s": 0.01})
    first = await ask(client, f"/standings?season={SEASON}")
    day_before = (dt.date.fromisoformat(open_day) - dt.timedelta(days=1)).isoformat()
    assert first["meta"]["as_of"] == day_before and first["meta"]["ledger"]["complete"]
    calls = len(games_asked(upstream))
    down[0] = True
    await asyncio.sleep(0.05)  # past refresh_s: the live game should be over by now

    answer = await ask(client, f"/standings?season={SEASON}")  # the live game should be over

    assert len(games_asked(upstream)) == calls + 1
    asked = games_asked(upstream)[-1]
    assert asked["start_date"] == open_day  # only the dates after the last complete one
    meta = answer["meta"]
    assert meta["as_of"] == day_before and meta["failure"]["code"] == "upstream_error"
    assert f"these are the standings through {day_before}" in meta["note"]
    assert answer["data"] == first["data"]


async def test_bad_input_is_refused_naming_what_is_allowed_with_no_upstream_call(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    await ask(client, "/teams")  # the teams list cached, as any name lookup has it
    before = len(sent(upstream))
    cases = {
        "season=1850": ("invalid_parameter", "1946"),
        "conference=North": ("invalid_parameter", "East, West"),
        "division=Arctic": ("invalid_parameter", "Pacific"),
        "team=Nowhere": ("unknown_team", "abbreviation"),
        "season=2024&team=": ("invalid_parameter", "Leave it out"),
    }
    for question, (code, allowed) in cases.items():
        error = (await ask(client, f"/standings?{question}", 400))["error"]
        assert error["code"] == code, question
        assert allowed in error["message"] + error["hint"], question
    assert len(sent(upstream)) == before


async def test_a_season_not_started_is_an_empty_table_saying_when_it_starts(
    client: Any, upstream: Any
) -> None:
    season = current_season() + 1
    answer = await ask(client, f"/standings?season={season}")
    assert answer["data"] == [] and answer["meta"]["count"] == 0
    assert (
        f"{season}-{(season + 1) % 100:02d} regular season has not started"
        in (answer["meta"]["note"])
    )
    assert f"October {season}" in answer["meta"]["note"]
    assert sent(upstream) == []


async def test_on_a_plan_that_serves_the_upstream_table_it_is_one_cached_call_plus_our_columns(
    make_client: Any, upstream: Any, serve_league: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 23:30 in New York yesterday, already today in UTC: the table is as of the league's day.
    eastern = dt.datetime.combine(league_today() - dt.timedelta(days=1), dt.time(23, 30))
    late = eastern.replace(tzinfo=LEAGUE_ZONE).astimezone(dt.UTC)
    monkeypatch.setattr(dates, "now_utc", lambda: late)
    league = season_of_games(first_days_ago=40, last_days_ago=1, per_day=3)
    serve_league(league)
    teams = {t["id"]: t for t in load_fixture("teams_all.json")["data"]}
    vendor = [  # the vendor's shape (openapi/nba.yml): no win_pct, games_behind, last_10, streak
        {"team": teams[LAKERS], "conference_record": "20-10", "conference_rank": 1,
         "division_record": "8-2", "division_rank": 1, "wins": 30, "losses": 12,
         "home_record": "17-4", "road_record": "13-8", "season": SEASON},
        {"team": teams[10], "conference_record": "18-12", "conference_rank": 2,
         "division_record": "6-4", "division_rank": 2, "wins": 27, "losses": 15,
         "home_record": "15-6", "road_record": "12-9", "season": SEASON},
    ]  # fmt: skip
    upstream.get(upstream_route("/standings"), payload={"data": vendor}, repeat=True)
    client = await make_client(**{**FAST, "upstream": {**FAST["upstream"], "plan": "goat"}})

    answer = await ask(client, f"/standings?season={SEASON}&conference=West")
    again = await ask(client, f"/standings?season={SEASON}&team=Warriors")

    standings_calls = [u for u in sent(upstream) if u.path.endswith("/standings")]
    assert len(standings_calls) == 1 and dict(standings_calls[0].query) == {"season": "2024"}
    lakers, warriors = answer["data"]
    assert answer["meta"]["source"] == "upstream" and "/standings" in answer["meta"]["from"]
    assert answer["meta"]["as_of"] == eastern.date().isoformat()
    assert (lakers["conference_rank"], lakers["wins"], lakers["home"]) == (1, 30, "17-4")
    assert (warriors["win_pct"], warriors["games_behind"]) == (0.643, 3.0)
    ours = by_team(expected_table(league))
    assert (lakers["last_10"], lakers["streak"]) == ours[LAKERS][5:]
    assert again["data"] == [warriors] and again["meta"]["upstream_calls"] == 0


async def test_get_standings_answers_what_the_http_endpoint_answers(
    serve: Any, upstream: Any, serve_league: Any
) -> None:
    league = season_of_games(first_days_ago=30, last_days_ago=1, per_day=3)
    serve_league(league)
    url = await serve(**FAST)
    async with connect(url, "legacy") as mcp_client:
        result = await mcp_client.call_tool(
            "get_standings", {"season": SEASON, "team": ["Lakers", "BOS"]}
        )
        refused = await mcp_client.call_tool("get_standings", {"conference": "North"})
    assert result.is_error is False
    rows = result.structured_content["data"]
    assert {row["team_id"] for row in rows} == {LAKERS, CELTICS}
    assert by_team(rows) == {k: v for k, v in by_team(expected_table(league)).items() if k in
                             (LAKERS, CELTICS)}  # fmt: skip
    assert "| conference_rank | team | wins |" in result.content[0].text
    assert refused.is_error is True and "East, West" in refused.content[0].text


async def test_when_the_upstream_table_fails_the_computed_one_answers_saying_so(
    make_client: Any, upstream: Any, serve_league: Any
) -> None:
    league = season_of_games(first_days_ago=40, last_days_ago=1, per_day=3)
    serve_league(league)
    upstream.get(upstream_route("/standings"), status=503, payload={"error": "down"}, repeat=True)
    goat = {**ONE_ATTEMPT["upstream"], "plan": "goat"}  # a plan that serves the upstream's table
    client = await make_client(upstream=goat, standings={"start_delay_s": -1})

    answer = await ask(client, f"/standings?season={SEASON}&conference=East")

    meta = answer["meta"]
    assert meta["source"] == "computed" and meta["failure"]["code"] == "upstream_error"
    assert f"computed from the finished games through {meta['as_of']}" in meta["note"]
    assert by_team(answer["data"]) == {
        k: v for k, v in by_team(expected_table(league)).items() if k in by_team(answer["data"])
    }
    assert len(answer["data"]) == 15
