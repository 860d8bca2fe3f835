"""Relative dates in the league's day: US Eastern, turning at midnight there, DST included."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from sportstats.core import dates
from sportstats.core.tables import GAMES
from sportstats.standings.keeper import LedgerKeeper
from sportstats.upstream import league_clock
from sportstats.upstream.routes import LEAGUE
from tests.conftest import ask, sent, upstream_route


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "today"),
    [
        ("2026-01-15T04:59", "2026-01-14"),  # winter: 23:59 EST
        ("2026-01-15T05:00", "2026-01-15"),  # midnight EST is 05:00 UTC
        ("2026-07-15T03:59", "2026-07-14"),  # summer: 23:59 EDT
        ("2026-07-15T04:00", "2026-07-15"),  # midnight EDT is 04:00 UTC
        ("2026-03-08T04:59", "2026-03-07"),  # the night clocks go forward: still EST
        ("2026-03-09T03:59", "2026-03-08"),  # the day after: EDT, so 23:59 on the 8th
        ("2026-03-09T04:00", "2026-03-09"),  # a fixed UTC-5 would still say the 8th
        ("2026-11-01T03:59", "2026-10-31"),  # the night clocks go back: still EDT
        ("2026-11-02T04:30", "2026-11-01"),  # now EST: 23:30 on the 1st
    ],
)
def test_the_league_day_turns_at_midnight_eastern_in_winter_summer_and_across_dst(
    now: str, today: str
) -> None:
    assert dates.league_today(utc(now)).isoformat() == today


def test_the_core_and_the_standings_count_the_day_in_the_zone_the_league_declares() -> None:
    assert LEAGUE.zone == "America/New_York"
    moment = utc("2026-01-15T04:59")  # 23:59 on the 14th in New York
    assert dates.league_today(moment) == league_clock.league_today(moment) == dt.date(2026, 1, 14)
    assert LedgerKeeper.__init__.__defaults__[0] is league_clock.league_today  # the keeper's today
    west = dataclasses.replace(LEAGUE, zone="America/Los_Angeles")
    assert league_clock.league_today(moment, west) == dt.date(2026, 1, 14)
    assert league_clock.league_today(utc("2026-01-15T08:00"), west) == dt.date(2026, 1, 15)
    assert league_clock.league_today(utc("2026-01-15T07:59"), west) == dt.date(2026, 1, 14)


def test_yesterday_and_last_night_are_one_day_and_tomorrow_the_next() -> None:
    late_evening_eastern = utc("2026-03-09T03:30")  # 23:30 EDT on March 8th
    assert dates.relative_day("today", late_evening_eastern) == dt.date(2026, 3, 8)
    assert dates.relative_day("yesterday", late_evening_eastern) == dt.date(2026, 3, 7)
    assert dates.relative_day("last_night", late_evening_eastern) == dt.date(2026, 3, 7)
    assert dates.relative_day("TOMORROW", late_evening_eastern) == dt.date(2026, 3, 9)
    assert dates.relative_day("someday", late_evening_eastern) is None


def test_a_tip_off_is_shown_in_utc_and_in_eastern_with_est_or_edt() -> None:
    before, after = (
        {"status": "2026-03-08T00:00:00Z", "date": "2026-03-07"},  # 19:00 EST
        {"datetime": "2026-03-09T00:00:00.000Z", "status": "Final", "date": "2026-03-08"},
    )
    rows = GAMES.rows([before, after])
    assert [r["tip_off_utc"] for r in rows] == ["2026-03-08T00:00Z", "2026-03-09T00:00Z"]
    assert [r["tip_off_et"] for r in rows] == ["2026-03-07 19:00 EST", "2026-03-08 20:00 EDT"]
    assert GAMES.rows([{"status": "Final"}])[0]["tip_off_utc"] is None


@pytest.mark.parametrize(
    ("now", "yesterday"),
    [("2026-01-15T04:59", "2026-01-13"), ("2026-01-15T05:01", "2026-01-14")],
)
async def test_yesterday_is_asked_upstream_as_the_eastern_date_and_echoed_in_meta(
    client: Any, upstream: Any, monkeypatch: Any, now: str, yesterday: str
) -> None:
    monkeypatch.setattr(dates, "now_utc", lambda: utc(now))
    upstream.get(upstream_route("/games"), payload={"data": [], "meta": {}}, repeat=True)

    answer = await ask(client, "/games?dates=last_night")

    assert answer["meta"]["query"]["dates"] == [yesterday]
    assert yesterday in answer["meta"]["note"]
    [url] = sent(upstream)
    assert url.query.getall("dates[]") == [yesterday]


async def test_start_and_end_date_take_words_too(
    client: Any, upstream: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(dates, "now_utc", lambda: utc("2026-03-09T03:30"))  # 23:30 EDT, 8th
    upstream.get(upstream_route("/games"), payload={"data": [], "meta": {}})

    answer = await ask(client, "/games?start_date=yesterday&end_date=tomorrow")

    assert answer["meta"]["query"]["start_date"] == "2026-03-07"
    assert answer["meta"]["query"]["end_date"] == "2026-03-09"
    [url] = sent(upstream)
    assert (url.query["start_date"], url.query["end_date"]) == ("2026-03-07", "2026-03-09")


async def test_a_day_word_after_the_end_is_the_range_error(client: Any, upstream: Any) -> None:
    body = await ask(client, "/games?start_date=tomorrow&end_date=yesterday", 400)
    assert body["error"]["code"] == "invalid_date_range"
    assert sent(upstream) == []
