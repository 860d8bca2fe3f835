"""Flat rows for markdown tables, shaped from the recorded upstream answers and their quirks."""

from __future__ import annotations

from typing import Any

import pytest

from sportstats.core import tables
from sportstats.core.endpoints import ENDPOINTS
from tests.conftest import ask, load_fixture, sent, upstream_route

SCALARS = (str, int, float, bool, type(None))


def assert_flat_table(answer: dict[str, Any], columns: tuple[str, ...]) -> None:
    """Every row has exactly the keys of `columns`, in that order, and only scalar values."""
    assert answer["columns"] == list(columns)
    for row in answer["data"]:
        assert list(row) == answer["columns"]
        assert all(isinstance(value, SCALARS) for value in row.values()), row


async def shaped(client: Any, upstream: Any, path: str, fixture: str) -> dict[str, Any]:
    upstream.get(upstream_route(path.split("?")[0]), payload=load_fixture(fixture))
    if path.startswith("/stats"):  # the opponents are named from the teams list
        upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


def by_id(answer: dict[str, Any], column: str) -> dict[Any, dict[str, Any]]:
    return {row[column]: row for row in answer["data"]}


@pytest.mark.parametrize(
    ("path", "fixture"),
    [
        ("/teams", "teams_all.json"),
        ("/teams?conference=East", "teams_conference_East_DERIVED.json"),
        ("/players", "players_page_ASSEMBLED.json"),
        ("/games", "games_2023-24_mixed_page.json"),
        ("/games", "games_2025-01-05_final_with_quarters.json"),
        ("/games", "games_2024-10-22_TRUNCATED_as_recorded.json"),
        ("/stats", "stats_2015-04-05_page.json"),
        ("/stats", "stats_dnp_all_null.json"),
        ("/stats", "stats_2024-10-22_jaylen_brown.json"),
        ("/stats", "stats_game_1037684_2023-11-05_DET_vs_GSW.json"),
    ],
)
async def test_every_recorded_answer_becomes_flat_rows_with_exactly_the_columns(
    client: Any, upstream: Any, path: str, fixture: str
) -> None:
    answer = await shaped(client, upstream, path, fixture)
    endpoint = next(e for e in ENDPOINTS if e.path == path.split("?")[0])
    assert answer["data"]
    assert_flat_table(answer, endpoint.table.columns)


@pytest.mark.parametrize(
    ("table", "first_columns", "ids"),
    [
        (tables.TEAMS, ("team", "abbreviation", "conference", "division"), ("team_id",)),
        (
            tables.PLAYERS,
            ("name", "position", "team", "height", "weight"),
            ("player_id", "team_id"),
        ),
        (
            tables.GAMES,
            ("date", "home_team", "home_score", "visitor_team", "visitor_score", "status"),
            ("game_id", "home_team_id", "visitor_team_id"),
        ),
        (
            tables.STATS,
            ("date", "player", "team", "opponent", "home_away", "result", "min", "pts", "reb"),
            ("player_id", "team_id", "game_id", "opponent_id"),
        ),
        (
            tables.SEASON_AVERAGES,
            ("player", "season", "games_played", "min", "pts", "reb", "ast", "stl", "blk"),
            ("player_id",),
        ),
    ],
)
def test_columns_read_names_first_and_keep_the_ids_for_chaining(
    table: tables.Table, first_columns: tuple[str, ...], ids: tuple[str, ...]
) -> None:
    assert table.columns[: len(first_columns)] == first_columns
    assert set(ids) <= set(table.columns)


async def test_defunct_teams_with_a_blank_conference_are_left_out(
    client: Any, upstream: Any
) -> None:
    answer = await shaped(client, upstream, "/teams", "teams_all.json")
    assert sorted(by_id(answer, "team_id")) == list(range(1, 31))
    assert answer["meta"]["count"] == 30
    assert answer["meta"]["defunct_teams_left_out"] == 15
    assert "defunct" in answer["meta"]["note"]
    assert by_id(answer, "team_id")[14] == {
        "team": "Los Angeles Lakers",
        "abbreviation": "LAL",
        "conference": "West",
        "division": "Pacific",
        "city": "Los Angeles",
        "team_id": 14,
    }


async def test_a_player_row_reads_name_team_and_measurements(client: Any, upstream: Any) -> None:
    answer = await shaped(client, upstream, "/players", "players_page_ASSEMBLED.json")
    lebron = by_id(answer, "player_id")[237]
    assert lebron["name"] == "LeBron James"
    assert lebron["team"] == "Los Angeles Lakers" and lebron["team_id"] == 14
    assert (lebron["position"], lebron["height"], lebron["weight"]) == ("F", "6-9", "250")
    assert by_id(answer, "player_id")[56677866]["name"] == "Leaky Black"


async def test_a_scheduled_game_shows_its_utc_tip_off_and_no_score(
    client: Any, upstream: Any
) -> None:
    answer = await shaped(client, upstream, "/games", "games_2023-24_mixed_page.json")
    scheduled = by_id(answer, "game_id")[1038703]
    assert scheduled["status"] == "Scheduled 2024-04-04 23:30 UTC"
    assert scheduled["home_score"] is None and scheduled["visitor_score"] is None
    assert scheduled["date"] == "2024-04-04"
    final = by_id(answer, "game_id")[1037593]
    assert final == {
        **final,
        "date": "2023-10-24",
        "home_team": "Denver Nuggets",
        "home_score": 119,
        "visitor_team": "Los Angeles Lakers",
        "status": "Final",
    }


async def test_extra_game_keys_are_ignored(client: Any, upstream: Any) -> None:
    answer = await shaped(client, upstream, "/games", "games_2025-01-05_final_with_quarters.json")
    [game] = answer["data"]
    assert not any(column.startswith(("home_q", "visitor_q")) for column in game)
    assert (game["home_team"], game["home_score"], game["visitor_team"], game["visitor_score"]) == (
        "Cleveland Cavaliers",
        115,
        "Charlotte Hornets",
        105,
    )


def test_a_single_game_object_with_every_new_key_still_shapes() -> None:
    game = load_fixture("game_18448007_2026-04-12.json")["data"]
    [row] = tables.GAMES.rows([game])
    assert list(row) == list(tables.GAMES.columns)
    assert row["game_id"] == 18448007 and row["home_team"] == "Miami Heat"
    assert row["status"] == "Final"


async def test_minutes_come_as_05_or_mm_ss_and_are_shown_plainly(
    client: Any, upstream: Any
) -> None:
    recent = await shaped(
        client, upstream, "/stats", "stats_game_1037684_2023-11-05_DET_vs_GSW.json"
    )
    rows = {row["player"]: row for row in recent["data"]}
    assert rows["Jared Rhoden"]["min"] == "5"
    assert rows["Brandin Podziemski"]["min"] == "1"
    assert all(isinstance(row["fg_pct"], float | int) for row in recent["data"])
    assert max(len(str(row["fg_pct"])) for row in recent["data"]) <= 5  # 0.6666667 -> 0.667


async def test_minutes_as_mm_ss_are_kept(client: Any, upstream: Any) -> None:
    older = await shaped(client, upstream, "/stats", "stats_2015-04-05_page.json")
    row = next(r for r in older["data"] if r["player"] == "Manu Ginobili")
    assert row["min"] == "22:02"
    assert row["date"] == "2015-04-05"
    assert row["team"] == "SAS"


async def test_a_did_not_play_row_of_nulls_stays_a_row_of_nulls(client: Any, upstream: Any) -> None:
    answer = await shaped(client, upstream, "/stats", "stats_dnp_all_null.json")
    rows = {row["player"]: row for row in answer["data"]}
    dnp = rows["Chris Andersen"]
    assert dnp["min"] is None
    assert all(dnp[key] is None for key in tables.BOX_SCORE + tables.SHOOTING)
    assert dnp["team"] == "MIA" and dnp["game_id"] == 32732


def test_a_stat_with_a_null_player_still_shapes() -> None:
    stat = load_fixture("stats_2024-10-22_jaylen_brown.json")["data"][0]
    [row] = tables.STATS.rows([{**stat, "player": None}])
    assert row["player"] is None and row["player_id"] is None
    assert row["pts"] == 23


@pytest.mark.parametrize(
    ("given", "shown"),
    [("05", "5"), ("34", "34"), ("00", "0"), ("34:12", "34:12"), ("05:07", "5:07"), (None, None)],
)
def test_minutes_are_normalised(given: str | None, shown: str | None) -> None:
    assert tables.minutes(given) == shown


@pytest.mark.parametrize(
    ("game", "status"),
    [
        ({"status": "Final", "time": "Final"}, "Final"),
        ({"status": "Final", "time": " "}, "Final"),
        ({"status": "3rd Qtr", "time": "5:31"}, "3rd Qtr 5:31"),
        ({"status": "2024-01-05T00:00:00Z", "time": None}, "Scheduled 2024-01-05 00:00 UTC"),
        ({"status": None}, None),
    ],
)
def test_game_status_reads_final_live_or_scheduled(game: dict[str, Any], status: str) -> None:
    assert tables.game_status(game) == status


def test_season_averages_rows_round_the_averages() -> None:
    averages = load_fixture("season_averages_237_2019.json")["data"][0]
    [row] = tables.SEASON_AVERAGES.rows([{**averages, "player": "LeBron James"}])
    assert row["player"] == "LeBron James"
    assert (row["season"], row["games_played"], row["min"]) == (2019, 67, "34:34")
    assert (row["pts"], row["ast"], row["fg_pct"]) == (25.3, 10.2, 0.493)


def test_anything_but_an_object_in_the_data_list_is_skipped() -> None:
    assert tables.TEAMS.rows([None, "x", 3]) == []


async def test_stat_lines_say_the_opponent_where_they_played_and_the_result(
    client: Any, upstream: Any
) -> None:
    [row] = (await shaped(client, upstream, "/stats", "stats_2024-10-22_jaylen_brown.json"))["data"]
    # Boston (2) at home against team 20, 132-109
    assert (row["team"], row["opponent"], row["opponent_id"]) == ("BOS", "NYK", 20)
    assert (row["home_away"], row["result"]) == ("home", "W 132-109")


async def test_both_sides_of_a_recorded_box_score_read_from_their_own_side(
    client: Any, upstream: Any
) -> None:
    answer = await shaped(
        client, upstream, "/stats", "stats_game_1037684_2023-11-05_DET_vs_GSW.json"
    )
    sides = {(r["team"], r["opponent"], r["home_away"], r["result"]) for r in answer["data"]}
    assert len(sides) == 2
    (team_a, opp_a, where_a, result_a), (team_b, opp_b, where_b, result_b) = sorted(sides)
    assert (team_a, opp_a) == (opp_b, team_b) and {where_a, where_b} == {"home", "away"}
    won, lost = sorted((result_a, result_b), key=lambda r: r[0], reverse=True)
    assert won.startswith("W ") and lost.startswith("L ")
    assert won[2:] == "-".join(reversed(lost[2:].split("-")))


def test_a_live_or_scheduled_game_has_its_status_as_the_result() -> None:
    stat = load_fixture("stats_2024-10-22_jaylen_brown.json")["data"][0]
    live = {**stat, "game": {**stat["game"], "status": "3rd Qtr", "time": "5:31"}}
    later = {**stat, "game": {**stat["game"], "status": "2024-10-23T23:30:00Z", "time": None}}
    [live_row, later_row] = tables.STATS.rows([live, later])
    assert live_row["result"] == "3rd Qtr 5:31"
    assert later_row["result"] == "Scheduled 2024-10-23 23:30 UTC"
    assert live_row["home_away"] == "home" and live_row["opponent_id"] == 20


async def test_without_the_teams_list_the_lines_come_unlabelled_and_soon_asked_again(
    make_client: Any, upstream: Any
) -> None:
    client = await make_client(upstream={"max_attempts": 1}, cache={"live_ttl_s": 0})
    stats = load_fixture("stats_2024-10-22_jaylen_brown.json")
    upstream.get(upstream_route("/stats"), payload=stats, repeat=True)
    upstream.get(upstream_route("/teams"), status=503, body="down")
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))

    [first] = (await ask(client, "/stats?player_ids=70"))["data"]
    [second] = (await ask(client, "/stats?player_ids=70"))["data"]

    assert first["opponent"] is None and first["opponent_id"] == 20
    assert second["opponent"] == "NYK"  # a recorded game of 2024: kept for days once labelled
    assert [url.path for url in sent(upstream)].count("/nba/v1/stats") == 2
