"""What the sample league (`--demo`) costs: building it, answering each vendor route, and the
README's first command from start to first answer.

Run: `python bench/bench_sample.py` (under a minute; everything on 127.0.0.1, no internet).
It prints:

1. the league built for today: players, games, seconds to build (median of 3 builds);
2. each route of the route table answered by the sample as the vendor (every route served, as
   on the top plan), over HTTP on loopback: milliseconds for the first answer (the lines of its
   games made on the way) and the median of 5 more, and the size of the body;
3. `python -m sportstats --demo` as a process with no key, as README runs it (no setting: the
   server learns the free plan from the sample) and again with `upstream.plan` goat: seconds
   until /healthz answers and until the first /teams answer; then eight questions in a row
   (teams, a day's games, players by name, a team's last and next game, its last box score,
   standings, the first game question again) with the rows, upstream calls and cache state of
   each answer, or its error; the process's resident memory at the end.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.sample.league import League, league_today  # noqa: E402
from sportstats.sample.server import Plan, SampleVendor  # noqa: E402
from sportstats.upstream.routes import ROUTES  # noqa: E402
from tests.server_process import ServerProcess, clean_environment  # noqa: E402
from tests.test_sample import QUESTIONS  # noqa: E402

KEY = {"Authorization": "bench"}


def build() -> League:
    today = league_today()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        league = League(today)
        times.append(time.perf_counter() - started)
    states = {s: sum(g.state == s for g in league.games) for s in ("final", "live", "scheduled")}
    print(
        f"1. league for {today}: {len(league.people)} players, {len(league.games)} games"
        f" ({states}); built in {statistics.median(times):.2f} s (median of 3)"
    )
    return league


async def routes(league: League) -> None:
    paths = {name: route.path for name, route in ROUTES.items()}
    vendor = SampleVendor(paths, Plan("GOAT", frozenset(paths.values()), 10**6), lambda: league)
    server = TestServer(vendor.app(), host="127.0.0.1")
    await server.start_server()
    print("2. each route, as the vendor (first answer / median of 5 more, body size):")
    async with aiohttp.ClientSession(headers=KEY) as http:
        for name, route in ROUTES.items():
            url = server.make_url(route.path.replace("{category}", "general") + QUESTIONS[name])
            times, size = [], 0
            for _ in range(6):
                started = time.perf_counter()
                async with http.get(url) as response:
                    size = len(await response.read())
                    assert response.status == 200, (name, response.status)
                times.append(time.perf_counter() - started)
            first, warm = times[0] * 1000, statistics.median(times[1:]) * 1000
            print(f"   {name:32} {first:8.1f} ms / {warm:7.1f} ms  {size:>8,} bytes")
    await server.close()


async def first_command(league: League, plan: str | None) -> None:
    """README's first command (no setting: `auto` meets the free plan), or with `plan` set."""
    day = max(g.date for g in league.games if g.state == "final" and g.date <= league.today)
    env = {k: v for k, v in clean_environment().items() if not k.startswith("SPORTSTATS_")}
    if plan:
        env["SPORTSTATS_UPSTREAM__PLAN"] = plan
    server = ServerProcess.sportstats("--demo", env=env)
    started = time.perf_counter()
    await server.start()
    up_s = time.perf_counter() - started
    questions = [
        "/teams",
        f"/games?dates={day}",
        f"/players?query={league.people[0].last_name}",
        "/games?team=Celtics&last=1",
        "/games?team=Celtics&next=1",
        "/stats?team=Celtics&last=1",
        "/standings?conference=East",
        "/games?team=Celtics&last=1",
    ]
    try:
        async with aiohttp.ClientSession() as http:
            lines = []
            for n, question in enumerate(questions):
                async with http.get(server.url + question) as response:
                    body = await response.json()
                if n == 0:
                    answer_s = time.perf_counter() - started
                lines.append(f"   {question:34} {response.status}  {_said(body)}")
        rss_kib = _rss_kib(server.process.pid)
    finally:
        await server.stop()
    print(
        f"3. python -m sportstats --demo{f' (upstream.plan {plan})' if plan else ', no setting'}:"
        f" /healthz after {up_s:.2f} s, first /teams answer after {answer_s:.2f} s"
    )
    print("\n".join(lines))
    print(f"   resident memory at the end: {rss_kib / 1024:.0f} MiB")
    start_line = next(line for line in server.lines if "listening on" in line)
    print(f"   start-up line: {start_line.strip()}")


def _said(body: dict) -> str:
    """An answer's rows, upstream calls and cache state; an error's code."""
    if "error" in body:
        return f"error {body['error']['code']}"
    meta = body["meta"]
    loading = " (still loading)" if "still loading" in meta.get("note", "") else ""
    return (
        f"{meta['count']} rows{loading}, upstream calls {meta.get('upstream_calls')},"
        f" cache {meta.get('cache')}"
    )


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def main() -> None:
    league = build()
    await routes(league)
    await first_command(league, None)
    await first_command(league, "goat")


if __name__ == "__main__":
    os.chdir(ROOT)
    asyncio.run(main())
