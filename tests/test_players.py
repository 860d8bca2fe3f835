"""Players by name: a full name is resolved through the players question (cached), an
ambiguous one lists every candidate, an unknown one the closest names; ids pass as they are."""

from __future__ import annotations

from typing import Any

from sportstats.core.players import closest
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


# --- the closest real names, from the recorded players -----------------------------------------

RECORDED = load_fixture("players_page_ASSEMBLED.json")["data"]  # Brown, James, Black, Young
NOBODY = load_fixture("players_empty_search.json")


def found_by(search: str) -> dict[str, Any]:
    """What the upstream's `search` answers: the recorded players with a name part that
    contains it (it matches first or last name), as one page."""
    hits = [
        p
        for p in RECORDED
        if search.lower() in p["first_name"].lower() or search.lower() in p["last_name"].lower()
    ]
    return {"data": hits, "meta": {"per_page": 100}} if hits else NOBODY


def answer_searches(upstream: Any, *searches: str) -> None:
    for search in searches:
        pairs = [("search", search), ("per_page", "100")]
        upstream.get(upstream_url("/players", pairs), payload=found_by(search))


async def test_a_misspelled_last_name_finds_the_player_by_each_part_and_its_first_letters(
    client: Any, upstream: Any
) -> None:
    upstream.get(named("Jaylen", "Browne"), payload=NOBODY)
    answer_searches(upstream, "Jaylen", "Browne", "Brow")
    body = await ask(client, "/stats?player=Jaylen Browne", status=400)
    assert body["error"]["code"] == "unknown_player"
    message = body["error"]["message"]
    assert message.startswith("No player is named 'Jaylen Browne'. Closest: Jaylen Brown (")
    assert "player_id 70" in message and "LeBron" not in message
    assert len(sent(upstream)) == 4  # the name, its two parts, the first letters of "Browne"


async def test_both_parts_misspelled_are_found_by_their_first_letters(
    client: Any, upstream: Any
) -> None:
    upstream.get(named("Thadeus", "Yungg"), payload=NOBODY)
    answer_searches(upstream, "Thadeus", "Yungg", "Thad", "Yung")
    body = await ask(client, "/season_averages?player=Thadeus Yungg", status=400)
    assert "Closest: Thaddeus Young (" in body["error"]["message"]
    assert len(sent(upstream)) == 5  # the name, its two parts, their first letters: the bound
    assert not [url for url in sent(upstream) if url.path.endswith("/season_averages")]


async def test_suggestions_stay_within_the_bound_and_say_so_when_none_is_close(
    client: Any, upstream: Any
) -> None:
    many = "Qa Qb Qc Qd Qe Qf"
    upstream.get(named("Qa", "Qb Qc Qd Qe Qf"), payload=NOBODY)
    upstream.get(upstream_route("/players"), payload=NOBODY, repeat=True)
    body = await ask(client, f"/stats?player={many}", status=400)
    assert "Closest: none close." in body["error"]["message"]
    assert len(sent(upstream)) == 1 + 4


async def test_a_failing_suggestion_lookup_leaves_the_answer_a_400(
    client: Any, upstream: Any
) -> None:
    upstream.get(named("Jaylen", "Browne"), payload=NOBODY)
    upstream.get(upstream_route("/players"), status=500, repeat=True)
    body = await ask(client, "/stats?player=Jaylen Browne", status=400)
    assert body["error"]["code"] == "unknown_player"
    assert "Closest: none close." in body["error"]["message"]


def test_the_issues_trae_townz_ranks_both_players_it_could_mean_above_the_rest() -> None:
    rows = [
        {"player_id": i, "name": name, "team": "X"}
        for i, name in enumerate(["Tyus Jones", "Karl-Anthony Towns", "Trae Young"], 1)
    ]
    assert [row["name"] for row in closest("Trae Townz", rows)] == [
        "Trae Young",
        "Karl-Anthony Towns",
    ]
