"""The paid routes' objects shaped into flat rows, from fixtures built on the vendor's shapes
(with the nulls, missing teams and unknown keys a real answer may carry)."""

from __future__ import annotations

from sportstats.core import report_tables as reports
from sportstats.core import tables
from tests.conftest import load_fixture


def shaped(table: tables.Table, fixture: str) -> list[dict]:
    return table.rows(load_fixture(fixture)["data"])


def test_leaders_rows_name_the_player_and_team_and_keep_rank_and_value() -> None:
    rows = shaped(reports.LEADERS, "leaders_ast_2025_SPEC.json")
    assert [(r["rank"], r["player"], r["team"], r["value"]) for r in rows[:2]] == [
        (1, "Tyrese Haliburton", "IND", 10.4),
        (2, "Trae Young", "ATL", 10.1),
    ]
    assert rows[0]["games_played"] == 18 and rows[0]["stat"] == "ast"


def test_a_leader_without_a_team_or_games_played_is_a_row_of_nulls_there() -> None:
    free_agent = shaped(reports.LEADERS, "leaders_ast_2025_SPEC.json")[3]
    assert free_agent["player"] == "Free Agent"
    assert free_agent["team"] is None and free_agent["team_id"] is None
    assert free_agent["games_played"] is None


def test_injury_rows_keep_status_return_date_and_description_or_null() -> None:
    rows = shaped(reports.INJURIES, "player_injuries_SPEC.json")
    embiid, morant, unsigned = rows
    assert embiid["player"] == "Joel Embiid" and embiid["team"] == "PHI"
    assert embiid["status"] == "Day-To-Day"
    assert embiid["return_date"] == "Dec 8" and "knee" in embiid["description"]
    assert morant["return_date"] is None  # no return date: null, not a failure
    assert unsigned["team"] is None and unsigned["description"] is None


def test_box_scores_become_stats_rows_for_both_sides_with_opponent_and_result() -> None:
    lines = reports.box_score_lines(load_fixture("box_scores_2026-12-03_SPEC.json")["data"])
    rows = tables.Table(tables.STATS.columns, reports.box_score_row).rows(lines)
    assert list(rows[0]) == list(tables.STATS.columns)
    by_player = {row["player"]: row for row in rows}
    assert len(rows) == 7
    tatum, luka = by_player["Jayson Tatum"], by_player["Luka Doncic"]
    assert (tatum["team"], tatum["opponent"], tatum["home_away"]) == ("BOS", "LAL", "home")
    assert tatum["result"] == "W 118-111" and luka["result"] == "L 111-118"
    assert luka["home_away"] == "away" and luka["pts"] == 35 and luka["plus_minus"] == -5
    assert by_player["Bench Rookie"]["pts"] is None  # did not play: nulls
    assert by_player["Joel Embiid"]["result"] == "W 125-121"


def test_a_recorded_box_score_with_the_team_beside_its_players_is_read_too() -> None:
    lines = reports.box_score_lines(load_fixture("box_scores_2024-02-07_PARTIAL.json")["data"])
    rows = tables.Table(tables.STATS.columns, reports.box_score_row).rows(lines)
    assert [(r["player"], r["team"], r["opponent"], r["result"]) for r in rows] == [
        ("Leaky Black", "CHA", "TOR", "L 117-123"),
        ("Thaddeus Young", "TOR", "CHA", "W 123-117"),
    ]


def test_a_live_box_score_says_the_quarter_and_clock_as_its_result() -> None:
    lines = reports.box_score_lines(load_fixture("box_scores_live_SPEC.json")["data"])
    rows = tables.Table(tables.STATS.columns, reports.box_score_row).rows(lines)
    assert {row["result"] for row in rows} == {"3rd Qtr 5:31"}


def test_advanced_rows_keep_known_numbers_and_null_the_missing_ones() -> None:
    rows = shaped(reports.ADVANCED_STATS, "stats_advanced_2026-12-03_SPEC.json")
    assert rows[0]["pie"] == 0.21 and rows[0]["team"] == "BOS"
    lebron = rows[2]
    assert lebron["pie"] is None and lebron["true_shooting_percentage"] is None
    assert "hustle_new_metric" not in lebron  # unknown keys are not columns
    assert lebron["game_id"] == 18447201 and lebron["date"] == "2026-12-03"


def test_category_averages_fill_the_season_averages_table() -> None:
    items = load_fixture("season_averages_general_base_LAL_SPEC.json")["data"]
    rows = tables.SEASON_AVERAGES.rows([reports.category_averages(item) for item in items])
    lebron, luka, reaves = rows
    assert (lebron["player_id"], lebron["games_played"], lebron["pts"]) == (237, 15, 24.8)
    assert lebron["turnover"] == 3.2 and lebron["min"] == "34.1"
    assert luka["player"] == "Luka Doncic"  # named where the row carries its player
    assert reaves["reb"] is None and reaves["min"] is None
