"""The sample league (`--demo`): deterministic, whole, its numbers adding up, and answering as
the vendor answers: every route of the route table, shaped as the vendor's own OpenAPI
description and its recorded answers, with its key check, plan refusals, cursor paging, array
params, errors and quota."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from sportstats.sample.league import League
from sportstats.sample.server import Plan, SampleVendor
from sportstats.upstream.plans import PLANS
from sportstats.upstream.routes import ROUTES
from tests.conftest import FIXTURES, load_fixture

TODAY = dt.date(2026, 12, 4)  # a Friday in December: six weeks into the season
PATHS = {name: route.path for name, route in ROUTES.items()}
KEY = {"Authorization": "any-key"}
SPEC = yaml.safe_load((FIXTURES / "vendor_nba_openapi.yml").read_text())
# One question per route, as the server (or the vendor's own client) asks it.
QUESTIONS = {
    "teams": "",
    "players": "?search=ash&per_page=5",
    "games": "?dates[]=2026-12-03",
    "stats": "?dates[]=2026-12-03&per_page=5",
    "season_averages": "?season=2025&player_id=9100001",
    "players/active": "?team_ids[]=14",
    "player_injuries": "",
    "leaders": "?stat_type=pts&season=2025",
    "standings": "?season=2026",
    "box_scores": "?date=2026-12-03",
    "box_scores/live": "",
    "season_averages/{category}": "?season=2025&season_type=regular&type=base&player_ids[]=9100001",
    "team_season_averages/{category}": "?season=2025&season_type=regular&type=base",
    "stats/advanced": "?dates[]=2026-12-03&per_page=5",
}


def league(today: dt.date = TODAY) -> League:
    return League(today)


def fingerprint(games: list[Any], lines_of: League) -> str:
    body = [game.vendor() for game in games]
    body += [[line.vendor() for _, lines in lines_of.lines(g.id) for line in lines] for g in games]
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def test_the_league_is_the_same_on_every_build_and_its_past_does_not_move() -> None:
    first, again, tomorrow = league(), league(), league(TODAY + dt.timedelta(days=1))
    assert fingerprint(first.games, first) == fingerprint(again.games, again)
    assert [p.vendor() for p in first.people] == [p.vendor() for p in again.people]
    past = [g for g in first.games if g.date < TODAY]
    same_past = [g for g in tomorrow.games if g.date < TODAY]
    assert fingerprint(past, first) == fingerprint(same_past, tomorrow)


def test_the_previous_season_is_complete_and_the_current_one_played_to_yesterday() -> None:
    sample = league()
    previous = [g for g in sample.games if g.season == 2025]
    assert {g.state for g in previous} == {"final"}
    per_team = Counter(t["id"] for g in previous if not g.postseason for t in (g.home, g.visitor))
    assert len(per_team) == 30 and set(per_team.values()) == {76}
    series: dict[frozenset[int], Counter[int]] = {}
    for game in (g for g in previous if g.postseason):
        won = game.home if game.score("home") > game.score("visitor") else game.visitor
        pair = frozenset((game.home["id"], game.visitor["id"]))
        series.setdefault(pair, Counter())[won["id"]] += 1
    assert len(series) == 8 + 4 + 2 + 1  # four rounds of a 16-team bracket
    assert all(max(wins.values()) == 4 and wins.total() <= 7 for wins in series.values())
    current = [g for g in sample.games if g.season == 2026]
    assert {g.state for g in current if g.date < TODAY} == {"final"}
    assert {g.state for g in current if g.date > TODAY} == {"scheduled"}
    assert {g.state for g in current if g.date == TODAY} == {"final", "live", "scheduled"}
    assert len(sample.people) == 450 and len({p.id for p in sample.people}) == 450


def test_every_team_has_played_about_as_many_games_as_any_other() -> None:
    sample = league()
    played = Counter(
        team["id"]
        for game in sample.games
        if game.season == 2026 and game.state == "final"
        for team in (game.home, game.visitor)
    )
    assert len(played) == 30 and max(played.values()) - min(played.values()) <= 4


def test_every_line_holds_together_and_adds_up_to_its_team_score() -> None:
    sample = league()
    played = [g for g in sample.games if g.state != "scheduled"][::40]
    for game in played:
        for side, (team, lines) in zip(("home", "visitor"), sample.lines(game.id), strict=True):
            assert sum(line.numbers["pts"] for line in lines) == game.score(side)
            for line in lines:
                n = line.numbers
                assert n["pts"] == 2 * (n["fgm"] - n["fg3m"]) + 3 * n["fg3m"] + n["ftm"]
                assert n["fgm"] <= n["fga"] and n["fg3m"] <= n["fg3a"] and n["ftm"] <= n["fta"]
                assert n["reb"] == n["oreb"] + n["dreb"]
            assert team in (game.home, game.visitor)


@pytest.fixture
async def vendor(aiohttp_client: Any) -> Any:
    """The sample league as the vendor, every route served (the top plan), on loopback."""
    sample = SampleVendor(
        PATHS, Plan("GOAT", frozenset(PATHS.values()), 600), clock=lambda: league()
    )
    return await aiohttp_client(sample.app())


def nullable(schema: Any) -> Any:
    """The vendor's spec with every type also allowing null: its recorded answers carry nulls
    (college, draft year, plus-minus) where the spec says nothing of them."""
    if isinstance(schema, dict):
        schema = {key: nullable(value) for key, value in schema.items()}
        if isinstance(schema.get("type"), str) and schema["type"] != "null":
            schema["type"] = [schema["type"], "null"]
        schema.pop("enum", None)  # leaders' stat_type lists 9 of the 19 it accepts
        return schema
    if isinstance(schema, list):
        return [nullable(item) for item in schema]
    return schema


def spec_validator(path: str) -> Draft202012Validator:
    documented = re.sub(r"\{category\}", "{type}", path) if "/season_averages/" in path else path
    paths = SPEC["paths"]
    if documented not in paths:  # the vendor names the placeholder otherwise
        documented = next(
            p for p in paths if re.sub(r"\{\w+\}", "{}", p) == re.sub(r"\{\w+\}", "{}", path)
        )
    pointer = documented.replace("~", "~0").replace("/", "~1")
    root = nullable({"components": SPEC["components"], "paths": SPEC["paths"]})
    ref = f"#/paths/{pointer}/get/responses/200/content/application~1json/schema"
    return Draft202012Validator({**root, "$ref": ref})


@pytest.mark.parametrize("name", list(ROUTES))
async def test_every_route_of_the_table_answers_as_the_vendor_documents_it(
    vendor: Any, name: str
) -> None:
    route = ROUTES[name]
    path = route.path.replace("{category}", "general")
    response = await vendor.get(path + QUESTIONS[name], headers=KEY)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["data"], f"{name} answered nothing to {QUESTIONS[name]!r}"
    errors = sorted(spec_validator(route.path).iter_errors(body), key=str)
    assert not errors, errors[0]
    assert ("meta" in body) == route.paged


def keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, nested."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return keys(value[0]) if value else []
    return None


@pytest.mark.parametrize(
    ("question", "recorded"),
    [
        ("/nba/v1/teams", "teams_all.json"),
        ("/nba/v1/players?search=ash&per_page=4", "players_page_ASSEMBLED.json"),
        ("/nba/v1/stats?dates[]=2026-12-03&per_page=1", "stats_2024-10-22_jaylen_brown.json"),
        ("/nba/v1/season_averages?season=2025&player_id=9100001", "season_averages_237_2019.json"),
    ],
)
async def test_an_answer_has_the_keys_of_the_vendors_recorded_one(
    vendor: Any, question: str, recorded: str
) -> None:
    response = await vendor.get(question, headers=KEY)
    sample = keys(await response.json())
    real = keys(load_fixture(recorded))
    if "meta" in real:  # the recorded page was not the last: it has a next cursor
        assert "next_cursor" in sample["meta"]
    assert sample == real


async def test_a_game_and_a_box_score_have_the_recorded_keys(vendor: Any) -> None:
    games = await (await vendor.get("/nba/v1/games?dates[]=2026-12-03", headers=KEY)).json()
    recorded = load_fixture("game_18448007_2026-04-12.json")["data"]
    assert set(games["data"][0]) >= set(recorded)
    boxes = await (await vendor.get("/nba/v1/box_scores?date=2026-12-03", headers=KEY)).json()
    box, real = boxes["data"][0], load_fixture("box_scores_2024-02-07_PARTIAL.json")["data"][0]
    assert set(box) >= set(real)
    assert set(box["home_team"]) == set(real["home_team"])
    assert set(box["home_team"]["players"][0]) >= set(real["home_team"]["players"][0])


async def test_without_a_key_or_outside_the_plan_it_answers_401_unauthorized(
    aiohttp_client: Any,
) -> None:
    free = next(plan for plan in PLANS if plan.name == "free")
    served = frozenset(route.path for route in free.routes())
    sample = SampleVendor(PATHS, Plan(free.label, served, 600), clock=lambda: league())
    client = await aiohttp_client(sample.app())
    no_key = await client.get("/nba/v1/teams")
    assert (no_key.status, await no_key.text()) == (401, "Unauthorized")
    assert (await client.get("/nba/v1/teams", headers=KEY)).status == 200
    for route in ROUTES.values():
        path = route.path.replace("{category}", "general")
        status = (await client.get(path + QUESTIONS[route.name], headers=KEY)).status
        assert status == (200 if route.path in served else 401), route.name


async def test_the_cursor_walks_every_player_once(vendor: Any) -> None:
    seen: list[int] = []
    cursor: int | None = 0
    pages = 0
    while cursor is not None:
        body = await (
            await vendor.get(f"/nba/v1/players?per_page=100&cursor={cursor}", headers=KEY)
        ).json()
        assert body["meta"]["per_page"] == 100
        seen += [player["id"] for player in body["data"]]
        cursor = body["meta"].get("next_cursor")
        pages += 1
    assert pages == 5 and len(seen) == 450 and seen == sorted(set(seen))


async def test_array_params_are_read_with_brackets_plain_or_percent_encoded(vendor: Any) -> None:
    answers = []
    for query in ("team_ids[]=14&team_ids[]=2", "team_ids%5B%5D=14&team_ids%5B%5D=2"):
        body = await (await vendor.get(f"/nba/v1/players?per_page=100&{query}", headers=KEY)).json()
        answers.append(body["data"])
    assert answers[0] == answers[1]
    assert {player["team"]["id"] for player in answers[0]} == {2, 14} and len(answers[0]) == 30


@pytest.mark.parametrize(
    ("question", "status", "words"),
    [
        ("/nba/v1/standings", 400, "season is required"),
        ("/nba/v1/season_averages?season=2025", 400, "player_id is required"),
        ("/nba/v1/games?seasons[]=next", 400, "seasons must be integers"),
        ("/nba/v1/leaders?stat_type=dunks&season=2025", 400, "stat_type must be one of"),
        ("/nba/v1/box_scores", 400, "date is required"),
        ("/nba/v1/players?per_page=0", 400, "per_page must be at least 1"),
    ],
)
async def test_a_bad_parameter_is_a_400_saying_what_was_wrong(
    vendor: Any, question: str, status: int, words: str
) -> None:
    response = await vendor.get(question, headers=KEY)
    assert response.status == status
    assert words in (await response.json())["error"]


async def test_past_the_plans_minute_it_answers_429(aiohttp_client: Any) -> None:
    sample = SampleVendor(PATHS, Plan("free", frozenset(PATHS.values()), 5), clock=lambda: league())
    client = await aiohttp_client(sample.app())
    statuses = [(await client.get("/nba/v1/teams", headers=KEY)).status for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_route_the_sample_cannot_answer_is_refused_when_it_is_made() -> None:
    odds = {**PATHS, "odds": PATHS["stats/advanced"].replace("stats/advanced", "odds")}
    with pytest.raises(ValueError, match="no answer for odds"):
        SampleVendor(odds, Plan("GOAT", frozenset(odds.values()), 600))


def test_live_games_today_have_box_scores_under_way() -> None:
    sample = league()
    live = [g for g in sample.games if g.state == "live"]
    assert live
    for game in live:
        assert 0 < game.score("home") < 140 and game.status_words != "Final"
        minutes = sum(line.minutes for _, lines in sample.lines(game.id) for line in lines)
        assert 0 < minutes < 2 * 240
