"""`sort`: the whole answer when it is complete (then `limit` keeps its first rows), else the
page, said in `meta.sorted`; an unknown column is refused with the sortable ones."""

from __future__ import annotations

from typing import Any

from tests.conftest import (
    answer_season_averages,
    ask,
    load_fixture,
    sent,
    upstream_route,
    upstream_url,
)

BOX_SCORE = load_fixture("stats_game_1037684_2023-11-05_DET_vs_GSW.json")  # 21 rows, one page


async def test_the_top_scorers_of_a_game_are_sort_and_limit_of_the_whole_box_score(
    client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/stats"), payload=BOX_SCORE)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    every_points = sorted(
        (s["pts"] for s in BOX_SCORE["data"] if s["pts"] is not None), reverse=True
    )

    top = await ask(client, "/stats?game_ids=1037684&sort=-pts&limit=5")
    fewest = await ask(client, "/stats?game_ids=1037684&sort=pts")

    assert [row["pts"] for row in top["data"]] == every_points[:5]
    assert top["meta"]["sorted"] == "all" and top["meta"]["total"] == 21
    points = [row["pts"] for row in fewest["data"] if row["pts"] is not None]
    assert points == sorted(points) and len(fewest["data"]) == 21
    assert sent(upstream) == [  # one wide page serves every order and limit
        upstream_url("/stats", [("game_ids[]", "1037684"), ("per_page", "100")]),
        upstream_url("/teams"),  # the opponents' names, once a day
    ]


async def test_a_team_and_a_sort_together_give_its_top_scorer(client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    upstream.get(upstream_route("/stats"), payload=BOX_SCORE)
    warriors = [s for s in BOX_SCORE["data"] if s["team"]["abbreviation"] == "GSW"]
    best = max(warriors, key=lambda s: s["pts"] or -1)

    top = await ask(client, "/stats?game_ids=1037684&team=Warriors&sort=-pts&limit=1")

    assert [(row["player_id"], row["pts"]) for row in top["data"]] == [
        (best["player"]["id"], best["pts"])
    ]


async def test_an_incomplete_answer_is_sorted_within_its_page_and_says_so(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(upstream={"sort_max_pages": 1})  # one page may be read
    page = {**BOX_SCORE, "meta": {"next_cursor": 555, "per_page": 100}}
    upstream.get(upstream_route("/stats"), payload=page)

    answer = await ask(client, "/stats?seasons=2023&sort=-reb")

    assert answer["meta"]["sorted"] == "page" and answer["meta"]["next_cursor"] == 555
    assert "only" in answer["meta"]["note"]
    rebounds = [row["reb"] for row in answer["data"] if row["reb"] is not None]
    assert rebounds == sorted(rebounds, reverse=True)


async def test_rows_without_a_value_go_last_in_either_direction(client: Any, upstream: Any) -> None:
    did_not_play = load_fixture("stats_dnp_all_null.json")["data"]  # every stat null
    mixed = {"data": did_not_play + BOX_SCORE["data"], "meta": {"per_page": 100}}
    upstream.get(upstream_route("/stats"), payload=mixed)
    for order in ("pts", "-pts"):
        answer = await ask(client, f"/stats?dates=2024-01-05&sort={order}")
        values = [row["pts"] for row in answer["data"]]
        nulls = values.count(None)
        assert nulls >= len(did_not_play) and values[len(values) - nulls :] == [None] * nulls
        assert None not in values[: len(values) - nulls]


async def test_season_averages_sort_after_merging_and_share_each_players_call(
    client: Any, upstream: Any
) -> None:
    averages = load_fixture("season_averages_237_2019.json")
    low = {"data": [{**averages["data"][0], "player_id": 115, "pts": 1.5}]}
    names = {"data": [], "meta": {}}
    answer_season_averages(upstream, 2019, {237: averages, 115: low}, names)

    ranked = await ask(client, "/season_averages?season=2019&player_ids=115,237&sort=-pts")
    again = await ask(client, "/season_averages?season=2019&player_ids=115,237&sort=pts")

    assert [row["player_id"] for row in ranked["data"]] == [237, 115]
    assert [row["player_id"] for row in again["data"]] == [115, 237]
    averages_calls = [url for url in sent(upstream) if url.path.endswith("/season_averages")]
    assert len(averages_calls) == 2  # one per player, whatever the order asked


async def test_an_unknown_sort_column_is_refused_with_the_sortable_ones(
    client: Any, upstream: Any
) -> None:
    body = await ask(client, "/stats?game_ids=1&sort=-nonsense", status=400)
    assert body["error"]["code"] == "invalid_parameter"
    assert "pts" in body["error"]["hint"] and "plus_minus" in body["error"]["hint"]
    body = await ask(client, "/players?sort=pts", status=400)  # players have no points
    assert "name" in body["error"]["hint"]
    assert sent(upstream) == []
