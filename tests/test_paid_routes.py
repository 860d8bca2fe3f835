"""The paid routes answered by name, shaped, cached, in as few upstream calls as the plan
allows, and refused with no call where the plan lacks them."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from sportstats.core.params import current_season
from tests.conftest import ask, error_fields, load_fixture, sent, upstream_route
from tests.mcp_support import connect

GOAT = {"upstream": {"plan": "goat"}}
ALL_STAR = {"upstream": {"plan": "all-star"}}
FREE = {"upstream": {"plan": "free"}}
ADVANCED = re.compile(r"^https://api\.balldontlie\.io/nba/v2/stats/advanced(\?.*)?$")


def paths(upstream: aioresponses) -> list[str]:
    """The upstream paths asked, with their queries, in the order sent."""
    return [f"{url.path}?{url.query_string}" for url in sent(upstream)]


def mock_teams(upstream: aioresponses) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))


async def test_league_leaders_are_one_call_ranked_and_cut_at_limit(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(upstream_route("/leaders"), payload=load_fixture("leaders_ast_2025_SPEC.json"))
    answer = await ask(client, "/leaders?stat=ast&limit=2")
    assert paths(upstream) == [
        f"/nba/v1/leaders?season={current_season()}&season_type=regular&stat_type=ast"
    ]
    assert [(r["rank"], r["player"], r["team"], r["value"]) for r in answer["data"]] == [
        (1, "Tyrese Haliburton", "IND", 10.4),
        (2, "Trae Young", "ATL", 10.1),
    ]
    assert answer["meta"]["truncated"] is True and answer["meta"]["total"] == 4
    again = await ask(client, "/leaders?stat=ast&limit=3")  # another cut of the cached answer
    assert len(again["data"]) == 3 and again["meta"]["upstream_calls"] == 0
    assert len(sent(upstream)) == 1


async def test_leaders_on_a_plan_without_them_are_refused_before_any_call(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**ALL_STAR)
    body = await ask(client, "/leaders?stat=pts", status=403)
    code, words = error_fields(body)
    assert code == "plan_not_covered"
    assert "GOAT" in words and "/season_averages?team=" in words  # what to ask instead
    assert sent(upstream) == []


@pytest.mark.parametrize(
    "path, words",
    [
        ("/leaders?stat=points", "pts, reb, ast"),
        ("/leaders?stat=ast&season_type=preseason", "regular, playoffs"),
        ("/leaders?stat=ast&limit=0", "1 to 100"),
        ("/leaders", "stat"),
        ("/box_scores?live=maybe", "true or false"),
        ("/box_scores", "dates"),
        ("/box_scores?dates=2026-12-03&live=true", "not both"),
        ("/season_averages?team=LAL&player=LeBron James", "not both"),
    ],
)
async def test_bad_questions_on_the_paid_routes_are_400_with_no_call(
    make_client: Any, upstream: aioresponses, path: str, words: str
) -> None:
    client = await make_client(**GOAT)
    body = await ask(client, path, status=400)
    assert words in error_fields(body)[1]
    assert sent(upstream) == []


async def test_injuries_by_team_name_say_when_the_report_was_fetched(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**ALL_STAR)
    mock_teams(upstream)
    upstream.get(
        upstream_route("/player_injuries"), payload=load_fixture("player_injuries_SPEC.json")
    )
    answer = await ask(client, "/injuries?team=76ers")
    assert "/nba/v1/player_injuries?per_page=25&team_ids[]=23" in paths(upstream)
    assert answer["data"][0]["status"] == "Day-To-Day"
    assert answer["data"][1]["return_date"] is None  # no return date: null, not a failure
    assert answer["meta"]["injury_report"] is True
    assert re.search(r"at \d{4}-\d\d-\d\d \d\d:\d\d UTC", answer["meta"]["note"])


async def test_todays_roster_comes_from_the_active_players_route(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**ALL_STAR)
    mock_teams(upstream)
    upstream.get(
        upstream_route("/players/active"), payload=load_fixture("players_active_LAL_SPEC.json")
    )
    answer = await ask(client, "/players?team=Lakers&active=true")
    assert "/nba/v1/players/active?per_page=25&team_ids[]=14" in paths(upstream)
    assert [row["name"] for row in answer["data"]] == [
        "LeBron James",
        "Luka Doncic",
        "Austin Reaves",
    ]
    assert "includes_former_players" not in answer["meta"]


async def test_a_teams_players_without_active_say_former_players_are_among_them(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**FREE)
    mock_teams(upstream)
    upstream.get(upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"))
    answer = await ask(client, "/players?team=Lakers")
    assert answer["meta"]["includes_former_players"] is True
    assert "former players included; active=true" in answer["meta"]["note"]


async def test_todays_roster_on_the_free_plan_is_refused_with_what_it_can_answer(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**FREE)
    mock_teams(upstream)
    body = await ask(client, "/players?team=Lakers&active=true", status=403)
    code, words = error_fields(body)
    assert code == "plan_not_covered" and "ALL-STAR" in words
    assert "former players included" in words
    assert not any("/players" in path for path in paths(upstream))


async def test_a_teams_season_leaders_are_two_calls_on_goat(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    mock_teams(upstream)
    await ask(client, "/teams")  # the teams list, cached as any warm server has it
    upstream.get(
        upstream_route("/players/active"), payload=load_fixture("players_active_LAL_SPEC.json")
    )
    upstream.get(
        upstream_route("/season_averages/general"),
        payload=load_fixture("season_averages_general_base_LAL_SPEC.json"),
    )
    before = len(sent(upstream))
    answer = await ask(client, "/season_averages?team=LAL&season=2025&sort=-pts&limit=2")
    assert len(sent(upstream)) - before == 2 == answer["meta"]["upstream_calls"]
    category = [p for p in paths(upstream) if "/season_averages/general" in p][0]
    assert "type=base" in category and "season_type=regular" in category
    assert category.count("player_ids[]=") == 3  # every player of the roster, one call
    assert [(r["player"], r["pts"]) for r in answer["data"]] == [
        ("Luka Doncic", 33.2),
        ("LeBron James", 24.8),
    ]
    assert (
        answer["meta"]["sorted"] == "all" and "one season-averages call" in answer["meta"]["path"]
    )


async def test_a_teams_season_leaders_on_all_star_fan_out_and_say_so(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**ALL_STAR)
    mock_teams(upstream)
    upstream.get(
        upstream_route("/players/active"), payload=load_fixture("players_active_LAL_SPEC.json")
    )
    for pid, pts in ((237, 24.8), (140, 33.2), (1630559, 20.1)):
        upstream.get(
            re.compile(rf".*/nba/v1/season_averages\?.*player_id={pid}(&.*)?$"),
            payload={"data": [{"player_id": pid, "season": 2025, "games_played": 10, "pts": pts}]},
        )
    answer = await ask(client, "/season_averages?team=LAL&season=2025&sort=-pts&limit=1")
    assert [(r["player"], r["pts"]) for r in answer["data"]] == [("Luka Doncic", 33.2)]
    assert "one season-averages call per player (3)" in answer["meta"]["path"]
    assert not any("/season_averages/general" in path for path in paths(upstream))


async def test_a_days_box_scores_are_one_call_and_every_line_of_both_teams(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(
        upstream_route("/box_scores"), payload=load_fixture("box_scores_2026-12-03_SPEC.json")
    )
    answer = await ask(client, "/box_scores?dates=2026-12-03&sort=-pts&limit=3")
    assert paths(upstream) == ["/nba/v1/box_scores?date=2026-12-03"]
    assert [(r["player"], r["pts"], r["opponent"]) for r in answer["data"]] == [
        ("Joel Embiid", 40, "IND"),
        ("Luka Doncic", 35, "BOS"),
        ("Jayson Tatum", 31, "LAL"),
    ]
    assert answer["meta"]["sorted"] == "all" and answer["meta"]["total"] == 7


async def test_box_scores_of_two_days_are_one_call_a_day_ranked_together(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(
        upstream_route("/box_scores"), payload=load_fixture("box_scores_2026-12-03_SPEC.json")
    )
    upstream.get(
        upstream_route("/box_scores"), payload=load_fixture("box_scores_2024-02-07_PARTIAL.json")
    )
    answer = await ask(client, "/box_scores?dates=2026-12-03,2024-02-07&sort=pts&limit=2")
    assert sorted(paths(upstream)) == [
        "/nba/v1/box_scores?date=2024-02-07",
        "/nba/v1/box_scores?date=2026-12-03",
    ]
    assert [r["player"] for r in answer["data"]] == ["Leaky Black", "Thaddeus Young"]


async def test_live_box_scores_take_the_live_route(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    mock_teams(upstream)
    upstream.get(
        upstream_route("/box_scores/live"), payload=load_fixture("box_scores_live_SPEC.json")
    )
    answer = await ask(client, "/box_scores?live=true&team=BOS")
    assert paths(upstream)[-1] == "/nba/v1/box_scores/live?"
    assert [r["player"] for r in answer["data"]] == ["Jayson Tatum"]
    assert answer["data"][0]["result"] == "3rd Qtr 5:31"


async def test_a_nights_top_scorers_take_the_box_score_route_on_goat(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(
        upstream_route("/box_scores"), payload=load_fixture("box_scores_2026-12-03_SPEC.json")
    )
    answer = await ask(client, "/stats?dates=2026-12-03&sort=-pts&limit=2")
    assert paths(upstream) == ["/nba/v1/box_scores?date=2026-12-03"]
    assert [r["player"] for r in answer["data"]] == ["Joel Embiid", "Luka Doncic"]
    assert answer["meta"]["sorted"] == "all"


async def test_a_nights_lines_page_through_stats_on_all_star(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**ALL_STAR)
    mock_teams(upstream)
    upstream.get(upstream_route("/stats"), payload=load_fixture("stats_2015-04-05_page.json"))
    await ask(client, "/stats?dates=2015-04-05&sort=-pts&limit=2")
    assert any(path.startswith("/nba/v1/stats?") for path in paths(upstream))
    assert not any("box_scores" in path for path in paths(upstream))


async def test_advanced_stats_take_the_v2_route_with_the_stats_filters(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(ADVANCED, payload=load_fixture("stats_advanced_2026-12-03_SPEC.json"))
    answer = await ask(client, "/advanced_stats?game_ids=18447201&sort=-pie&limit=100")
    assert paths(upstream) == ["/nba/v2/stats/advanced?game_ids[]=18447201&per_page=100"]
    assert [r["player"] for r in answer["data"]] == ["Jayson Tatum", "Luka Doncic", "LeBron James"]


@pytest.mark.parametrize(
    "path", ["/leaders?stat=ast", "/box_scores?dates=2026-12-03", "/advanced_stats?game_ids=1"]
)
async def test_goat_routes_on_all_star_are_refused_with_no_call(
    make_client: Any, upstream: aioresponses, path: str
) -> None:
    client = await make_client(**ALL_STAR)
    body = await ask(client, path, status=403)
    assert error_fields(body)[0] == "plan_not_covered"
    assert sent(upstream) == []


async def test_the_same_questions_through_mcp_answer_by_name_and_refuse_in_the_same_words(
    serve: Any, upstream: aioresponses, mode: str
) -> None:
    goat = await serve(**GOAT)
    upstream.get(upstream_route("/leaders"), payload=load_fixture("leaders_ast_2025_SPEC.json"))
    upstream.get(
        upstream_route("/box_scores"), payload=load_fixture("box_scores_2026-12-03_SPEC.json")
    )
    async with connect(goat, mode) as client:
        offered = [tool.name for tool in (await client.list_tools()).tools]
        leaders = await client.call_tool("get_leaders", {"stat": "ast", "limit": 1})
        night = await client.call_tool(
            "get_box_scores", {"dates": ["2026-12-03"], "sort": "-pts", "limit": 1}
        )
    assert {"get_leaders", "get_injuries", "get_box_scores", "get_advanced_stats"} <= set(offered)
    assert leaders.is_error is False
    assert leaders.structured_content["data"][0]["player"] == "Tyrese Haliburton"
    assert night.structured_content["data"][0]["player"] == "Joel Embiid"
    assert "| Joel Embiid |" in night.content[0].text  # the markdown table a model reads

    all_star = await serve(**ALL_STAR)
    before = len(sent(upstream))
    async with connect(all_star, mode) as client:
        offered = [tool.name for tool in (await client.list_tools()).tools]
        refused = await client.call_tool("get_leaders", {"stat": "ast"})
    assert "get_leaders" not in offered and "get_injuries" in offered
    assert refused.is_error is True
    words = refused.content[0].text
    assert "plan_not_covered" in words and "GOAT" in words and "/season_averages?team=" in words
    assert len(sent(upstream)) == before  # refused with no upstream call


async def test_several_players_averages_are_one_call_on_goat_and_answer_if_names_fail(
    make_client: Any, upstream: aioresponses
) -> None:
    client = await make_client(**GOAT)
    upstream.get(
        upstream_route("/season_averages/general"),
        payload=load_fixture("season_averages_general_base_LAL_SPEC.json"),
    )
    upstream.get(upstream_route("/players"), status=500, repeat=True)  # names cannot be had
    answer = await ask(client, "/season_averages?player_ids=237,140,1630559&season=2025")
    category = [p for p in paths(upstream) if "/season_averages" in p]
    assert len(category) == 1 and category[0].startswith("/nba/v1/season_averages/general?")
    assert "one season-averages call for 3 players" in answer["meta"]["path"]
    assert answer["meta"]["names_unavailable"] is True
    assert {row["player_id"] for row in answer["data"]} == {237, 140, 1630559}
    assert [row["player"] for row in answer["data"] if row["player_id"] == 140] == ["Luka Doncic"]


async def test_a_routes_trial_ends_with_its_first_answer_and_the_callers_behind_it_go_together(
    make_client: Any, upstream: aioresponses
) -> None:
    """A route not yet answered is tried by one caller at a time (a refused route then costs
    one call); once it answers, the callers that queued behind it are asked at once."""
    client = await make_client(**GOAT)
    asking, most = 0, 0

    async def slowly(url: Any, **_: Any) -> CallbackResult:
        nonlocal asking, most
        asking += 1
        most = max(most, asking)
        await asyncio.sleep(0.05)
        asking -= 1
        return CallbackResult(payload=load_fixture("leaders_ast_2025_SPEC.json"))

    upstream.get(upstream_route("/leaders"), callback=slowly, repeat=True)
    stats = ("ast", "pts", "reb", "stl")  # four questions, four upstream calls
    answers = await asyncio.gather(*(client.get(f"/leaders?stat={s}") for s in stats))
    assert [response.status for response in answers] == [200] * 4
    assert len(sent(upstream)) == 4
    assert most == 3  # the first alone, then the three that waited, together
