"""Team names -> team ids, from the one cached list of the 30 teams.

A team may be named by id, abbreviation (`LAL`), nickname (`Lakers`), full name (`Los Angeles
Lakers`) or city where the city names one team (`Boston`); case, accents, dots and extra spaces
are ignored. Los Angeles has two teams (the upstream calls the Clippers' city "LA"), so the city
alone is ambiguous. An unknown name is refused with the closest names; an ambiguous one with
every candidate, so the assistant can ask again.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from typing import Any

from .. import errors
from ..errors import ApiError

CITY_ALIASES = {"la": "los angeles"}  # one city, two spellings in the upstream's data
MAX_SUGGESTIONS = 3

Row = dict[str, Any]


def fold(text: str) -> str:
    """The form names are compared in: no accents, no dots, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace(".", "")
    return " ".join(plain.casefold().split())


def nickname(row: Row) -> str:
    """`Los Angeles Lakers` with city `Los Angeles` -> `Lakers`."""
    full, city = row.get("team") or "", row.get("city") or ""
    return full[len(city) :].strip() if city and full.startswith(city) else full


def describe(row: Row) -> str:
    return f"{row.get('team')} ({row.get('abbreviation')}, team_id {row.get('team_id')})"


class TeamIndex:
    """Every way of naming each team in `rows` (the teams table's rows)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = {row["team_id"]: row for row in rows if row.get("team_id") is not None}
        self.names: dict[str, set[int]] = {}
        for team_id, row in self.rows.items():
            city = fold(row.get("city") or "")
            city = CITY_ALIASES.get(city, city)
            spellings = {
                str(team_id),
                fold(row.get("abbreviation") or ""),
                fold(nickname(row)),
                fold(row.get("team") or ""),
                f"{city} {fold(nickname(row))}",
                city,
            }
            for spelling in spellings - {""}:
                self.names.setdefault(spelling, set()).add(team_id)

    def resolve(self, given: str, param: str = "team") -> int:
        """The one team `given` names, or the 400 that says why there is none."""
        word = fold(given)
        found = self.names.get(CITY_ALIASES.get(word, word), set())
        if len(found) == 1:
            return next(iter(found))
        if found:
            candidates = "; ".join(describe(self.rows[i]) for i in sorted(found))
            example = self.rows[min(found)]["abbreviation"]
            raise ApiError(
                400,
                errors.AMBIGUOUS_TEAM,
                f"'{given[:40]}' names more than one team: {candidates}.",
                f"Ask again with one of them, e.g. {param}={example}.",
            )
        close = difflib.get_close_matches(word, list(self.names), n=MAX_SUGGESTIONS, cutoff=0.6)
        teams = sorted({i for name in close for i in self.names[name]})
        suggestion = "; ".join(describe(self.rows[i]) for i in teams) or "none close"
        raise ApiError(
            400,
            errors.UNKNOWN_TEAM,
            f"No team is named '{given[:40]}'. Closest: {suggestion}.",
            "Name a team by abbreviation (LAL), nickname (Lakers), full name or team_id;"
            " /teams lists them.",
        )

    def abbreviation(self, team_id: Any) -> str | None:
        row = self.rows.get(team_id)
        return row.get("abbreviation") if row else None

    def resolve_all(self, given: Iterable[str], param: str = "team") -> tuple[int, ...]:
        return tuple(sorted({self.resolve(word, param) for word in given}))
