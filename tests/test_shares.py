"""A fair share of the upstream: one tester's greedy questions leave room for the others'."""

from __future__ import annotations

from typing import Any

from sportstats.app import create_app
from tests.conftest import (
    answer_season_averages,
    ask,
    load_fixture,
    make_settings,
    sent,
    upstream_route,
)

ALICE, BOB = "alice-key-0123456789", "bob-key-0123456789ab"
TESTERS = [{"name": "alice", "key": ALICE}, {"name": "bob", "key": BOB}]
AVERAGES = load_fixture("season_averages_237_2019.json")["data"][0]


def as_tester(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_one_testers_greedy_questions_leave_the_others_a_share(
    aiohttp_client: Any, upstream: Any
) -> None:
    settings = make_settings(
        auth={"mode": "user", "keys": TESTERS},
        upstream={"requests_per_minute": 10},  # a share is 5 a minute
    )
    client = await aiohttp_client(create_app(settings))
    players = list(range(1, 13))
    answer_season_averages(
        upstream,
        2019,
        {pid: {"data": [{**AVERAGES, "player_id": pid}]} for pid in players},
        load_fixture("players_page_ASSEMBLED.json"),
    )
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))

    ids = ",".join(map(str, players))
    response = await client.get(
        f"/season_averages?season=2019&player_ids={ids}", headers=as_tester(ALICE)
    )
    greedy = await response.json()
    assert response.status == 200  # answered in part
    refused = [e for e in greedy["meta"]["errors"] if e["code"] == "upstream_share_spent"]
    assert refused and len(greedy["data"]) + len(refused) == len(players)
    assert "share of the upstream" in refused[0]["message"]
    assert len(sent(upstream)) == 5  # her share, no more

    again = await client.get("/teams", headers=as_tester(ALICE))
    body = await again.json()
    assert again.status == 429 and body["error"]["code"] == "upstream_share_spent"
    assert int(again.headers["Retry-After"]) >= 1 and "ask for less" in body["error"]["hint"]
    assert len(sent(upstream)) == 5

    other = await client.get("/teams", headers=as_tester(BOB))
    assert other.status == 200  # the other tester's cold question is answered
    assert len(sent(upstream)) == 6


async def test_a_local_open_server_has_no_shares(make_client: Any, upstream: Any) -> None:
    client = await make_client(upstream={"requests_per_minute": 4})
    upstream.get(
        upstream_route("/players"), payload=load_fixture("players_page_ASSEMBLED.json"), repeat=True
    )
    for name in ("a", "b", "c", "d"):  # the whole budget, for the one local caller
        await ask(client, f"/players?query={name}")
    assert len(sent(upstream)) == 4
