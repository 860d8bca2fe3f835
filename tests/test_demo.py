"""`--demo`: the server on the built-in sample league, with no key and no network, every answer
saying it is sample data; the same questions shaped as against the recorded vendor answers; and
README's first command doing all of it as a newcomer runs it."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from mcp import Client

from sportstats.app import create_app
from sportstats.core.endpoints import ENDPOINTS
from sportstats.sample import CAVEAT, SOURCE
from sportstats.sample.league import League, league_today
from sportstats.settings import SettingsError, load_settings
from sportstats.web.keys import SAMPLE
from tests.conftest import answer_season_averages, load_fixture, make_settings, upstream_route
from tests.server_process import ServerProcess, clean_environment

ROOT = Path(__file__).resolve().parent.parent
NOT_REAL = "sample data, not real"


def last_game_day() -> str:
    """The last day with a finished game, as of today (today itself in the season)."""
    league = League.of(league_today())
    return max(game.date for game in league.games if game.state == "final").isoformat()


def demo_settings(**overrides: Any) -> Any:
    return load_settings(cli={"upstream.demo": True, **overrides}, environ={})


GOAT = {"upstream.plan": "goat"}  # the sample serving every route, as the top plan does


def test_demo_needs_no_key_and_reads_from_every_source(tmp_path: Path) -> None:
    assert demo_settings().upstream.demo and not demo_settings().api_key
    assert load_settings(environ={"SPORTSTATS_UPSTREAM__DEMO": "true"}).upstream.demo
    config = tmp_path / "demo.yaml"
    config.write_text("upstream:\n  demo: true\n")
    assert load_settings(environ={}, config_file=str(config)).upstream.demo


@pytest.mark.parametrize(
    ("cli", "environ", "named"),
    [
        ({}, {"BALLDONTLIE_API_KEY": "k-123"}, "BALLDONTLIE_API_KEY"),
        ({"upstream_url": "https://api.balldontlie.io"}, {}, "upstream_url"),
        ({}, {"SPORTSTATS_UPSTREAM_URL": "https://api.balldontlie.io"}, "upstream_url"),
    ],
)
def test_demo_with_a_key_or_an_upstream_is_a_start_up_error_naming_both(
    cli: dict[str, str], environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(cli={"upstream.demo": True, **cli}, environ=environ)
    message = str(refused.value)
    assert "--demo" in message and named in message and "\n" not in message
    assert "k-123" not in message


def test_the_command_line_refusal_is_one_line() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "sportstats", "--demo"],
        cwd=ROOT,
        env=clean_environment(BALLDONTLIE_API_KEY="k-123"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--demo" in lines[0] and "BALLDONTLIE_API_KEY" in lines[0]


@pytest.fixture
async def demo(aiohttp_client: Any, upstream: aioresponses) -> Any:
    """The real app on the sample league; `upstream` lets only loopback traffic through."""
    return await aiohttp_client(create_app(demo_settings()))


def says_sample(answer: dict[str, Any]) -> None:
    """The answer names the sample as its source (standings: `source` says computed or
    upstream, `from` names the upstream) and its note leads with the caveat."""
    meta = answer["meta"]
    assert NOT_REAL in meta["source"] + meta.get("from", "")
    assert "BALLDONTLIE" not in meta["source"] + meta.get("from", "")
    assert meta["note"].startswith(CAVEAT)


async def test_demo_answers_teams_and_todays_games_saying_they_are_sample_data(
    demo: Any, upstream: aioresponses
) -> None:
    teams = await (await demo.get("/teams")).json()
    assert teams["meta"]["count"] == 30
    assert {row["team"] for row in teams["data"]} >= {"Boston Celtics", "Los Angeles Lakers"}
    says_sample(teams)
    games = await (await demo.get(f"/games?dates={last_game_day()}")).json()
    says_sample(games)
    assert "Final" in {row["status"] for row in games["data"]}
    ready = await (await demo.get("/readyz")).json()
    assert ready["checks"]["upstream"]["source"] == SOURCE
    assert upstream.requests == {}  # nothing left the machine: the sample is on loopback


async def test_demo_meets_the_free_plans_refusals_as_a_new_key_would(demo: Any) -> None:
    """`auto` learns the free plan from the sample's 401s; stats are then refused at no cost."""
    vendor = demo.app[SAMPLE]
    asked = vendor.requests
    response = await demo.get("/stats?player_ids=9100001")
    body = await response.json()
    assert response.status == 403 and body["error"]["code"] == "plan_not_covered", body
    assert "ALL-STAR" in body["error"]["message"]
    assert vendor.requests == asked  # refused here: the sample was not asked
    ready = await (await demo.get("/readyz")).json()
    assert "free" in json.dumps(ready).lower()


async def test_an_mcp_tool_call_says_sample_data(
    aiohttp_server: Any, upstream: aioresponses
) -> None:
    server = await aiohttp_server(create_app(demo_settings()))
    async with Client(str(server.make_url("/mcp"))) as mcp:
        result = await mcp.call_tool("get_teams", {"conference": "West"})
    assert not result.is_error
    text = " ".join(part.text for part in result.content)
    assert "Los Angeles Lakers" in text and CAVEAT in text
    says_sample(result.structured_content)
    assert upstream.requests == {}


def shape(answer: dict[str, Any]) -> tuple[list[str], set[str]]:
    """What a client reads of an answer's form: its columns and its row keys."""
    return answer["columns"], {key for row in answer["data"] for key in row}


SAME_QUESTIONS = [
    ("/teams", "/teams", "teams_all.json"),
    ("/players?query=ash", "/players", "players_page_ASSEMBLED.json"),
    ("/games?dates={day}", "/games", "games_2025-01-05_final_with_quarters.json"),
    ("/stats?player_ids=9100001&seasons=2025", "/stats", "stats_2024-10-22_jaylen_brown.json"),
]


@pytest.mark.parametrize(("question", "route", "recorded"), SAME_QUESTIONS)
async def test_a_question_is_shaped_alike_on_the_sample_and_on_the_recorded_answers(
    aiohttp_client: Any,
    question: str,
    route: str,
    recorded: str,
) -> None:
    question = question.format(day=last_game_day())
    with aioresponses(passthrough=["http://127.0.0.1"]) as mocked:
        sample = await (await aiohttp_client(create_app(demo_settings(**GOAT)))).get(question)
        sample_answer = await sample.json()
        assert sample.status == 200, sample_answer
        mocked.get(upstream_route(route), payload=load_fixture(recorded))
        mocked.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
        real = await (await aiohttp_client(create_app(make_settings()))).get(question)
        real_answer = await real.json()
        assert real.status == 200, real_answer
    assert sample_answer["data"] and real_answer["data"]
    assert shape(sample_answer) == shape(real_answer)
    # The sample's answers carry one note more: the caveat that they are not real.
    assert set(sample_answer["meta"]) - {"note"} == set(real_answer["meta"]) - {"note"}


async def test_season_averages_are_shaped_alike_on_the_sample_and_recorded(
    aiohttp_client: Any,
) -> None:
    question = "/season_averages?player_ids=9100001&season=2025"
    with aioresponses(passthrough=["http://127.0.0.1"]) as mocked:
        sample = await aiohttp_client(create_app(demo_settings(**GOAT)))
        sample_answer = await (await sample.get(question)).json()
        recorded = load_fixture("season_averages_237_2019.json")
        recorded["data"][0].update(player_id=9100001, season=2025)
        names = {"data": [{**load_fixture("player_237.json")["data"], "id": 9100001}], "meta": {}}
        answer_season_averages(mocked, 2025, {9100001: recorded}, names)
        real = await aiohttp_client(create_app(make_settings()))
        real_answer = await (await real.get(question)).json()
    assert sample_answer["data"] and real_answer["data"]
    assert shape(sample_answer) == shape(real_answer)


def readme_first_command() -> list[str]:
    """The first command README's quick start gives, from `python -m sportstats` on (the
    install before it is this checkout's own)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1]
    first = next(line for line in quick_start.splitlines() if line.startswith("    "))
    command = re.split(r"\s*&&\s*", first.strip())[-1]
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "sportstats"], first
    return [sys.executable, *words[1:]]


@pytest.mark.process
async def test_readmes_first_command_shows_the_whole_product_with_no_key() -> None:
    command = readme_first_command()
    assert "--demo" in command and not any("KEY" in word for word in command)
    newcomer = {k: v for k, v in clean_environment().items() if not k.startswith("SPORTSTATS_")}
    server = ServerProcess.sportstats(*command[3:], env=newcomer)  # no setting at all
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/teams") as response:
                teams = await response.json()
            async with http.get(server.url + "/standings?conference=West") as response:
                west = await response.json()
            async with http.get(server.url + "/readyz") as response:
                ready = await response.json()
        async with Client(server.url + "/mcp") as mcp:
            # The free plan's minute is nearly spent by now (learning it, the teams, the
            # standings' ledger): the teams of the West, from the teams already asked.
            called = await mcp.call_tool("get_teams", {"conference": "West"})
    finally:
        await server.stop()
    assert response.status == 200 and ready["checks"]["upstream"]["source"] == SOURCE
    assert teams["meta"]["count"] == 30
    says_sample(teams)
    says_sample(west)  # on the free plan the ledger fills at its budget: rows, or how long
    assert {row["conference"] for row in west["data"]} <= {"West"}
    assert west["meta"]["count"] == 15 or "still loading" in west["meta"]["note"]
    assert not called.is_error, called.content
    assert "Los Angeles Lakers" in {row["team"] for row in called.structured_content["data"]}
    says_sample(called.structured_content)
    assert "plan free (learned)" in next(line for line in server.lines if "listening on" in line)
    start_line = next(line for line in server.lines if "listening on" in line)
    assert NOT_REAL in start_line
    assert "BALLDONTLIE" not in teams["meta"]["source"]  # it never cites the vendor


@pytest.mark.parametrize("plan", ["all-star", "goat"])
async def test_standings_of_the_sample_rank_both_conferences(
    aiohttp_client: Any, plan: str
) -> None:
    """Computed from the sample's games (ALL-STAR) or its own table (GOAT), they agree with the
    league's finished games."""
    demo = await aiohttp_client(create_app(demo_settings(**{"upstream.plan": plan})))
    answer = await (await demo.get("/standings")).json()
    while "still loading" in answer["meta"].get("note", ""):  # at the plan's budget: seconds
        await asyncio.sleep(0.2)
        answer = await (await demo.get("/standings")).json()
    says_sample(answer)
    assert answer["meta"]["source"] == ("upstream" if plan == "goat" else "computed")
    for conference in ("East", "West"):
        rows = [row for row in answer["data"] if row["conference"] == conference]
        assert sorted(row["conference_rank"] for row in rows) == list(range(1, 16))
    league = League.of(league_today())
    finals = [g for g in league.games if g.season == league.season and g.state == "final"]
    if plan != "goat":  # the ledger counts whole days: through yesterday
        finals = [g for g in finals if g.date < league.today]
    assert sum(row["wins"] for row in answer["data"]) == len(finals)


async def test_in_a_shared_redis_the_sample_keeps_its_answers_apart_from_the_vendors(
    aiohttp_client: Any, upstream: aioresponses, redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    settings = demo_settings(redis_url=redis_url, redis_prefix=redis_prefix)
    demo = await aiohttp_client(create_app(settings))
    says_sample(await (await demo.get("/teams")).json())
    conn = aioredis.from_url(redis_url)
    keys = [key.decode() async for key in conn.scan_iter(f"{redis_prefix}*")]
    await conn.aclose()
    data = [key for key in keys if "teams" in key or "budget" in key]
    assert data and all(key.startswith(f"{redis_prefix}sample:") for key in data), keys


# Questions for endpoints that answer nothing useful to an empty one; every other endpoint is
# asked with no parameters.
EVERY_ENDPOINT = {
    "stats": "?player_ids=9100001&seasons=2025",
    "season_averages": "?player_ids=9100001&season=2025",
    "leaders": "?stat=ast&limit=5",
    "box_scores": "?dates=yesterday&sort=-pts&limit=5",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
async def test_every_endpoint_answers_from_the_sample_saying_so(
    aiohttp_client: Any, upstream: aioresponses, endpoint: Any
) -> None:
    demo = await aiohttp_client(create_app(demo_settings(**GOAT)))
    response = await demo.get(endpoint.path + EVERY_ENDPOINT.get(endpoint.name, ""))
    answer = await response.json()
    assert response.status == 200, answer
    says_sample(answer)
    assert upstream.requests == {}


async def test_an_answer_made_from_another_says_sample_data_once(demo: Any) -> None:
    answer = await (await demo.get("/games?team=Celtics&next=3")).json()
    says_sample(answer)
    assert answer["meta"]["note"].count(CAVEAT) == 1
