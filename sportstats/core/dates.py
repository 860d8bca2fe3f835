"""The league's day: game days are US Eastern days, whatever the clock of the asker says.

A game's `date` is the day in New York when it tips off (a 10:30 pm Eastern game is on that
Eastern day, though it is already the next day in UTC). So `today`, `yesterday` (and
`last_night`) and `tomorrow` are resolved from the current time in US Eastern, with zoneinfo, so
that the day turns at midnight Eastern in winter (05:00 UTC) and in summer (04:00 UTC) alike. A
model that says "last night" need not know the time zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LEAGUE_ZONE = ZoneInfo("America/New_York")
# A word for a day -> days from the league's today.
RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1, "last_night": -1}
RELATIVE_WORDS = ", ".join(RELATIVE_DAYS)


def now_utc() -> dt.datetime:
    """The current time (tests move it through this one function)."""
    return dt.datetime.now(dt.UTC)


def league_today(now: dt.datetime | None = None) -> dt.date:
    """The league's day at `now` (default: the current time): the date in US Eastern."""
    return (now or now_utc()).astimezone(LEAGUE_ZONE).date()


def relative_day(word: str, now: dt.datetime | None = None) -> dt.date | None:
    """`yesterday` -> the league's yesterday; None for a word that names no day."""
    offset = RELATIVE_DAYS.get(word.lower())
    if offset is None:
        return None
    return league_today(now) + dt.timedelta(days=offset)


def tip_off(value: object) -> dt.datetime | None:
    """A tip-off time from the upstream (`2025-01-05T00:30:00Z`, `...00.000Z`), in UTC."""
    if not isinstance(value, str) or len(value) < 16 or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def utc_text(moment: dt.datetime) -> str:
    """`2025-01-05T00:30Z`: what a program (or the view, in the viewer's zone) reads."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def eastern_text(moment: dt.datetime) -> str:
    """`2025-01-04 19:30 EST`: the time the league states, with EST or EDT as it falls."""
    return moment.astimezone(LEAGUE_ZONE).strftime("%Y-%m-%d %H:%M %Z")
