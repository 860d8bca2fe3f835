"""Each upstream plan, as a new user meets it: what is answered, refused or failed, what the
refusals cost, and the most the upstream sees in any window under a burst.

Run: `python bench/plans.py` (about a minute; everything on 127.0.0.1; needs `redis-server`).

For each plan (free, ALL-STAR, GOAT) the made-up league of `bench/questions.py` is served by a
fake upstream that refuses with 401 every route the plan lacks (as the vendor does) and keeps
its own quota of the plan's budget in any window (429 past it). Two servers share one Redis,
both on `upstream.plan: auto` (the default): the first learns the plan at start-up, the second
must not ask. Time runs ten times faster than the vendor's: the window (`upstream.window_s`, and
the fake's) is 6 s, not 60, so the free plan's 5 a window is felt without waiting minutes.

Printed per plan: the start-up line's plan part; the probe calls of each server; of the
questions of `bench/questions.py` (asked of the first server, then of the second): answered,
refused cleanly (403 plan_not_covered), failed otherwise; upstream calls answered 401, by route
(target: at most one per route, across both servers); then a burst of budget + 20 distinct
questions at once: the most requests the upstream saw in any window (target: never above the
budget) and the 429s it sent (target: none).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from questions import questions, the_league  # noqa: E402

from sportstats.app import create_app  # noqa: E402
from sportstats.ops.health import plan_on_offer  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402
from sportstats.startup import plan_words  # noqa: E402
from sportstats.upstream.plans import PLANS  # noqa: E402
from sportstats.web.keys import UPSTREAM  # noqa: E402
from tests.plan_upstream import PlanGate, every_route_app  # noqa: E402
from tests.server_process import free_port  # noqa: E402

HOST = "127.0.0.1"
KEY = "bench-key"
WINDOW_S = 6.0  # the vendor's minute, ten times faster
BURST_EXTRA = 20


async def server(upstream_url: str, redis_url: str, prefix: str) -> TestClient:
    settings = load_settings(
        cli={
            "upstream_url": upstream_url,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "upstream": {"window_s": WINDOW_S, "budget_wait_s": WINDOW_S},
            "limits": {"requests_per_minute": 0},
        },
        environ={"BALLDONTLIE_API_KEY": KEY},
    )
    client = TestClient(TestServer(create_app(settings), host=HOST))
    await client.start_server()
    return client


async def ask(client: TestClient, paths: list[str], tally: Counter[str]) -> None:
    for path in paths:
        response = await client.get(path)
        body = await response.json()
        if response.status == 200:
            tally["answered"] += 1
        elif response.status == 403 and body["error"]["code"] == "plan_not_covered":
            tally["refused"] += 1
        else:
            tally[f"failed {response.status} {body['error']['code']}"] += 1


async def burst(client: TestClient, size: int) -> Counter[int]:
    asked = [client.get(f"/players?query=burst{n}") for n in range(size)]
    answers = await asyncio.gather(*asked)
    for answer in answers:
        await answer.read()
    return Counter(answer.status for answer in answers)


async def one_plan(
    plan: str, budget: int, paths: list[str], redis_url: str, lacks: frozenset[str] = frozenset()
) -> None:
    league = the_league(dt.date.today())
    gate = PlanGate(plan, KEY, per_minute=budget, window_s=WINDOW_S, lacks=lacks)
    fake = TestServer(gate.guard(every_route_app(league.app([]))), host=HOST)
    await fake.start_server()
    prefix = f"bench-plans-{plan}-{time.time_ns()}:"
    first = second = None
    try:
        first = await server(str(fake.make_url("/v1")), redis_url, prefix)
        probes_first = len(gate.arrivals)
        second = await server(str(fake.make_url("/v1")), redis_url, prefix)
        probes_second = len(gate.arrivals) - probes_first
        moved = f" (the vendor moved {', '.join(sorted(lacks))} out of it)" if lacks else ""
        print(f"\n== {plan}{moved}: {plan_words(plan_on_offer(second.app[UPSTREAM]))}")
        print(f"   probe calls at start-up: first server {probes_first}, second {probes_second}")
        probes_refused = gate.refused()
        started = time.monotonic()
        for label, client in (("first", first), ("second", second)):
            tally: Counter[str] = Counter()
            await ask(client, paths, tally)
            shown = ", ".join(f"{n} {what}" for what, n in sorted(tally.items()))
            print(f"   questions on the {label} server: {shown}")
        refusals = {what: n for what, n in gate.answered.items() if what.endswith(" 401")}
        by_route = ", ".join(f"{w[:-4]} {n}" for w, n in sorted(refusals.items())) or "none"
        print(
            f"   upstream calls answered 401: {probes_refused} by the start-up probes,"
            f" {gate.refused() - probes_refused} by questions (all: {by_route});"
            f" the questions took {time.monotonic() - started:.1f} s"
        )
        statuses = await burst(first, budget + BURST_EXTRA)
        print(
            f"   burst of {budget + BURST_EXTRA}: {dict(sorted(statuses.items()))};"
            f" the most the upstream saw in any {WINDOW_S:g} s window:"
            f" {gate.most_in_any_window()} (budget {budget}); upstream 429s: {gate.refused(429)}"
        )
    finally:
        for client in (second, first):
            if client is not None:
                await client.close()
        await fake.close()


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return redis, f"redis://{HOST}:{port}/0"


async def main() -> None:
    league = the_league(dt.date.today())
    paths = [question.new[0] for question in questions(league, dt.date.today())]
    print(
        f"{len(paths)} questions of bench/questions.py; a window is {WINDOW_S:g} s here"
        " (the start-up line's 'a minute')"
    )
    redis, redis_url = start_redis()
    try:
        for plan in PLANS:
            await one_plan(plan.name, plan.requests_per_minute, paths, redis_url)
        # A declaration the vendor no longer keeps: learned from one 401, shared by both servers.
        all_star = PLANS[1]
        moved = frozenset({"season_averages"})
        await one_plan(all_star.name, all_star.requests_per_minute, paths, redis_url, moved)
    finally:
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    web_logging = __import__("logging")
    web_logging.basicConfig(level=web_logging.ERROR)
    asyncio.run(main())
