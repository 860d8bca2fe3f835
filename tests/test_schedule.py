"""The questions of a game night: next games, head-to-head, a player's games against a team,
a whole night ranked. The league's clock is fixed (`dates.now_utc`), the upstream a made-up
league served by date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from sportstats.core import dates
from tests.conftest import ask, load_fixture, sent, upstream_route
from tests.league import League
from tests.mcp_support import connect

LAKERS, CELTICS, KNICKS, WARRIORS = 14, 2, 20, 10
JOURNEYMAN = 999  # a player traded from the Lakers to the Knicks in mid-season
WINTER_AFTERNOON = dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC)  # 15:00 EST


def at(monkeypatch: Any, upstream: Any, now: dt.datetime) -> League:
    """A league whose today is the league's day at `now`, served as the upstream."""
    monkeypatch.setattr(dates, "now_utc", lambda: now)
    league = League(today=dates.league_today(now))
    league.serve(upstream)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"), repeat=True)
    return league


def ahead(league: League, days: int, home: int, visitor: int) -> dict[str, Any]:
    """A game `days` ahead, tipping off at 19:30 Eastern (00:30 UTC the next day in winter)."""
    day = league.today + dt.timedelta(days=days)
    tip_off = f"{day + dt.timedelta(days=1)}T00:30:00Z"
    return league.game(-days, home, visitor, status=tip_off)


def paths(upstream: Any) -> list[str]:
    """The routes asked, without the base path (`/nba/v1`)."""
    return ["/" + url.path.rsplit("/", 1)[-1] for url in sent(upstream)]


async def test_a_teams_next_games_are_the_soonest_not_started_with_tip_off_utc_and_eastern(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    league.game(3, LAKERS, CELTICS)
    league.game(0, KNICKS, LAKERS, status="3rd Qtr")  # live: already started
    later = ahead(league, 5, LAKERS, WARRIORS)  # listed before the sooner ones
    tonight = ahead(league, 0, CELTICS, LAKERS)
    soon = ahead(league, 2, LAKERS, KNICKS)
    ahead(league, 1, KNICKS, WARRIORS)  # another team's

    answer = await ask(client, "/games?team=Lakers&next=3")

    assert [row["game_id"] for row in answer["data"]] == [tonight["id"], soon["id"], later["id"]]
    first = answer["data"][0]
    assert first["date"] == "2026-01-15" and first["status"].startswith("Scheduled")
    assert first["tip_off_utc"] == "2026-01-16T00:30Z"
    assert first["tip_off_et"] == "2026-01-15 19:30 EST"
    assert first["home_score"] is None
    assert answer["meta"]["next"]["asked"] == answer["meta"]["next"]["found"] == 3
    assert answer["meta"]["next"]["searched_from"] == "2026-01-15"
    assert "note" not in answer["meta"]
    assert paths(upstream) == ["/teams", "/games"]  # the name, then one window ahead

    again = await ask(client, "/games?team=LAL&next=3")
    assert again["data"] == answer["data"] and again["meta"]["upstream_calls"] == 0


async def test_next_stops_at_the_end_of_the_season_and_says_how_far_it_looked(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, dt.datetime(2026, 6, 10, 16, 0, tzinfo=dt.UTC))
    finals = [ahead(league, 2, CELTICS, KNICKS), ahead(league, 5, KNICKS, CELTICS)]
    ahead(league, 133, CELTICS, LAKERS)  # October 21st: next season's opener

    answer = await ask(client, "/games?team=Celtics&next=5")

    assert [row["game_id"] for row in answer["data"]] == [game["id"] for game in finals]
    looked = answer["meta"]["next"]
    assert looked["found"] == 2 and looked["asked"] == 5
    assert looked["searched_to"] == "2026-07-31" and looked["searches"] <= 4
    note = answer["meta"]["note"]
    assert "Found 2 of the 5 games" in note and "through 2026-07-31" in note


async def test_no_games_ahead_is_an_empty_answer_with_a_note_not_an_error(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, dt.datetime(2026, 7, 2, 16, 0, tzinfo=dt.UTC))
    league.game(20, CELTICS, KNICKS)  # the season's last game, long over

    answer = await ask(client, "/games?team=BOS&next=1")

    assert answer["data"] == []
    assert answer["meta"]["note"].startswith("No games ahead from 2026-07-02")
    assert "season is over" in answer["meta"]["note"]


async def test_next_in_a_past_season_is_an_empty_answer_with_a_note_and_no_upstream_call(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    ahead(league, 2, LAKERS, CELTICS)  # a game ahead, but not in the seasons asked

    answer = await ask(client, "/games?team=Lakers&next=3&seasons=2019&seasons=2024")

    assert answer["data"] == []
    assert answer["meta"]["next"]["searches"] == 0
    note = answer["meta"]["note"]
    assert note.startswith("No games ahead in a past season (2019, 2024)")
    assert "from the league's today, 2026-01-15" in note
    assert "/games" not in paths(upstream)  # the team's name was resolved, no game was asked

    current = await ask(client, "/games?team=Lakers&next=3&seasons=2024&seasons=2025")
    assert len(current["data"]) == 1 and "/games" in paths(upstream)  # one season still ahead


def head_to_head(league: League) -> list[dict[str, Any]]:
    """Three meetings this season (Lakers 2-1) and one to come, among other games."""
    meetings = [
        league.game(40, LAKERS, CELTICS, score=(110, 100)),  # Lakers win at home
        league.game(20, CELTICS, LAKERS, score=(101, 99)),  # Celtics win at home
        league.game(5, CELTICS, LAKERS, score=(98, 105)),  # Lakers win away
        ahead(league, 10, LAKERS, CELTICS),
    ]
    league.game(10, LAKERS, KNICKS)
    league.game(8, CELTICS, KNICKS)
    league.game(300, LAKERS, CELTICS)  # last season's
    return meetings


async def test_a_head_to_head_lists_the_meetings_with_the_series_record_both_ways_round(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    meetings = head_to_head(league)

    lakers = await ask(client, "/games?team=Lakers&opponent=Celtics&seasons=2025")
    celtics = await ask(client, "/games?team=BOS&opponent=LAL")  # the current season

    ids = [game["id"] for game in meetings]
    assert [row["game_id"] for row in lakers["data"]] == ids  # oldest first
    assert [row["game_id"] for row in celtics["data"]] == ids
    series = lakers["meta"]["series"]
    assert (series["wins"], series["losses"], series["scheduled"]) == (2, 1, 1)
    assert series["team"] == "Los Angeles Lakers" and series["opponent"] == "Boston Celtics"
    assert lakers["meta"]["note"] == (
        "Series: Los Angeles Lakers 2-1 against Boston Celtics in these games, 1 more to play."
    )
    other_way = celtics["meta"]["series"]
    assert (other_way["wins"], other_way["losses"], other_way["team_id"]) == (1, 2, CELTICS)
    assert paths(upstream) == ["/teams", "/games", "/games"]  # one season page of each side


async def test_opponent_with_next_and_on_a_teams_box_scores_keeps_the_meetings_only(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    meetings = head_to_head(league)
    ahead(league, 3, LAKERS, KNICKS)  # sooner, but not against the Celtics

    upcoming = await ask(client, "/games?team=LAL&opponent=BOS&next=2")
    lines = await ask(client, "/stats?team=Lakers&opponent=Celtics&limit=100")

    assert [row["game_id"] for row in upcoming["data"]] == [meetings[3]["id"]]
    assert upcoming["meta"]["next"]["found"] == 1
    finished = {game["id"] for game in meetings[:3]}
    assert {row["game_id"] for row in lines["data"]} == finished
    assert {(row["team"], row["opponent"]) for row in lines["data"]} == {("LAL", "BOS")}
    assert len(lines["data"]) == 3 * league.roster
    dates_shown = [row["date"] for row in lines["data"]]
    assert dates_shown == sorted(dates_shown, reverse=True)


async def test_a_player_who_changed_teams_against_a_team_counts_his_games_for_either(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    league.named = {LAKERS: [(JOURNEYMAN, "Journey", "Man")]}
    league.game(40, LAKERS, CELTICS)
    league.game(30, CELTICS, LAKERS)
    league.named = {KNICKS: [(JOURNEYMAN, "Journey", "Man")]}  # traded
    league.game(20, KNICKS, CELTICS)
    league.game(12, LAKERS, KNICKS)
    league.game(10, CELTICS, KNICKS)
    league.game(5, KNICKS, LAKERS)

    celtics = await ask(client, f"/stats?player_ids={JOURNEYMAN}&opponent=Celtics&last=3")
    lakers = await ask(client, f"/stats?player_ids={JOURNEYMAN}&opponent=LAL")

    day = {g["id"]: g["date"] for g in league.games}
    rows = celtics["data"]
    assert [row["date"] for row in rows] == [league.games[i]["date"] for i in (4, 2, 1)]
    assert [row["team"] for row in rows] == ["NYK", "NYK", "LAL"]
    assert {row["opponent"] for row in rows} == {"BOS"}
    assert celtics["meta"]["last"]["found"] == 3
    # Against his old team: only the games since the trade, never those he played for it.
    assert [day[row["game_id"]] for row in lakers["data"]] == [
        league.games[i]["date"] for i in (5, 3)
    ]
    assert {(row["team"], row["opponent"]) for row in lakers["data"]} == {("NYK", "LAL")}


async def test_a_night_of_15_games_is_ranked_across_every_page(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    league.roster = 10
    for home in range(1, 30, 2):  # 15 games last night: 300 box-score lines, three pages
        league.game(1, home, home + 1)
    for points, line in enumerate(league.stats):  # the best lines are on the last page
        line["pts"] = points

    answer = await ask(client, "/stats?dates=yesterday&sort=-pts&limit=5")

    assert [row["pts"] for row in answer["data"]] == [299, 298, 297, 296, 295]
    assert answer["meta"]["sorted"] == "all" and answer["meta"]["total"] == 300
    assert answer["meta"]["query"]["dates"] == ["2026-01-14"]
    assert paths(upstream).count("/stats") == 3


async def test_a_night_beyond_the_bound_is_sorted_by_page_and_says_how_to_narrow(
    make_client: Any, upstream: Any, monkeypatch: Any
) -> None:
    client = await make_client(upstream={"sort_max_pages": 2})
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    league.roster = 10
    for home in range(1, 30, 2):
        league.game(1, home, home + 1)

    answer = await ask(client, "/stats?dates=yesterday&sort=-pts&limit=5")

    assert answer["meta"]["sorted"] == "page" and answer["meta"]["next_cursor"] is not None
    assert "more than 2 pages" in answer["meta"]["note"]
    assert "Narrow it" in answer["meta"]["note"]
    assert paths(upstream).count("/stats") == 2


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ("/games?team=LAL&next=0", "from 1 to 25"),
        ("/games?team=LAL&next=abc", "from 1 to 25"),
        ("/games?team=LAL&next=26", "from 1 to 25"),
        ("/games?team=LAL&next=2&last=2", "cannot be combined with last"),
        ("/games?next=2&dates=2026-01-15", "cannot be combined with dates"),
        ("/games?opponent=BOS", "needs one of team, team_ids"),
        ("/stats?opponent=BOS&seasons=2025", "needs one of player, player_ids, team"),
        ("/stats?team=LAL&opponent=BOS&game_ids=1", "cannot be combined with game_ids"),
        ("/games?dates=someday", "today, yesterday, tomorrow, last_night"),
        ("/stats?player_ids=1&start_date=someday", "today, yesterday, tomorrow, last_night"),
    ],
)
async def test_a_bad_game_night_question_is_a_400_without_an_upstream_call(
    client: Any, upstream: Any, asked: str, words: str
) -> None:
    body = await ask(client, asked, 400)
    assert words in body["error"]["message"] + body["error"]["hint"]
    assert sent(upstream) == []


async def test_an_opponent_that_is_the_team_itself_is_a_400_before_any_game_is_asked(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    at(monkeypatch, upstream, WINTER_AFTERNOON)
    body = await ask(client, "/games?team=Lakers&opponent=LAL", 400)
    assert "same team" in body["error"]["message"] and "another team" in body["error"]["hint"]
    body = await ask(client, "/stats?team=Celtics&opponent=Boston&last=2", 400)
    assert "same team" in body["error"]["message"]
    assert paths(upstream) == ["/teams"]  # the names alone, to know LAL is the Lakers


# --- the same questions through MCP -----------------------------------------------------------


async def test_the_game_night_questions_through_mcp_answer_as_over_http(
    url: str, mode: str, upstream: Any, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    meetings = head_to_head(league)
    league.game(1, KNICKS, WARRIORS, score=(120, 90))  # last night's other game
    async with connect(url, mode) as mcp_client:
        upcoming = await mcp_client.call_tool("get_games", {"team": ["Lakers"], "next": 2})
        series = await mcp_client.call_tool(
            "get_games", {"team": ["LAL"], "opponent": ["Celtics"], "seasons": [2025]}
        )
        night = await mcp_client.call_tool(
            "get_stats", {"dates": ["last_night"], "sort": "-pts", "limit": 3}
        )
        wrong = await mcp_client.call_tool("get_games", {"team": ["LAL"], "next": 0})
        same = await mcp_client.call_tool("get_games", {"team": ["LAL"], "opponent": ["LAL"]})

    rows = upcoming.structured_content["data"]
    assert [row["game_id"] for row in rows] == [meetings[3]["id"]]  # the one game ahead
    assert rows[0]["tip_off_et"] == "2026-01-25 19:30 EST"
    assert "Found 1 of the 2 games" in upcoming.content[0].text  # the note, in the table's line
    record = series.structured_content["meta"]["series"]
    assert (record["wins"], record["losses"]) == (2, 1)
    assert "Series: Los Angeles Lakers 2-1" in series.content[0].text
    lines = night.structured_content
    assert lines["meta"]["sorted"] == "all" and lines["meta"]["query"]["dates"] == ["2026-01-14"]
    assert {row["team"] for row in lines["data"]} <= {"NYK", "GSW"}
    assert wrong.is_error is True and "from 1 to 25" in wrong.content[0].text
    assert same.is_error is True and "same team" in same.content[0].text


async def test_the_instructions_name_next_opponent_and_the_day_words(url: str) -> None:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        instructions = (await session.initialize()).instructions or ""
    for words in ("next=N", "opponent=", "today, yesterday, last_night, tomorrow", "US Eastern"):
        assert words in instructions
