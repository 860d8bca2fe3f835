"""Standings: what filling and keeping the ledger costs the upstream, and what a question costs.

Run: `python bench/standings.py` (about a minute; everything on 127.0.0.1, no internet).

A made-up 2024-25 season (`tests/league.py`: the 30 real teams, about 7 games a day from October
22nd to April 13th) is served by a fake upstream with a realistic round trip (`ROUND_TRIP_S`).
1. Filling a season's ledger from nothing, at three dates of the season: upstream calls, against
   the target (finished games / 100) + 5.
2. How long that fill takes at 5, 60 and 600 requests a minute: idle (no tester asking, so the
   ledger may use the whole budget) and busy (a tester asking a cold question every third of a
   minute, so the ledger keeps to its fifth). The budget's window and the round trip are scaled
   down by the same factor and the time measured is scaled back up, so that the waits for the
   budget (which is what the time is made of) are the real ones.
3. The two questions, one call each on a fresh server: standings of a conference and a team's
   record: characters (target at most 6,000), upstream calls and time, cold (nothing cached, the
   ledger filled inside the question at 600 a minute) and warm; and a warm question after the
   league's day has moved on (target: at most 1 upstream call).
4. Keeping it current: one simulated game day, minute by minute (8 games tipping off between
   19:00 and 22:30 US Eastern, each final 2 h 10 to 2 h 40 after tip-off), the ledger asking
   only when `due` says so: upstream calls in the 24 hours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.app import create_app  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402
from sportstats.upstream.league_clock import league_zone  # noqa: E402
from sportstats.web.keys import ANSWERS  # noqa: E402
from tests.league import TEAMS, League  # noqa: E402

SEASON = 2024
OPENING, CLOSING = dt.date(2024, 10, 22), dt.date(2025, 4, 13)
ROUND_TRIP_S = 0.15
MAX_CHARS = 6_000
FILL_DATES = (dt.date(2024, 11, 20), dt.date(2025, 1, 15), dt.date(2025, 4, 30))
TIMED_DATE = dt.date(2025, 1, 15)
PLANS = ((5, 30), (60, 1), (600, 1))  # requests a minute, time scaled down by (where waits)
LAKERS = 14
LEAGUE_ZONE = league_zone()


def season_league() -> League:
    """About 1,230 games: every team about every other day (7 games a day)."""
    league = League(today=CLOSING, roster=1)
    pick = random.Random(2024)
    day = OPENING
    while day <= CLOSING:
        if day.month != 2 or not 14 <= day.day <= 19:  # the All-Star break
            teams = list(range(1, 31))
            pick.shuffle(teams)
            for home, visitor in zip(teams[0:14:2], teams[1:14:2], strict=True):
                score = (pick.randint(95, 130), pick.randint(95, 131))
                score = score if score[0] != score[1] else (score[0] + 1, score[1])
                league.game((CLOSING - day).days, home, visitor, score=score)
        day += dt.timedelta(days=1)
    return league


async def fake_upstream(league: League, round_trip_s: float, calls: list[str]) -> TestServer:
    app = league.app(calls)

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(round_trip_s)
        return await handler(request)

    app.middlewares.append(slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def sportstats(upstream_url: str, per_minute: int, window_s: float = 60.0) -> TestClient:
    settings = load_settings(
        cli={
            "upstream_url": upstream_url,
            "upstream": {"requests_per_minute": per_minute, "window_s": window_s},
            "standings": {"start_delay_s": -1},
        },
        environ={"BALLDONTLIE_API_KEY": "bench-key"},
    )
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


def keeper_of(client: TestClient) -> Any:
    return client.server.app[ANSWERS].league.keeper


def finished_by(league: League, day: dt.date) -> int:
    return sum(g["date"] <= day.isoformat() for g in league.games)


async def fill_calls(league: League) -> None:
    print("1. filling the ledger from nothing (pages of 100 games, oldest first)")
    print(f"   {'season to':12} {'finished':>8} {'calls':>5} {'target':>6}")
    for day in FILL_DATES:
        calls: list[str] = []
        upstream = await fake_upstream(league, 0.0, calls)
        client = await sportstats(str(upstream.make_url("/v1")), 600)
        keeper = keeper_of(client)
        keeper.today = lambda day=day: day
        try:
            while not (await keeper.load(SEASON)).done(day):
                await keeper.step(SEASON)
        finally:
            await client.close()
            await upstream.close()
        finished = finished_by(league, day)
        target = math.ceil(finished / 100) + 5
        mark = "met" if len(calls) <= target else "MISSED"
        print(f"   {day.isoformat():12} {finished:8,} {len(calls):5} {target:6}  {mark}")


async def timed_fill(league: League, per_minute: int, scale: float, busy: bool) -> float:
    """Seconds (scaled back up) the background takes to fill the season to `TIMED_DATE`."""
    calls: list[str] = []
    upstream = await fake_upstream(league, ROUND_TRIP_S / scale, calls)
    window_s = 60.0 / scale
    client = await sportstats(str(upstream.make_url("/v1")), per_minute, window_s)
    keeper = keeper_of(client)
    keeper.today = lambda: TIMED_DATE

    async def tester() -> None:
        for n in range(10_000):
            await client.get(f"/players?query=tester{n}")
            await asyncio.sleep(window_s / 3)

    asking = asyncio.create_task(tester()) if busy else None
    started = time.monotonic()
    try:
        await asyncio.sleep(0.01 if busy else 0)  # the tester's first question goes first
        keeper.start(SEASON)
        while not (await keeper.load(SEASON)).done(TIMED_DATE):
            await asyncio.sleep(0.005)
        return (time.monotonic() - started) * scale
    finally:
        if asking:
            asking.cancel()
        await client.close()
        await upstream.close()


async def fill_times(league: League) -> None:
    finished = finished_by(league, TIMED_DATE)
    print(f"\n2. time to fill the season to {TIMED_DATE} ({finished:,} finished games)")
    print(f"   {'budget':>10} {'idle':>10} {'busy':>10}   (busy: the ledger keeps to a fifth)")
    for per_minute, scale in PLANS:
        idle = await timed_fill(league, per_minute, scale, busy=False)
        busy = await timed_fill(league, per_minute, scale, busy=True)
        print(f"   {per_minute:5} /min {_duration(idle):>10} {_duration(busy):>10}")


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


async def ask(client: TestClient, path: str) -> tuple[int, int, float]:
    started = time.monotonic()
    response = await client.get(path)
    body = await response.text()
    elapsed = time.monotonic() - started
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status} {body}")
    return len(body), body.count('"team_id"'), elapsed


async def questions(league: League) -> None:
    print(f"\n3. the questions, on a fresh server at 600 a minute, season to {TIMED_DATE}")
    print(f"   {'question':44} {'chars':>6} {'cold':>4} {'time':>8} {'warm':>4} {'time':>8}")
    asked = {
        "What are the standings in the West?": f"/standings?season={SEASON}&conference=West",
        "What's the Lakers' record?": f"/standings?season={SEASON}&team=Lakers",
    }
    for question, path in asked.items():
        calls: list[str] = []
        upstream = await fake_upstream(league, ROUND_TRIP_S, calls)
        client = await sportstats(str(upstream.make_url("/v1")), 600)
        keeper_of(client).today = lambda: TIMED_DATE
        try:
            chars, _, cold_s = await ask(client, path)
            cold = len(calls)
            _, _, warm_s = await ask(client, path)
            warm = len(calls) - cold
            keeper_of(client).today = lambda: TIMED_DATE + dt.timedelta(days=1)
            before = len(calls)
            await ask(client, f"/standings?season={SEASON}&team=Celtics")
            next_day = len(calls) - before
        finally:
            await client.close()
            await upstream.close()
        mark = "met" if chars <= MAX_CHARS and warm == 0 and next_day <= 1 else "MISSED"
        print(
            f"   {question:44} {chars:6,} {cold:4} {cold_s * 1000:6.0f} ms {warm:4}"
            f" {warm_s * 1000:6.1f} ms   next day: {next_day} call  {mark}"
        )


class GameNight:
    """One game day as the upstream shows it at a simulated time: finished days final, the
    day's games scheduled, live or final as the simulated clock says."""

    def __init__(self, league: League, day: dt.date) -> None:
        self.now = 0.0
        self.games = [g for g in league.games if g["date"] < day.isoformat()]
        self.timing: dict[int, tuple[float, float]] = {}
        pick = random.Random(26)
        for offset, game_day in enumerate((day, day + dt.timedelta(days=1))):
            teams = list(range(1, 31))
            pick.shuffle(teams)
            for n, (home, visitor) in enumerate(zip(teams[0:16:2], teams[1:16:2], strict=True)):
                tip = dt.datetime.combine(game_day, dt.time(19, 0), LEAGUE_ZONE)
                tip += dt.timedelta(minutes=30 * n)
                game_id = 9_000_000 + offset * 100 + n
                self.timing[game_id] = (tip.timestamp(), pick.uniform(130, 160) * 60)
                game = {**league.games[0], "id": game_id, "date": game_day.isoformat()}
                game.update(home_team=TEAMS[home], visitor_team=TEAMS[visitor])
                self.games.append(game)

    def answer(self, request: web.Request) -> web.Response:
        query = request.query
        start, end = query.get("start_date", ""), query.get("end_date", "9999")
        found = sorted((g for g in self.games if start <= g["date"] <= end), key=lambda g: g["id"])
        after, per_page = int(query.get("cursor", "0")), int(query.get("per_page", "25"))
        rest = [dict(g) for g in found if g["id"] > after]
        page = rest[:per_page]
        for game in page:
            if game["id"] in self.timing:
                tip, length = self.timing[game["id"]]
                if self.now < tip:
                    game["status"] = dt.datetime.fromtimestamp(tip, dt.UTC).isoformat()
                elif self.now < tip + length:
                    game["status"] = "3rd Qtr"
        more = len(rest) > per_page
        meta = {"next_cursor": page[-1]["id"] if more else None, "per_page": per_page}
        return web.json_response({"data": page, "meta": meta})


async def keeping_current(league: League) -> None:
    day = TIMED_DATE
    night = GameNight(league, day)
    calls: list[str] = []

    async def games(request: web.Request) -> web.Response:
        calls.append(str(request.rel_url))
        return night.answer(request)

    app = web.Application()
    app.router.add_get("/v1/games", games)
    upstream = TestServer(app, host="127.0.0.1")
    await upstream.start_server()
    client = await sportstats(str(upstream.make_url("/v1")), 600)
    keeper = keeper_of(client)
    start = dt.datetime.combine(day, dt.time(6, 0), LEAGUE_ZONE).timestamp()
    night.now = start
    keeper.clock = lambda: night.now
    keeper.today = lambda: dt.datetime.fromtimestamp(night.now, LEAGUE_ZONE).date()
    try:
        while (await keeper.load(SEASON)).window is not None or not (
            await keeper.load(SEASON)
        ).done(keeper.today()):
            await keeper.step(SEASON)
        filled, asked_at = len(calls), []
        for minute in range(24 * 60):
            night.now = start + 60 * minute
            ledger = await keeper.load(SEASON)
            if ledger.due(keeper.today(), night.now, keeper.settings.refresh_s):
                await keeper.step(SEASON)
                asked_at.append(dt.datetime.fromtimestamp(night.now, LEAGUE_ZONE))
        ledger = await keeper.load(SEASON)
    finally:
        await client.close()
        await upstream.close()
    print(f"\n4. keeping current through one game day ({day}, 8 games from 19:00 ET;"
          f" refresh_s {keeper.settings.refresh_s:g})")  # fmt: skip
    print(f"   filled first with {filled} calls; then {len(asked_at)} calls in 24 h, at (ET): "
          + ", ".join(f"{t:%a %H:%M}" for t in asked_at))  # fmt: skip
    print(f"   at the end: complete through {ledger.through}")


async def main() -> None:
    league = season_league()
    print(f"a made-up season: {len(league.games):,} games, {OPENING} to {CLOSING}\n")
    await fill_calls(league)
    await fill_times(league)
    await questions(league)
    await keeping_current(league)


if __name__ == "__main__":
    asyncio.run(main())
