"""The upstream plan: each plan's declaration against a fake that refuses what the plan lacks,
`auto` learning the plan and what it lacks, a bad key told apart, refusals at no cost, budgets."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from sportstats.settings import SettingsError, load_settings
from sportstats.settings.options import PLAN_CHOICES, UpstreamSettings
from sportstats.upstream.coverage import Coverage
from sportstats.upstream.plan_memory import PlanMemory
from sportstats.upstream.plans import CHOICES, PLANS
from sportstats.upstream.routes import ROUTES
from sportstats.web.keys import UPSTREAM
from tests.server_process import ROOT, clean_environment

BUDGETS = {plan.name: plan.requests_per_minute for plan in PLANS}
PAID = ["get_stats", "get_season_averages"]
GOAT_ONLY = ["get_leaders", "get_injuries", "get_box_scores", "get_advanced_stats"]
OFFERED = {  # standings are answered from finished games on every plan
    "free": ["get_players", "get_teams", "get_games", "get_standings"],
    "all-star": ["get_players", "get_teams", "get_games", *PAID, "get_standings", "get_injuries"],
    "goat": ["get_players", "get_teams", "get_games", *PAID, "get_standings", *GOAT_ONLY],
}


def test_the_options_allow_the_declared_plans_and_say_their_budgets() -> None:
    assert PLAN_CHOICES == CHOICES  # the settings know no plans: they keep a copy, checked here

    shown = UpstreamSettings.model_fields["requests_per_minute"].json_schema_extra["shown"]
    for plan in PLANS:
        assert f"{plan.name} {plan.requests_per_minute}" in shown


@pytest.mark.parametrize(
    ("upstream", "named"),
    [
        ({"plan": "platinum"}, "upstream.plan must be one of auto, free, all-star, goat"),
        ({"plan": "GOAT "}, "upstream.plan must be one of auto, free, all-star, goat"),
        ({"requests_per_minute": 0}, "upstream.requests_per_minute must be at least 1"),
        ({"requests_per_minute": -5}, "upstream.requests_per_minute must be at least 1"),
        ({"plan_memory_s": 0}, "upstream.plan_memory_s must be above 0, got 0"),
    ],
)
def test_an_unknown_plan_or_a_budget_below_one_is_a_one_line_start_up_error(
    upstream: dict[str, Any], named: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(cli={"upstream": upstream}, environ={"BALLDONTLIE_API_KEY": "k"})
    message = str(caught.value)
    assert named in message and "\n" not in message


@pytest.mark.process
def test_the_server_refuses_to_start_on_an_unknown_plan_and_names_the_allowed_ones() -> None:
    env = clean_environment(BALLDONTLIE_API_KEY="k", SPORTSTATS_UPSTREAM__PLAN="platinum")
    done = subprocess.run(
        [sys.executable, "-m", "sportstats"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    [line] = done.stderr.decode().splitlines()
    allowed = "must be one of auto, free, all-star, goat, got 'platinum'"
    assert f"SPORTSTATS_UPSTREAM__PLAN {allowed}" in line


@pytest.mark.parametrize("plan", ["free", "all-star", "goat"])
async def test_each_plan_asks_what_it_serves_refuses_the_rest_unasked_and_has_its_budget(
    gated_upstream: Any, app_against: Any, plan: str
) -> None:
    server, gate = await gated_upstream(plan)
    client = await app_against(server, upstream={"plan": plan})
    assert client.app[UPSTREAM].budget.requests_per_minute == BUDGETS[plan]

    assert (await client.get("/teams")).status == 200
    stats = await client.get("/stats?player_ids=237")
    if plan == "free":
        assert stats.status == 403
        body = await stats.json()
        assert body["error"]["code"] == "plan_not_covered"
        assert "Retry-After" not in stats.headers
    else:
        assert stats.status == 200
    assert gate.refused() == 0  # nothing was asked only to be refused
    ready = await (await client.get("/readyz")).json()
    assert ready["plan"]["plan"] == plan and ready["plan"]["source"] == "set"
    assert ready["plan"]["tools"] == OFFERED[plan]


async def test_a_refusal_names_the_plan_that_serves_it_and_what_can_be_asked_instead(
    gated_upstream: Any, app_against: Any
) -> None:
    server, _ = await gated_upstream("free")
    client = await app_against(server, upstream={"plan": "free"})
    for asked in ("/stats?player_ids=237", "/season_averages?player_ids=237&season=2019"):
        response = await client.get(asked)
        assert response.status == 403  # never 429, 502 or "try again in 60 s"
        error = (await response.json())["error"]
        assert error["code"] == "plan_not_covered"
        assert "the free plan this server's key has does not include" in error["message"]
        assert "the ALL-STAR plan (or a higher one) serves it" in error["message"]
        assert "On this plan this server answers /players, /teams, /games" in error["hint"]
        assert "get_players, get_teams, get_games" in error["hint"]
        assert "seconds" not in error["hint"] and "minute" not in error["hint"]


@pytest.mark.parametrize(("plan", "probes"), [("free", 2), ("all-star", 3), ("goat", 3)])
async def test_auto_learns_each_plan_in_at_most_three_calls_at_start_up(
    gated_upstream: Any, app_against: Any, plan: str, probes: int, caplog: pytest.LogCaptureFixture
) -> None:
    server, gate = await gated_upstream(plan)
    with caplog.at_level(logging.INFO, logger="sportstats.upstream.coverage"):
        client = await app_against(server)
    upstream = client.app[UPSTREAM]
    assert len(gate.arrivals) == probes == upstream.learning.probes_sent
    assert upstream.coverage.plan.name == plan and upstream.coverage.source == "learned"
    assert upstream.budget.requests_per_minute == BUDGETS[plan]
    assert f"upstream plan learned: {upstream.coverage.plan.label}" in caplog.text
    ready = await (await client.get("/readyz")).json()
    assert ready["plan"]["source"] == "learned" and ready["plan"]["tools"] == OFFERED[plan]
    metrics = await (await client.get("/metrics")).text()
    assert f'sportstats_upstream_plan{{plan="{plan}",source="learned"}} 1.0' in metrics
    assert f"sportstats_upstream_budget_per_minute {BUDGETS[plan]}.0" in metrics


class Unreachable:
    """An upstream that is not there (the discard port): no probe gets an answer."""

    @staticmethod
    def make_url(path: str) -> str:
        return f"http://127.0.0.1:9{path}"


async def test_auto_budgets_as_the_free_plan_until_it_knows(app_against: Any) -> None:
    client = await app_against(Unreachable(), upstream={"max_attempts": 1})
    upstream = client.app[UPSTREAM]
    assert upstream.coverage.source == "unknown"
    assert upstream.budget.requests_per_minute == BUDGETS["free"]
    ready = await (await client.get("/readyz")).json()
    assert ready["plan"]["plan"] is None and ready["plan"]["requests_per_minute"] == 5


async def test_a_bad_key_is_told_apart_from_a_missing_plan(
    gated_upstream: Any, app_against: Any
) -> None:
    server, gate = await gated_upstream("goat")
    client = await app_against(server, key="not-the-key")
    assert len(gate.arrivals) == 1  # refused on what every plan serves: no more probes
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503 and body["checks"]["upstream"]["error"] == "upstream_key_rejected"
    assert body["plan"]["key"] == "rejected"
    answer = await client.get("/players?query=curry")
    assert answer.status == 503  # not 502, not a plan refusal
    error = (await answer.json())["error"]
    assert error["code"] == "upstream_key_rejected" and "BALLDONTLIE_API_KEY" in error["hint"]
    assert len(gate.arrivals) == 1  # known: asked again only after a while


async def test_auto_learns_a_route_refused_while_the_key_works_and_remembers_it(
    gated_upstream: Any, app_against: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server, gate = await gated_upstream("all-star")
    client = await app_against(server)
    gate.plan = "free"  # the vendor moves stats to a dearer plan: the key now lacks it
    first = await client.get("/stats?player_ids=237")
    assert first.status == 403 and (await first.json())["error"]["code"] == "plan_not_covered"
    for asked in ("/stats?player_ids=237", "/stats?player_ids=115&seasons=2024"):
        assert (await client.get(asked)).status == 403
    assert gate.answered["stats 401"] == 1  # learned once, no call spent on it again
    assert "not in the ALL-STAR plan this server's key has" in caplog.text
    ready = await (await client.get("/readyz")).json()
    assert ready["plan"]["refused_routes"] == ["stats"]
    assert "get_stats" not in ready["plan"]["tools"]


async def test_a_refused_route_is_asked_again_after_the_remembered_time_and_relearned(
    gated_upstream: Any, app_against: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server, gate = await gated_upstream("free")
    client = await app_against(server, upstream={"plan": "goat", "plan_memory_s": 0.3})
    assert (await client.get("/teams")).status == 200
    assert (await client.get("/stats?player_ids=237")).status == 403
    gate.plan = "goat"  # the key was upgraded
    assert (await client.get("/stats?player_ids=237")).status == 403  # still remembered
    await asyncio.sleep(0.4)
    assert (await client.get("/stats?player_ids=237")).status == 200
    assert gate.answered["stats 401"] == 1 and gate.answered["stats 200"] == 1
    assert "the upstream answered stats, refused before: the key's plan changed" in caplog.text


async def test_sighup_forgets_what_auto_learned_and_it_is_learned_again(
    gated_upstream: Any, app_against: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server, gate = await gated_upstream("free")
    client = await app_against(server, upstream={"requests_per_minute": 100})
    coverage = client.app[UPSTREAM].coverage
    assert coverage.plan.name == "free" and len(gate.arrivals) == 2
    gate.plan = "all-star"  # upgraded: the operator says so with a SIGHUP
    with caplog.at_level(logging.INFO):
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if coverage.plan is None:
                break
    assert coverage.plan is None and "forgot the learned upstream plan (free)" in caplog.text
    assert (await client.get("/teams")).status == 200  # a question starts the learning again
    relearning = client.app[UPSTREAM].learning.ensure()
    if relearning is not None:
        await relearning
    assert coverage.plan is not None and coverage.plan.name == "all-star"
    assert (await client.get("/stats?player_ids=237")).status == 200


@pytest.mark.parametrize("plan", ["free", "all-star", "goat"])
async def test_a_burst_never_takes_the_upstream_past_the_plans_budget(
    gated_upstream: Any, app_against: Any, plan: str
) -> None:
    budget = BUDGETS[plan]
    server, gate = await gated_upstream(plan, per_minute=budget)
    client = await app_against(server, upstream={"plan": plan, "budget_wait_s": 0})
    asked = [client.get(f"/players?query=p{n}") for n in range(budget + 5)]
    answers = await asyncio.gather(*asked)
    statuses = [answer.status for answer in answers]
    assert statuses.count(200) == budget and statuses.count(429) == 5
    codes = {(await a.json())["error"]["code"] for a in answers if a.status == 429}
    assert codes == {"upstream_quota_spent"}  # our own guard, never the upstream's 429
    assert gate.most_in_any_window() == budget and gate.refused(429) == 0


async def test_concurrent_questions_on_a_route_outside_the_plan_spend_one_call(
    gated_upstream: Any, app_against: Any
) -> None:
    server, gate = await gated_upstream("all-star", lacks=frozenset({"season_averages"}))
    client = await app_against(server)
    asked = [f"/season_averages?player_ids=237,115,{n}&season=2019" for n in (1, 2, 3)]
    answers = await asyncio.gather(*(client.get(path) for path in asked))
    assert [answer.status for answer in answers] == [403] * 3
    assert gate.answered["season_averages 401"] == 1


async def test_a_cheaper_way_is_taken_only_once_the_plan_is_known_to_serve_it() -> None:
    """Before `auto` knows the plan, a route may be asked (the upstream decides), but a cheaper
    way to an answer (a night from its box scores) is not guessed at: a 401 there would refuse
    a question the plan can answer the ordinary way."""
    box_scores = ROUTES["box_scores"]
    learning = Coverage("auto", PlanMemory(), 3600)
    assert learning.covers(box_scores) and not learning.known_to_serve(box_scores)
    assert Coverage("goat", PlanMemory(), 3600).known_to_serve(box_scores)
    assert not Coverage("all-star", PlanMemory(), 3600).known_to_serve(box_scores)
