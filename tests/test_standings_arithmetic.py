"""The standings arithmetic against tables worked out by hand from recorded games: the first 79
finished games of 2023-24 (`games_2023-24_finals_DERIVED.json`), read through the ledger as the
server reads them; ties, a team with no games yet, a postponed game, postseason excluded."""

from __future__ import annotations

import copy
from typing import Any

from sportstats.core.league_table import team_infos
from sportstats.core.tables import TEAMS
from sportstats.standings import Game, Ledger, arithmetic, table
from sportstats.standings.ledger import Window
from tests.conftest import load_fixture

FINALS = load_fixture("games_2023-24_finals_DERIVED.json")
TEAM_INFOS = team_infos(TEAMS.rows(load_fixture("teams_all.json")["data"]))
ABBREVIATION = {info.team_id: info.abbreviation for info in TEAM_INFOS}


def ledger_of(games: list[dict[str, Any]], season: int = 2023) -> Ledger:
    """A ledger that asked one window over every date of `games`, in one page."""
    ledger = Ledger(season)
    days = sorted(str(g["date"])[:10] for g in games)
    ledger.window = Window(days[0], days[-1])
    ledger.take(games, None, now=0.0)
    return ledger


def ranked(games: list[Game], conference: str) -> list[dict[str, Any]]:
    return [row for row in table(games, TEAM_INFOS) if row["conference"] == conference]


def order(rows: list[dict[str, Any]]) -> list[str]:
    return [ABBREVIATION[row["team_id"]] for row in rows]


def test_the_east_is_ranked_as_worked_out_by_hand_with_its_five_and_six_way_ties() -> None:
    east = ranked(ledger_of(FINALS).finished(), "East")
    # BOS 4-0, PHI 4-1; at 3-2 ATL beat MIL (the only game among the five), then conference
    # record: BKN 3-1, IND 3-2, ORL 0-0; MIL lost the head-to-head. At 2-4: MIA 1-0 among the
    # six, then DET (conf 2-1), CHI (2-2), CLE and NYK (2-3, split; name), TOR 0-1 among them.
    assert order(east) == [
        "BOS", "PHI", "ATL", "BKN", "IND", "ORL", "MIL",
        "MIA", "DET", "CHI", "CLE", "NYK", "TOR", "CHA", "WAS",
    ]  # fmt: skip
    assert [row["conference_rank"] for row in east] == list(range(1, 16))
    bos, phi, atl, *_, was = east
    assert (bos["wins"], bos["losses"], bos["win_pct"], bos["games_behind"]) == (4, 0, 1.0, 0)
    assert (phi["home"], phi["road"], phi["streak"], phi["games_behind"]) == (
        "3-0",
        "1-1",
        "W4",
        0.5,
    )
    assert (atl["conference_record"], atl["last_10"], atl["games_behind"]) == ("2-2", "3-2", 1.5)
    assert (was["wins"], was["losses"], was["win_pct"], was["games_behind"]) == (1, 4, 0.2, 3.5)


def test_the_west_is_ranked_as_worked_out_by_hand() -> None:
    west = ranked(ledger_of(FINALS).finished(), "West")
    # DEN and GSW 5-1 never met, same conference record and losses: by name. LAL beat LAC,
    # LAC beat SAS. Four at .500 never met: MIN (conf 1-0), SAC and POR (.500; SAC fewer
    # losses), OKC (0-3). PHX beat UTA.
    assert order(west) == [
        "DEN", "GSW", "DAL", "NOP", "LAL", "LAC", "SAS",
        "MIN", "SAC", "POR", "OKC", "PHX", "UTA", "HOU", "MEM",
    ]  # fmt: skip
    gsw, mem = west[1], west[-1]
    assert (gsw["streak"], gsw["home"], gsw["road"], gsw["games_behind"]) == ("W5", "1-1", "4-0", 0)
    assert (mem["wins"], mem["losses"], mem["streak"], mem["games_behind"]) == (0, 6, "L6", 5.0)
    assert mem["last_10"] == "0-6" and mem["conference_record"] == "0-5"


def test_teams_with_no_games_yet_have_rows_at_0_0_ranked_above_those_with_only_losses() -> None:
    opening_night = [g for g in FINALS if g["date"].startswith("2023-10-24")]
    # LAL 107 @ DEN 119, PHX 108 @ GSW 104: the East has played no game at all.
    east = ranked(ledger_of(opening_night).finished(), "East")
    assert len(east) == 15
    for row in east:
        assert (row["wins"], row["losses"], row["win_pct"], row["games_behind"]) == (0, 0, 0, 0)
        assert (row["home"], row["last_10"], row["streak"]) == ("0-0", "0-0", None)
    assert order(east) == sorted(
        order(east), key=lambda a: next(i.team for i in TEAM_INFOS if i.abbreviation == a)
    )  # all tied: by name
    west = ranked(ledger_of(opening_night).finished(), "West")
    assert order(west)[:2] == ["DEN", "PHX"]
    assert order(west)[-2:] == ["GSW", "LAL"]  # 0-1 below the eleven at 0-0 (by name)
    assert [row["games_behind"] for row in west[-2:]] == [1.0, 1.0]
    assert {row["streak"] for row in west[2:-2]} == {None}


def test_a_postponed_game_counts_for_no_one_and_does_not_hold_its_date_open() -> None:
    games = copy.deepcopy(FINALS)
    postponed = games[0]
    postponed.update(status="Postponed", home_team_score=0, visitor_team_score=0, postponed=True)
    ledger = ledger_of(games)
    assert ledger.through == FINALS[-1]["date"][:10]  # the last date, not the day before
    assert str(postponed["id"]) not in ledger.games
    assert len(ledger.finished()) == len(FINALS) - 1
    rows = {row["team_id"]: row for row in table(ledger.finished(), TEAM_INFOS)}
    for side in ("home_team", "visitor_team"):
        team = postponed[side]["id"]
        before = {r["team_id"]: r for r in table(ledger_of(FINALS).finished(), TEAM_INFOS)}
        assert rows[team]["wins"] + rows[team]["losses"] == (
            before[team]["wins"] + before[team]["losses"] - 1
        )


def test_postseason_games_are_left_out() -> None:
    playoff = copy.deepcopy(FINALS[-1])
    playoff.update(id=99_999_999, postseason=True)
    ledger = ledger_of([*FINALS, playoff])
    assert "99999999" not in ledger.games
    assert table(ledger.finished(), TEAM_INFOS) == table(ledger_of(FINALS).finished(), TEAM_INFOS)


def test_a_game_not_yet_final_holds_its_date_and_every_later_one_open() -> None:
    games = copy.deepcopy(FINALS)
    live = next(g for g in games if g["date"].startswith("2023-11-01"))
    live.update(status="3rd Qtr", time="5:31")
    ledger = ledger_of(games)
    assert ledger.through == "2023-10-31"
    assert all(game.date <= "2023-10-31" for game in ledger.finished())


def test_teams_whose_rounded_percentages_match_are_not_tied() -> None:
    """41-21 (.6613) and 39-20 (.6610) both read .661: the better record ranks first, whatever
    head-to-head says."""
    rows = [
        {"team_id": 1, "team": "A", "wins": 39, "losses": 20, "win_pct": 0.661,
         "conference_record": "20-10"},
        {"team_id": 2, "team": "B", "wins": 41, "losses": 21, "win_pct": 0.661,
         "conference_record": "10-20"},
    ]  # fmt: skip
    ordered = arithmetic.rank(rows, {})
    assert [row["team_id"] for row in ordered] == [2, 1]
