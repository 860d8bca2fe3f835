"""Players by name: a full name is resolved through the players question (cached), an
ambiguous one lists every candidate, an unknown one the closest names; ids pass as they are."""

from __future__ import annotations

from typing import Any

from tests.conftest import (
    answer_season_averages,
    ask,
    averages_url,
    load_fixture,
    sent,
    upstream_route,
    upstream_url,
)

LEBRON = load_fixture("player_237.json")["data"]
AVERAGES = load_fixture("season_averages_237_2019.json")


def people(*who: tuple[int, str, str]) -> dict[str, Any]:
    """A /players page of (id, first name, last name), shaped like the recordings."""
    return {
        "data": [{**LEBRON, "id": i, "first_name": f, "last_name": last} for i, f, last in who],
        "meta": {"per_page": 100},
    }


def named(first: str, last: str) -> Any:
    pairs = [("first_name", first), ("last_name", last), ("per_page", "100")]
    return upstream_url("/players", pairs)


async def test_season_averages_by_name_cost_one_cached_players_question(
    client: Any, upstream: Any
) -> None:
    upstream.get(named("LeBron", "James"), payload=people((237, "LeBron", "James")))
    answer_season_averages(upstream, 2019, {237: AVERAGES}, people((237, "LeBron", "James")))

    first = await ask(client, "/season_averages?season=2019&player=LeBron James")
    again = await ask(client, "/season_averages?season=2019&player=LeBron James")

    assert [row["player_id"] for row in first["data"]] == [237]
    assert first["meta"]["query"]["player_ids"] == [237]
    assert again["meta"]["cache"] == "hit"
    assert sent(upstream).count(named("LeBron", "James")) == 1
    assert averages_url(2019, 237) in sent(upstream)


async def test_names_and_ids_mix_and_one_name_resolves_among_partial_matches(
    client: Any, upstream: Any
) -> None:
    # The upstream's name filters match name parts: "Anthony Davis" may bring others too.
    found = people((666786, "Anthony", "Davis"), (12, "Anthony", "Davison"))
    upstream.get(named("Anthony", "Davis"), payload=found)
    upstream.get(upstream_route("/stats"), payload={"data": [], "meta": {}})

    answer = await ask(client, "/stats?player=Anthony Davis&player=115&seasons=2024")

    assert answer["meta"]["query"]["player_ids"] == [115, 666786]


async def test_a_name_two_players_share_lists_both_with_team_and_id(
    client: Any, upstream: Any
) -> None:
    upstream.get(
        named("Jalen", "Williams"),
        payload=people((1, "Jalen", "Williams"), (2, "Jalen", "Williams")),
    )

    body = await ask(client, "/season_averages?player=Jalen Williams", status=400)

    assert body["error"]["code"] == "ambiguous_player"
    assert "player_id 1" in body["error"]["message"] and "player_id 2" in body["error"]["message"]
    assert "player_ids=1" in body["error"]["hint"]
    assert not [url for url in sent(upstream) if url.path.endswith("/season_averages")]


async def test_an_unknown_name_is_refused_with_the_closest_names(
    client: Any, upstream: Any
) -> None:
    upstream.get(named("Lebron", "Jamez"), payload=people())
    upstream.get(
        upstream_url("/players", [("search", "Jamez"), ("per_page", "100")]),
        payload=people((237, "LeBron", "James")),
    )

    body = await ask(client, "/stats?player=Lebron Jamez", status=400)

    assert body["error"]["code"] == "unknown_player"
    assert (
        "LeBron James" in body["error"]["message"] and "player_id 237" in body["error"]["message"]
    )
    assert not [url for url in sent(upstream) if url.path.endswith("/stats")]


async def test_season_averages_need_player_ids_or_player(client: Any, upstream: Any) -> None:
    body = await ask(client, "/season_averages?season=2019", status=400)
    assert body["error"]["code"] == "missing_parameter"
    assert "player" in body["error"]["message"]
    assert sent(upstream) == []


async def test_a_player_given_as_an_impossible_id_is_refused_before_any_upstream_call(
    client: Any, upstream: Any
) -> None:
    for given in ("0", "000", "9999999999999999"):
        body = await ask(client, f"/stats?player={given}", status=400)
        assert body["error"]["code"] == "invalid_parameter", given
        assert "ids from 1" in body["error"]["hint"]
    assert sent(upstream) == []
