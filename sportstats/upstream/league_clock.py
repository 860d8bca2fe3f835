"""The league's clock: its day, counted in the zone its declaration names (`League.zone`), and
its games' tip-off times as the upstream writes them. Both the core (relative dates, next games)
and the standings (the ledger's open dates) count days and tip-offs here, so they agree."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .routes import LEAGUE, League


def league_zone(league: League = LEAGUE) -> ZoneInfo:
    return ZoneInfo(league.zone)


def league_today(now: dt.datetime | None = None, league: League = LEAGUE) -> dt.date:
    """The league's day at `now` (default: the current time): a US evening game is on its US day
    though it is already the next day in UTC."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(league_zone(league)).date()


def tip_off(value: object) -> dt.datetime | None:
    """A tip-off time from the upstream (`2025-01-05T00:30:00Z`, `...00.000Z`), in UTC; None for
    anything else (a scheduled game's status holds its tip-off, a live or final one does not)."""
    if not isinstance(value, str) or len(value) < 16 or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
