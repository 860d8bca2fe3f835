"""The league's day: game days are US Eastern days, whatever the clock of the asker says.

A game's `date` is the day in New York when it tips off (a 10:30 pm Eastern game is on that
Eastern day, though it is already the next day in UTC). So `today`, `yesterday` (and
`last_night`) and `tomorrow` are resolved from the current time in US Eastern, with zoneinfo, so
that the day turns at midnight Eastern in winter (05:00 UTC) and in summer (04:00 UTC) alike. A
model that says "last night" need not know the time zone.
"""

from __future__ import annotations

import datetime as dt

from ..upstream import league_clock

LEAGUE_ZONE = league_clock.league_zone()  # declared with the league (`League.zone`)
# A word for a day -> days from the league's today.
RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1, "last_night": -1}
RELATIVE_WORDS = ", ".join(RELATIVE_DAYS)


def now_utc() -> dt.datetime:
    """The current time (tests move it through this one function)."""
    return dt.datetime.now(dt.UTC)


def league_today(now: dt.datetime | None = None) -> dt.date:
    """The league's day at `now` (default: the current time): the date in US Eastern."""
    return league_clock.league_today(now or now_utc())


def relative_day(word: str, now: dt.datetime | None = None) -> dt.date | None:
    """`yesterday` -> the league's yesterday; None for a word that names no day."""
    offset = RELATIVE_DAYS.get(word.lower())
    if offset is None:
        return None
    return league_today(now) + dt.timedelta(days=offset)


def utc_text(moment: dt.datetime) -> str:
    """`2025-01-05T00:30Z`: what a program (or the view, in the viewer's zone) reads."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def eastern_text(moment: dt.datetime) -> str:
    """`2025-01-04 19:30 EST`: the time the league states, with EST or EDT as it falls."""
    return moment.astimezone(LEAGUE_ZONE).strftime("%Y-%m-%d %H:%M %Z")
