"""Box-score lines: each player's line in one game, made so that a team's points add up to its
score and every line holds together (makes within attempts, 2 x twos + 3 x threes + free throws
= points, offensive + defensive rebounds = rebounds).

A line is drawn from a generator seeded by the game and the player, so it is the same on every
run and whichever question asks for it first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .people import Person

REGULATION_MINUTES = 240  # five players for four 12-minute quarters
OVERTIME_MINUTES = 25
ROTATION = 10  # players who play every night; the rest get a few minutes or none
_STATS = "fgm fga fg_pct fg3m fg3a fg3_pct ftm fta ft_pct oreb dreb reb ast stl blk turnover pf pts"
STAT_KEYS = tuple(_STATS.split())


@dataclass(frozen=True)
class Line:
    """One player's line in one game (`minutes` 0: did not play)."""

    person: Person
    minutes: int
    numbers: dict[str, Any]
    plus_minus: int | None

    def vendor(self) -> dict[str, Any]:
        """The numbers as the vendor writes them: `min` as zero-padded whole minutes."""
        return {"min": f"{self.minutes:02d}", **self.numbers, "plus_minus": self.plus_minus}


def team_lines(
    roster: list[Person], points: int, margin: int, share: float, seed: str
) -> list[Line]:
    """The lines of one team that scored `points` (winning by `margin`) having played `share`
    of its minutes so far (1 for a finished game; overtime adds to it)."""
    rng = random.Random(seed)
    playing = sorted(roster, key=lambda person: -person.skill)
    weights = [
        person.skill * rng.uniform(0.8, 1.2) if n < ROTATION else rng.choice((0, 0, 0.1))
        for n, person in enumerate(playing)
    ]
    minutes = _split(round(REGULATION_MINUTES * share), weights, cap=round(44 * share) or 1)
    scoring = [m * p.skill * rng.uniform(0.6, 1.4) for m, p in zip(minutes, playing, strict=True)]
    scored = _split(points, scoring, cap=points)
    lines = []
    for person, played, pts in zip(playing, minutes, scored, strict=True):
        if played == 0:
            lines.append(Line(person, 0, dict.fromkeys(STAT_KEYS, 0), None))
            continue
        pm = round(margin * played / 48 + rng.uniform(-6, 6))
        lines.append(Line(person, played, _numbers(rng, person, played, pts), pm))
    return lines


def _split(total: int, weights: list[float], cap: int) -> list[int]:
    """`total` in whole parts in proportion to `weights` (none above `cap` while it can be
    helped), by largest remainder."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [min(cap, total * w / whole) for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])
    n = 0
    while sum(parts) < total:
        i = order[n % len(order)]
        if weights[i] > 0:
            parts[i] += 1
        n += 1
    return parts


def _numbers(rng: random.Random, person: Person, minutes: int, pts: int) -> dict[str, Any]:
    """A line worth `pts` points in `minutes` minutes."""
    big = person.position.endswith("C")
    three_share = rng.uniform(0.0, 0.15) if big else rng.uniform(0.2, 0.55)
    fg3m = min(pts // 3, round(pts * three_share / 3))
    ftm = min(pts - 3 * fg3m, round(pts * rng.uniform(0.08, 0.25)))
    if (pts - 3 * fg3m - ftm) % 2:
        ftm += 1 if ftm < pts - 3 * fg3m else -1
    fg2m = (pts - 3 * fg3m - ftm) // 2
    fg3a = fg3m + round(fg3m * rng.uniform(0.8, 2.0)) + (rng.random() < 0.4)
    fg2a = fg2m + round(fg2m * rng.uniform(0.5, 1.2)) + (rng.random() < 0.5)
    fta = ftm + round(ftm * rng.uniform(0.0, 0.4))
    per = minutes / 36
    oreb = round(rng.uniform(0.3, 3.2 if big else 1.2) * per)
    dreb = round(rng.uniform(2.0, 8.5 if big else 5.0) * per)
    return {
        "fgm": fg2m + fg3m,
        "fga": fg2a + fg3a,
        "fg_pct": _pct(fg2m + fg3m, fg2a + fg3a),
        "fg3m": fg3m,
        "fg3a": fg3a,
        "fg3_pct": _pct(fg3m, fg3a),
        "ftm": ftm,
        "fta": fta,
        "ft_pct": _pct(ftm, fta),
        "oreb": oreb,
        "dreb": dreb,
        "reb": oreb + dreb,
        "ast": round(rng.uniform(0.5, 3.0 if big else 7.5) * per),
        "stl": round(rng.uniform(0.2, 1.6) * per),
        "blk": round(rng.uniform(0.5, 2.5) * per) if big else round(rng.uniform(0, 0.7) * per),
        "turnover": round(rng.uniform(0.5, 3.0) * per),
        "pf": min(6, round(rng.uniform(0.8, 3.5) * per)),
        "pts": pts,
    }


def _pct(made: int, tried: int) -> float:
    """As the vendor writes it: 0 when nothing was tried."""
    return round(made / tried, 3) if tried else 0
