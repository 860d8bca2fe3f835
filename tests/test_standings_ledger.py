"""The ledger's own rules, on plain values: what it asks next (forward while filling, then only
the dates after the last complete one, and only when their games should be over), and the
share of the budget it keeps to while testers are asking."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sportstats.standings.ledger import GAME_S, Ledger
from sportstats.standings.pace import Pace

SEASON = 2024
TEAMS = {n: {"id": n} for n in range(1, 31)}


def game(game_id: int, date: str, status: str = "Final") -> dict[str, Any]:
    return {"id": game_id, "date": date, "season": SEASON, "status": status, "postseason": False,
            "home_team": TEAMS[1 + game_id % 15], "visitor_team": TEAMS[16 + game_id % 15],
            "home_team_score": 100 + game_id % 7, "visitor_team_score": 99}  # fmt: skip


def test_filling_goes_forward_then_asks_again_only_the_dates_after_the_last_complete_one() -> None:
    ledger, today = Ledger(SEASON), dt.date(2024, 12, 1)
    first = ledger.next_window(today)
    assert (first.start, first.end) == ("2024-10-01", "2024-11-14")
    tip_off = "2024-10-30T23:30:00Z"
    ledger.take([game(1, "2024-10-29"), game(2, "2024-10-30", tip_off)], None, now=0.0)
    assert ledger.through == "2024-10-29" and ledger.asked_through == "2024-11-14"
    assert (
        ledger.open_until == dt.datetime(2024, 10, 30, 23, 30, tzinfo=dt.UTC).timestamp() + GAME_S
    )

    second = ledger.next_window(today)  # forward from the last date asked, not from `through`
    assert second.start == "2024-11-15" and not second.recheck
    ledger.take([game(3, "2024-11-20")], None, now=1.0)
    assert ledger.through == "2024-10-29" and ledger.done(today)  # the open date still holds it

    assert not ledger.due(today, now=ledger.open_until - 1, refresh_s=600)
    assert ledger.due(today, now=ledger.open_until + 600, refresh_s=600)
    again = ledger.next_window(today)
    assert (again.start, again.end, again.recheck) == ("2024-10-30", "2024-12-01", True)
    ledger.take([game(2, "2024-10-30"), game(3, "2024-11-20")], None, now=2.0)
    assert ledger.through == "2024-12-01" and ledger.open_from is None
    assert not ledger.due(today, now=10**10, refresh_s=600)  # nothing open: until tomorrow
    assert ledger.due(today + dt.timedelta(days=1), now=3.0, refresh_s=600)


def test_a_window_is_resumed_at_the_page_it_stopped_and_the_state_survives_json() -> None:
    ledger, today = Ledger(SEASON), dt.date(2024, 12, 1)
    ledger.next_window(today)
    ledger.take([game(n, "2024-10-25") for n in range(1, 101)], 100, now=0.0)
    stored = Ledger.from_json(ledger.to_json())
    assert stored.window is not None and stored.window.cursor == 100
    assert stored.next_window(today) == ledger.window
    assert stored.through is None and len(stored.games) == 100


def test_a_past_season_is_asked_to_its_last_possible_day_and_then_never_again() -> None:
    ledger, today = Ledger(SEASON), dt.date(2026, 1, 1)
    while (window := ledger.next_window(today)) is not None and not ledger.done(today):
        ledger.take([], None, now=0.0)
        assert window.end <= "2025-04-30"
    assert ledger.through == "2025-04-30" and ledger.next_window(today) is None
    assert not ledger.due(today, now=10**10, refresh_s=1)


def test_a_season_that_ran_past_april_is_asked_through_its_real_last_day() -> None:
    """2020-21 ended on May 16th, 2021: its last two weeks count, as the bubble's August does."""
    ledger, today = Ledger(2020), dt.date(2021, 7, 1)
    late = {**game(7, "2021-05-16"), "season": 2020}
    while (window := ledger.next_window(today)) is not None and not ledger.done(today):
        ledger.take([late] if window.start <= late["date"] <= window.end else [], None, now=0.0)
    assert ledger.through == "2021-05-16" and "7" in ledger.games
    assert Ledger(2019).next_window(dt.date(2020, 9, 1)) is not None
    assert ledger.next_window(today) is None


def test_the_nba_cup_final_counts_in_no_record_and_holds_no_date_open() -> None:
    ledger, today = Ledger(SEASON), dt.date(2024, 12, 31)
    ledger.next_window(today)
    final = {**game(5, "2024-11-10"), "ist_stage": "Championship"}
    semifinal = {**game(6, "2024-11-09"), "ist_stage": "West Semifinal"}
    scheduled_final = {**game(8, "2024-11-11", "2024-11-11T01:30:00Z"), "ist_stage": "Championship"}
    ledger.take([semifinal, final, scheduled_final], None, now=0.0)
    assert set(ledger.games) == {"6"}  # a Cup game before the final counts as any other
    assert ledger.through == "2024-11-14"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_ledger_keeps_to_a_fifth_of_the_budget_while_testers_ask_and_takes_it_all_else() -> (
    None
):
    clock, calls = Clock(), [0]
    pace = Pace(lambda: 60, 0.2, 60.0, lambda: calls[0], clock)
    for _ in range(30):  # nobody else asking: the whole budget is the ledger's
        assert pace.wait_s() == 0
        pace.spent(1)
        calls[0] += 1
    assert pace.per_minute() == 60

    calls[0] += 1  # a tester's question reached the upstream
    assert pace.testers_active() and pace.per_minute() == 12
    assert pace.wait_s() > 0  # 30 sent this minute: over its fifth (12)
    clock.now += 61  # a minute on, the tester still asking now and then
    calls[0] += 1
    for _ in range(12):
        assert pace.wait_s() == 0
        pace.spent(1)
        calls[0] += 1
    assert 0 < pace.wait_s() <= 60
    clock.now += 61  # no tester for a minute: the share is lifted
    assert not pace.testers_active() and pace.wait_s() == 0


def test_a_share_never_rounds_down_to_nothing() -> None:
    pace = Pace(lambda: 5, 0.2, 60.0, lambda: 1, Clock())
    assert pace.per_window == 1 and pace.testers_active() and pace.wait_s() == 0


def test_the_ledgers_share_follows_the_budget_once_the_plan_is_learned() -> None:
    """`auto` budgets as the free plan until it knows the plan: the ledger's share grows with it."""
    budget = [5]
    pace = Pace(lambda: budget[0], 0.2, 60.0, lambda: 0)
    assert pace.per_window == 1
    budget[0] = 600  # GOAT learned
    assert pace.per_window == 120 and pace.requests_per_minute == 600


def test_a_stored_ledger_this_code_cannot_read_is_filled_again_not_a_failure() -> None:
    assert Ledger.from_json('{"season": 2025, "field_of_a_later_version": 1}') is None
    assert Ledger.from_json("not json") is None
    assert Ledger.from_json('["a list"]') is None
