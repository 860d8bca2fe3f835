"""The paid routes' questions on the plans that serve them (and refused where not), as an
assistant asks them: one call each.

Run: `python bench/paid_questions.py [--round-trip-ms 150]` (a few seconds; everything on
127.0.0.1, no internet).

A fake upstream on 127.0.0.1 answers every route with the fixtures built from the vendor's shapes
(`tests/fixtures/*_SPEC.json`, the recorded teams list), after a realistic round trip, and refuses
with 401 what the asked plan does not serve (as the vendor does), reading which plan serves which
route from the route table. Each question gets a fresh server with its plan set; its teams list is
asked first, as any warm server has it. Printed per question: the upstream calls cold (a fresh
answer) and warm (the same question again), characters of the answer, status, time cold and warm.
Targets: one call each, at most 6,000 characters, 0 upstream calls warm; on GOAT the assist
leaders, last night's top scorers and a day's box scores in one upstream call, a team's season
leaders in at most 2; on ALL-STAR injuries and rosters in one, leaders refused with none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.app import create_app  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402
from sportstats.upstream.routes import LEAGUE  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
MAX_CHARS = 6_000
ANSWERS = {  # route name -> fixture
    "teams": "teams_all.json",
    "leaders": "leaders_ast_2025_SPEC.json",
    "player_injuries": "player_injuries_SPEC.json",
    "players/active": "players_active_LAL_SPEC.json",
    "season_averages/{category}": "season_averages_general_base_LAL_SPEC.json",
    "box_scores": "box_scores_2026-12-03_SPEC.json",
    "stats/advanced": "stats_advanced_2026-12-03_SPEC.json",
}
QUESTIONS = {  # (question, call, upstream calls allowed cold, by plan)
    "goat": [
        ("Who leads the league in assists?", "/leaders?stat=ast&limit=10", 1),
        ("Last night's top scorers", "/stats?dates=yesterday&sort=-pts&limit=5", 1),
        ("Last night's box scores", "/box_scores?dates=yesterday", 1),
        ("The Lakers' top scorers", "/season_averages?team=Lakers&sort=-pts&limit=5", 2),
        ("Is Embiid playing tonight?", "/injuries?player_ids=145", 1),
        ("Who is on the Lakers' roster?", "/players?team=Lakers&active=true", 1),
    ],
    "all-star": [
        ("Is Embiid playing tonight?", "/injuries?player_ids=145", 1),
        ("Who is on the Lakers' roster?", "/players?team=Lakers&active=true", 1),
        ("Who leads the league in assists? (refused)", "/leaders?stat=ast&limit=10", 0),
    ],
}  # fmt: skip


def fake_upstream(plan: str, round_trip_s: float, calls: list[str]) -> web.Application:
    """Every route the fixtures answer, refused with 401 where `plan` does not serve it."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(round_trip_s)
        path = request.path
        route = next(
            (r for r in LEAGUE.routes.values() if _matches(r.path, path)),
            None,
        )
        calls.append(f"{path}?{request.query_string}")
        if route is None or route.name not in ANSWERS:
            return web.json_response({"data": [], "meta": {}})
        if plan not in route.plans:
            return web.Response(status=401, text="Unauthorized")
        body = json.loads((FIXTURES / ANSWERS[route.name]).read_text())
        if route.name == "box_scores":  # the asked day's
            for box in body["data"]:
                box["date"] = request.query.get("date", box["date"])
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


def _matches(template: str, path: str) -> bool:
    """`/nba/v1/season_averages/{category}` matches `/nba/v1/season_averages/general`."""
    want, got = template.split("/"), path.split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}")) for w, g in zip(want, got, strict=True)
    )


async def ask(client: TestClient, call: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    response = await client.get(call)
    body = await response.text()
    return response.status, len(body), (time.perf_counter() - started) * 1000


async def run_plan(plan: str, round_trip_s: float) -> list[str]:
    """Each question of `plan` put to a fresh server (its teams list warm): the figures."""
    calls: list[str] = []
    upstream = TestServer(fake_upstream(plan, round_trip_s, calls), host="127.0.0.1")
    await upstream.start_server()
    settings = load_settings(
        cli={"upstream_url": str(upstream.make_url("")), "upstream": {"plan": plan}},
        environ={"BALLDONTLIE_API_KEY": "bench-key"},
    )
    missed = []
    try:
        for question, call, allowed in QUESTIONS[plan]:
            client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
            await client.start_server()
            try:
                await ask(client, "/teams")  # the teams list, as any warm server has it
                before = len(calls)
                status, chars, cold_ms = await ask(client, call)
                cold = len(calls) - before
                _, _, warm_ms = await ask(client, call)
                warm = len(calls) - before - cold
            finally:
                await client.close()
            print(
                f"{plan:8} {question[:44]:44} {status:4} {cold:4} {warm:4} {chars:7,}"
                f" {cold_ms:8.0f} {warm_ms:7.1f}"
            )
            if cold > allowed or warm or chars > MAX_CHARS:
                missed.append(f"{plan}: {question}")
    finally:
        await upstream.close()
    return missed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trip-ms", type=float, default=150.0)
    round_trip_s = parser.parse_args().round_trip_ms / 1000
    print(
        f"{'plan':8} {'question':44} {'HTTP':>4} {'cold':>4} {'warm':>4} {'chars':>7}"
        f" {'cold ms':>8} {'warm ms':>7}"
    )
    missed = []
    for plan in QUESTIONS:
        missed += await run_plan(plan, round_trip_s)
    verdict = "all met" if not missed else "missed by: " + "; ".join(missed)
    print(
        f"\ntargets: the upstream calls allowed cold, 0 warm, <= {MAX_CHARS:,} characters:"
        f" {verdict}"
    )


if __name__ == "__main__":
    asyncio.run(main())
