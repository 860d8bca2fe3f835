"""The questions people ask, answered the way an assistant asks them now and the way it had to.

Run: `python bench/questions.py` (a few seconds; everything on 127.0.0.1, no internet).

A made-up league (`tests/league.py`: the 30 real teams, a few real names, six weeks of this
season's games with box scores, and last spring's) is served by a fake upstream on 127.0.0.1.
Each question is put to a fresh server twice: once as one call with today's parameters (names,
`last`, `sort`, `fields`), once as the calls an assistant needed before them (ids looked up
first, whole seasons read and sorted by the model). Printed per question and way: calls,
characters of the answers (JSON bodies, what GPT Actions read), tokens (characters / 4), upstream
calls cold (a fresh server) and warm (the same calls again).
Targets for the new way: one call, at most 6,000 characters, at most 4 upstream calls cold, 0 warm.

The game-night questions (`next`, `opponent`, day words, a night ranked whole) are asked of the
same league with three weeks of scheduled games ahead. Every upstream answer comes after a
realistic round trip (`--round-trip-ms`, default 150), and each way is timed cold and warm.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.app import create_app  # noqa: E402
from sportstats.core.dates import league_today  # noqa: E402
from sportstats.core.params import current_season  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402
from tests.league import League  # noqa: E402

MAX_CHARS, MAX_COLD = 6_000, 4
LAKERS, CELTICS, WARRIORS = 14, 2, 10
NAMED = {
    LAKERS: [(237, "LeBron", "James"), (666_786, "Anthony", "Davis")],
    CELTICS: [(434, "Jayson", "Tatum"), (70, "Jaylen", "Brown")],
    WARRIORS: [(115, "Stephen", "Curry")],
}


@dataclass
class Question:
    asked: str
    new: list[str]
    old: list[str]


def the_league(today: dt.date) -> League:
    """Six weeks of games, every team about every other day, and ten games of last spring."""
    league = League(today=today, roster=10, named=NAMED)
    pick = random.Random(7)
    for days_ago in range(42, 0, -1):
        teams = list(range(1, 31))
        pick.shuffle(teams)
        for home, visitor in zip(teams[0:14:2], teams[1:14:2], strict=True):
            score = (pick.randint(95, 130), pick.randint(95, 130))
            if score[0] != score[1]:
                league.game(days_ago, home, visitor, score=score)
    for days_ago in range(230, 250, 2):
        league.game(days_ago, LAKERS, CELTICS, score=(110, 104))
    league.game(0, LAKERS, WARRIORS, status="3rd Qtr")  # live tonight
    return league


def questions(league: League, today: dt.date) -> list[Question]:
    lakers = [g for g in league.games if LAKERS in (g["home_team"]["id"], g["visitor_team"]["id"])]
    last_lakers = max((g for g in lakers if g["status"] == "Final"), key=lambda g: g["date"])
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    yesterdays = [g for g in league.games if g["date"] == yesterday]
    game = yesterdays[0]
    season = last_lakers["season"]
    month = (today - dt.timedelta(days=35)).replace(day=1)
    month_end = (month + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    tatum_games = f"/stats?player_ids=434&seasons={season}&limit=100"
    box = "fields=player,team,min,pts,reb,ast"
    return [
        Question(
            "Who scored most for the Lakers in their last game?",
            ["/stats?team=Lakers&last=1&sort=-pts&limit=5&fields=player,pts,reb,ast,result"],
            ["/teams", f"/games?team_ids=14&seasons={season}&limit=100",
             f"/stats?game_ids={last_lakers['id']}&limit=100"],
        ),
        Question(
            "LeBron James and Jayson Tatum: season averages",
            ["/season_averages?player=LeBron James,Jayson Tatum"
             "&fields=player,games_played,pts,reb,ast"],
            ["/players?query=james", "/players?query=tatum",
             "/season_averages?player_ids=237,434"],
        ),
        Question(
            f"The Celtics' games in {month:%B}",
            [f"/games?team=Celtics&start_date={month}&end_date={month_end}"
             "&fields=date,home_team,home_score,visitor_team,visitor_score,status"],
            ["/teams", f"/games?team_ids=2&start_date={month}&end_date={month_end}"],
        ),
        Question(
            "The teams of the Pacific division",
            ["/teams?division=Pacific&fields=team,abbreviation"],
            ["/teams?division=Pacific"],
        ),
        Question(
            "Jayson Tatum's last 5 games",
            ["/stats?player=Jayson Tatum&last=5"
             "&fields=date,opponent,home_away,result,min,pts,reb,ast"],
            ["/players?query=tatum", tatum_games],
        ),
        Question(
            "The Lakers' last 3 games",
            ["/games?team=Lakers&last=3&fields=date,home_team,home_score,visitor_team,visitor_score"],
            ["/teams", f"/games?team_ids=14&seasons={season}&limit=100"],
        ),
        Question(
            "Today's scores",
            [f"/games?dates={today}&fields=home_team,home_score,visitor_team,visitor_score,status"],
            [f"/games?dates={today}"],
        ),
        Question(
            "Last night's first box score, by points",
            [f"/stats?game_ids={game['id']}&sort=-pts&limit=100&{box}"],
            [f"/games?dates={yesterday}", f"/stats?game_ids={game['id']}&limit=100"],
        ),
        Question(
            "The Western conference teams",
            ["/teams?conference=Western&fields=team,abbreviation,division"],
            ["/teams?conference=West"],  # "Western" was refused
        ),
        Question(
            "Who led the Celtics in rebounds in their last game?",
            ["/stats?team=BOS&last=1&sort=-reb&limit=3&fields=player,reb,result"],
            ["/teams", f"/games?team_ids=2&seasons={season}&limit=100",
             "/stats?game_ids={celtics_last}&limit=100"],
        ),
        Question(
            "LeBron James's averages this season",
            ["/season_averages?player=LeBron James"],
            ["/players?query=lebron", f"/season_averages?player_ids=237&season={season}"],
        ),
        Question(
            "The Lakers' roster",
            ["/players?team=Lakers&limit=100&fields=name,position,jersey_number"],
            ["/teams", "/players?team_ids=14&limit=100"],
        ),
        Question(
            "Stephen Curry's points in his last 10 games",
            ["/stats?player=Stephen Curry&last=10&fields=date,opponent,result,pts"],
            ["/players?query=curry", f"/stats?player_ids=115&seasons={season}&limit=100"],
        ),
    ]  # fmt: skip


def scheduled(league: League, days_ahead: int, home: int, visitor: int, utc: str) -> None:
    """A game `days_ahead` days on, tipping off at `utc` o'clock UTC the next day (evening in
    US Eastern), as the upstream lists a game not yet started."""
    day = league.today + dt.timedelta(days=days_ahead)
    league.game(-days_ahead, home, visitor, status=f"{day + dt.timedelta(days=1)}T{utc}:00Z")


def game_night_league(today: dt.date) -> League:
    """The same league, two more Lakers-Celtics meetings, and three weeks of games ahead (one
    of them Lakers-Celtics)."""
    league = the_league(today)
    league.game(30, CELTICS, LAKERS, score=(108, 112))
    league.game(12, LAKERS, CELTICS, score=(99, 104))
    pick = random.Random(11)
    for days_ahead in range(0, 21):
        teams = [team for team in range(1, 31) if days_ahead != 9 or team not in (14, 2)]
        pick.shuffle(teams)
        for home, visitor in zip(teams[0:14:2], teams[1:14:2], strict=True):
            scheduled(league, days_ahead, home, visitor, pick.choice(("00:00", "00:30", "01:00")))
    scheduled(league, 9, LAKERS, CELTICS, "00:30")
    return league


def game_night_questions(league: League, today: dt.date) -> list[Question]:
    season = current_season(today)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    lines = sorted(
        (s for s in league.stats if s["game"]["date"] == yesterday), key=lambda s: s["id"]
    )
    night = [f"/stats?dates={yesterday}&limit=100"] + [
        f"/stats?dates={yesterday}&limit=100&cursor={lines[i]['id']}"
        for i in range(99, len(lines) - 1, 100)
    ]
    lakers_season = ["/teams", f"/games?team_ids=14&seasons={season}&limit=100"]
    upcoming = "fields=date,home_team,visitor_team,tip_off_et,tip_off_utc"
    return [
        Question("When do the Lakers play next?",
                 [f"/games?team=Lakers&next=1&{upcoming}"], lakers_season),
        Question("The Lakers' next three games",
                 [f"/games?team=Lakers&next=3&{upcoming}"], lakers_season),
        Question("Lakers against Celtics this season",
                 ["/games?team=Lakers&opponent=Celtics"
                  "&fields=date,home_team,home_score,visitor_team,visitor_score,status"],
                 lakers_season),
        Question("Tonight's games",
                 ["/games?dates=today&fields=home_team,visitor_team,status,tip_off_et"],
                 [f"/games?dates={today}"]),
        Question("Last night's top 5 scorers",
                 ["/stats?dates=yesterday&sort=-pts&limit=5&fields=player,team,opponent,pts"],
                 night),
        Question("Jayson Tatum's last 3 games against the Lakers",
                 ["/stats?player=Jayson Tatum&opponent=Lakers&last=3"
                  "&fields=date,team,opponent,result,pts,reb,ast"],
                 ["/players?query=tatum", f"/stats?player_ids=434&seasons={season}&limit=100",
                  f"/stats?player_ids=434&seasons={season - 1}&limit=100"]),
    ]  # fmt: skip


async def ask_all(
    calls: list[str], upstream_url: str, upstream_calls: list[str]
) -> tuple[list[int], list[float]]:
    """Ask `calls` of a fresh server, twice: [answer chars, upstream calls cold, warm] and
    [seconds cold, warm]."""
    settings = load_settings(
        cli={"upstream_url": upstream_url, "upstream": {"requests_per_minute": 600}},
        environ={"BALLDONTLIE_API_KEY": "bench-key"},
    )
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        chars = 0
        before, started = len(upstream_calls), time.perf_counter()
        for path in calls:
            response = await client.get(path)
            body = await response.text()
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status} {body}")
            chars += len(body)
        cold, cold_s = len(upstream_calls) - before, time.perf_counter() - started
        started = time.perf_counter()
        for path in calls:
            await (await client.get(path)).read()
        warm, warm_s = len(upstream_calls) - before - cold, time.perf_counter() - started
    finally:
        await client.close()
    return [chars, cold, warm], [cold_s, warm_s]


def slow(app: web.Application, round_trip_s: float) -> web.Application:
    """The fake upstream, each answer after `round_trip_s` (what the real one costs)."""

    @web.middleware
    async def wait(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(round_trip_s)
        return await handler(request)

    app.middlewares.append(wait)
    return app


async def run(
    asked: list[Question], league: League, round_trip_s: float, fill: dict[str, Any]
) -> list[str]:
    """Put each question both ways to a fresh server over `league`; print a line per way; the
    questions that missed a target."""
    upstream_calls: list[str] = []
    server = TestServer(slow(league.app(upstream_calls), round_trip_s), host="127.0.0.1")
    await server.start_server()
    upstream_url = str(server.make_url("/v1"))
    missed = []
    try:
        for question in asked:
            old = [path.format(**fill) for path in question.old]
            for way, calls in (("new", question.new), ("old", old)):
                (chars, cold, warm), (cold_s, warm_s) = await ask_all(
                    calls, upstream_url, upstream_calls
                )
                label = question.asked if way == "new" else ""
                print(
                    f"{label[:52]:52} {way:4} {len(calls):5} {chars:7,} {chars // 4:6,}"
                    f" {cold:4} {warm:4} {cold_s * 1000:7.0f} {warm_s * 1000:7.0f}"
                )
                if way == "new" and (
                    chars > MAX_CHARS or cold > MAX_COLD or warm or len(calls) > 1
                ):
                    missed.append(question.asked)
    finally:
        await server.close()
    return missed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trip-ms", type=float, default=150.0)
    round_trip_s = parser.parse_args().round_trip_ms / 1000
    today = league_today()  # the league's day, as the server counts it
    league = the_league(today)
    celtics = [
        g for g in league.games if CELTICS in (g["home_team"]["id"], g["visitor_team"]["id"])
    ]
    celtics_last = max((g for g in celtics if g["status"] == "Final"), key=lambda g: g["date"])
    print(f"upstream round trip: {round_trip_s * 1000:.0f} ms")
    print(
        f"{'question':52} {'way':4} {'calls':>5} {'chars':>7} {'tokens':>6} {'cold':>4}"
        f" {'warm':>4} {'cold ms':>7} {'warm ms':>7}"
    )
    missed = await run(
        questions(league, today), league, round_trip_s, {"celtics_last": celtics_last["id"]}
    )
    night = game_night_league(today)
    missed += await run(game_night_questions(night, today), night, round_trip_s, {})
    print(
        f"\ntargets (new way): 1 call, <= {MAX_CHARS:,} characters, <= {MAX_COLD} upstream calls"
        f" cold, 0 warm: {'all met' if not missed else 'missed by: ' + '; '.join(missed)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
