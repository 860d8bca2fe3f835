"""Query parameters: declared once, then parsed, validated and translated from that declaration.

A `Param` is the one source of truth for a parameter: its parsing rules, its upstream name, and the
JSON schema that `openapi.yaml` and the MCP tool schemas are generated from.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from multidict import MultiMapping

from .. import errors
from ..errors import ApiError, bad_parameter
from .dates import RELATIVE_DAYS, RELATIVE_WORDS, league_today, relative_day

MAX_ARRAY_VALUES = 25
MAX_TEXT_CHARS = 64
MAX_ID = 999_999_999_999  # twelve digits: longer numbers are refused before int()
# Text may hold any character but control characters; the spec carries the same pattern.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
SORT_PATTERN = r"^-?[a-z0-9_]+$"
MAX_SORT_CHARS = 32
FIRST_SEASON = 1946
LIMIT_DEFAULT = 25
LIMIT_MAX = 100
LAST_MAX = 25
SEASON_START_MONTH = 10

Kind = Literal[
    "ids",
    "seasons",
    "dates",
    "date",
    "season",
    "limit",
    "cursor",
    "bool",
    "enum",
    "text",
    "names",
    "sort",
    "fields",
    "last",
    "next",
]
QUERY_ARRAY_NOTE = "Repeat the parameter or separate values with commas."
ARRAY_KINDS = frozenset({"ids", "seasons", "dates", "names", "fields"})
# A game day: a date, or a word for a day resolved in the league's time zone (`dates`).
DAY_SCHEMA = {"type": "string", "anyOf": [{"format": "date"}, {"enum": list(RELATIVE_DAYS)}]}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TEXT_RE = re.compile(TEXT_PATTERN)

Value = int | str | bool | tuple[int, ...] | tuple[str, ...]


def current_season(today: dt.date | None = None) -> int:
    """A season is named by the year it began; a new one begins in October, on the league's
    day (at 23:00 on September 30th in New York it is October in UTC: still the old season)."""
    today = today or league_today()
    return today.year if today.month >= SEASON_START_MONTH else today.year - 1


def last_season(today: dt.date | None = None) -> int:
    """Seasons from 1946 to next year are accepted (next year: schedules published early)."""
    return (today or dt.date.today()).year + 1


@dataclass(frozen=True)
class Param:
    """One query parameter as the assistant sees it, and how the upstream wants it."""

    name: str
    kind: Kind
    description: str
    upstream: str | None = None  # upstream name without brackets; None: same as `name`
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (another word, the choice it means), for enums
    local: bool = False  # answered by the core (names resolved, rows filtered), not sent upstream
    example: str | None = None  # a valid value, for the spec (a name must name something real)
    required: bool = False
    or_instead: tuple[str, ...] = ()  # required unless one of these is given instead
    needs_one_of: tuple[str, ...] = ()  # given only with at least one of these
    excludes: tuple[str, ...] = ()  # never given with any of these

    @property
    def is_array(self) -> bool:
        return self.kind in ARRAY_KINDS

    @property
    def always_required(self) -> bool:
        """Required whatever else is given: what the spec and tool schemas can state."""
        return self.required and not self.or_instead

    @property
    def query_description(self) -> str:
        """The description as a URL's query parameter: how to give several values there.

        A tool call passes a JSON array, so its argument's description (`description`) leaves
        this out."""
        return f"{self.description} {QUERY_ARRAY_NOTE}" if self.is_array else self.description

    @property
    def upstream_name(self) -> str:
        """The upstream's name; the route spells arrays its way (`upstream.routes`)."""
        return self.upstream or self.name

    def allowed(self) -> str:
        """What is allowed, in words, for error hints."""
        last = last_season()
        return {
            "ids": f"positive integer ids, at most {MAX_ARRAY_VALUES}, repeated or comma-separated",
            "seasons": f"years {FIRST_SEASON} to {last} (a season is named by the year it began),"
            f" at most {MAX_ARRAY_VALUES}",
            "dates": f"real dates as YYYY-MM-DD or {RELATIVE_WORDS} (US Eastern days),"
            f" at most {MAX_ARRAY_VALUES}",
            "date": f"a real date as YYYY-MM-DD or {RELATIVE_WORDS} (the US Eastern day)",
            "season": f"a year from {FIRST_SEASON} to {last} (the year the season began)",
            "limit": f"an integer from 1 to {LIMIT_MAX} (default {LIMIT_DEFAULT})",
            "cursor": "the non-negative integer meta.next_cursor of the previous page",
            "bool": "true or false",
            "enum": "one of "
            + ", ".join(self.choices)
            + (f" (or {', '.join(word for word, _ in self.aliases)})" if self.aliases else "")
            + ", in any case",
            "text": f"1 to {MAX_TEXT_CHARS} characters of text, no control characters",
            "names": f"names, or ids from 1 to {MAX_ID}; at most {MAX_ARRAY_VALUES},"
            " repeated or comma-separated",
            "sort": "a column, - before it for descending: " + ", ".join(self.choices),
            "fields": "columns, repeated or comma-separated: " + ", ".join(self.choices),
            "last": f"an integer from 1 to {LAST_MAX}",
            "next": f"an integer from 1 to {LAST_MAX}",
        }[self.kind]

    def schema(self) -> dict[str, Any]:
        """JSON schema of the value (OpenAPI 3.0 and MCP inputSchema alike).

        Seasons have no `maximum`: the last one allowed moves each new year, and the committed
        openapi.yaml must not go stale on January 1st (validation still enforces it).
        """
        item: dict[str, Any]
        if self.kind in ("ids",):
            item = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif self.kind == "seasons":
            item = {"type": "integer", "minimum": FIRST_SEASON}
        elif self.kind == "dates":
            item = dict(DAY_SCHEMA)
        elif self.kind == "names":
            item = {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT_CHARS,
                "pattern": TEXT_PATTERN,
                **({"example": self.example} if self.example else {}),
            }
        elif self.kind == "fields":
            item = {
                "type": "string",
                "maxLength": MAX_SORT_CHARS,
                **({"example": self.example} if self.example else {}),
            }
        if self.is_array:
            return {"type": "array", "items": item, "maxItems": MAX_ARRAY_VALUES}
        return {
            "date": dict(DAY_SCHEMA),
            "season": {"type": "integer", "minimum": FIRST_SEASON},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": LIMIT_MAX,
                "default": LIMIT_DEFAULT,
            },
            "cursor": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            "last": {"type": "integer", "minimum": 1, "maximum": LAST_MAX},
            "next": {"type": "integer", "minimum": 1, "maximum": LAST_MAX},
            "bool": {"type": "boolean"},
            "enum": {"type": "string", "enum": [*self.choices, *(w for w, _ in self.aliases)]},
            "sort": {
                "type": "string",
                "maxLength": MAX_SORT_CHARS,
                "pattern": SORT_PATTERN,
                **({"example": self.example} if self.example else {}),
            },
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT_CHARS,
                "pattern": TEXT_PATTERN,
            },
        }[self.kind]

    def parse(self, raw: list[str]) -> Value:
        """Turn the raw strings given for this parameter into its value."""
        parts = [p.strip() for r in raw for p in (r.split(",") if self.is_array else [r])]
        parts = [p for p in parts if p]
        if not parts:  # as the spec has it: a value given is never empty (leave it out instead)
            raise ApiError(
                400,
                errors.INVALID_PARAMETER,
                f"Parameter '{self.name}' is empty.",
                f"Leave it out, or give {self.allowed()}.",
            )
        if self.is_array:
            if len(parts) > MAX_ARRAY_VALUES:  # counted as given, repeats too, as the spec does
                raise bad_parameter(self.name, f"{len(parts)} values", self.allowed())
            return tuple(sorted({self._one(p) for p in parts}))
        if len(parts) > 1:
            raise bad_parameter(self.name, ",".join(raw), self.allowed() + ", given once")
        return self._one(parts[0])

    def _one(self, text: str) -> Any:
        kind = self.kind
        if kind == "names" and text.isascii() and text.isdigit():
            # A name given as an id is an id: checked here, before any lookup.
            if len(text) > 12 or not 1 <= int(text) <= MAX_ID:
                raise bad_parameter(self.name, text, self.allowed())
            return str(int(text))
        if kind in ("ids", "seasons", "season", "limit", "cursor", "last", "next"):
            if not (text.isascii() and text.isdigit()) or len(text) > 12:
                raise bad_parameter(self.name, text, self.allowed())
            number = int(text)
            low, high = {
                "ids": (1, MAX_ID),
                "seasons": (FIRST_SEASON, last_season()),
                "season": (FIRST_SEASON, last_season()),
                "limit": (1, LIMIT_MAX),
                "cursor": (0, MAX_ID),
                "last": (1, LAST_MAX),
                "next": (1, LAST_MAX),
            }[kind]
            if not low <= number <= high:
                raise bad_parameter(self.name, text, self.allowed())
            return number
        if kind in ("dates", "date"):
            day = relative_day(text)  # today, yesterday...: the league's day, resolved now
            if day is not None:
                return day.isoformat()
            try:
                if not _DATE_RE.match(text):
                    raise ValueError
                return dt.date.fromisoformat(text).isoformat()
            except ValueError:
                raise bad_parameter(self.name, text, self.allowed()) from None
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise bad_parameter(self.name, text, self.allowed())
            return lowered == "true"
        if kind == "enum":
            for word, choice in (*((c, c) for c in self.choices), *self.aliases):
                if word.lower() == text.lower():
                    return choice
            raise bad_parameter(self.name, text, self.allowed())
        if kind == "sort":
            if text.lstrip("-") not in self.choices or text.startswith("--"):
                raise bad_parameter(self.name, text, self.allowed())
            return text
        if kind == "fields":
            if text not in self.choices:
                raise bad_parameter(self.name, text, self.allowed())
            return text
        if len(text) > MAX_TEXT_CHARS or not _TEXT_RE.fullmatch(text):
            raise bad_parameter(self.name, text, self.allowed())
        return text


@dataclass(frozen=True)
class Query:
    """A validated, normalised question: equal questions are equal objects with equal keys."""

    values: Mapping[str, Value] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    @cached_property
    def key(self) -> str:
        """Canonical text of the question: sorted names, sorted de-duplicated arrays.

        JSON, so that no text value (which may hold `&` or `=`) can make two questions collide.
        Computed once per object: a memoised question (`QueryMemo`) keeps its key.
        """
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def replace(self, **changes: Value | None) -> Query:
        values = dict(self.values)
        for name, value in changes.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return Query(values)

    def as_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.values.items())}


def parse_query(params: Iterable[Param], query: MultiMapping[str] | Mapping[str, Any]) -> Query:
    """Validate raw query params (repeated, comma-separated or bracketed) into a `Query`.

    Raises the 400 `ApiError` on the first problem, before anything is sent upstream.
    """
    declared = {p.name: p for p in params}
    raw: dict[str, list[str]] = {}
    for key, value in query.items():
        name = key[:-2] if key.endswith("[]") else key
        param = declared.get(name)
        if param is None or (key.endswith("[]") and not param.is_array):
            raise ApiError(
                400,
                errors.UNKNOWN_PARAMETER,
                f"Unknown parameter '{key[:40]}'.",
                "Allowed parameters: " + (", ".join(declared) or "none") + ".",
            )
        raw.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    values: dict[str, Value] = {}
    for name, texts in raw.items():
        values[name] = declared[name].parse([_text(name, t) for t in texts])
    for param in declared.values():
        if param.kind == "limit" and param.name not in values:
            # The upstream's default page size, made explicit: no limit and limit=25 are one
            # question, one cache key.
            values[param.name] = LIMIT_DEFAULT
        if (
            param.required
            and param.name not in values
            and not any(name in values for name in param.or_instead)
        ):
            instead = f" (or {' or '.join(param.or_instead)})" if param.or_instead else ""
            raise ApiError(
                400,
                errors.MISSING_PARAMETER,
                f"Parameter '{param.name}'{instead} is required.",
                f"Give {param.name}: {param.allowed()}.",
            )
    _check_combinations(declared.values(), values)
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, str) and isinstance(end, str) and start > end:
        raise ApiError(
            400,
            errors.INVALID_DATE_RANGE,
            f"start_date {start} is after end_date {end}.",
            "Give start_date on or before end_date.",
        )
    return Query(values)


def _check_combinations(params: Iterable[Param], values: Mapping[str, Value]) -> None:
    """A parameter given with one it excludes, or without any of those it needs: 400."""
    for param in params:
        if param.name not in values:
            continue
        clash = [name for name in param.excludes if name in values]
        if clash:
            raise ApiError(
                400,
                errors.CONFLICTING_PARAMETERS,
                f"Parameter '{param.name}' cannot be combined with {', '.join(clash)}.",
                f"Ask with {param.name} or with {', '.join(clash)}, not both.",
            )
        if param.needs_one_of and not any(name in values for name in param.needs_one_of):
            wanted = ", ".join(param.needs_one_of)
            raise ApiError(
                400,
                errors.MISSING_PARAMETER,
                f"Parameter '{param.name}' needs one of {wanted}.",
                f"Give {param.name} together with one of {wanted}.",
            )


def _text(name: str, value: Any) -> str:
    """Values come as text from a URL; MCP arguments may come as JSON numbers or booleans (a
    fraction too: read as its text, so the parameter's own rule says what it allows)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise bad_parameter(name, value, "a string, number or boolean")


def upstream_params(params: Iterable[Param], query: Query) -> list[tuple[str, str]]:
    """The upstream's query pairs for a validated question, in declaration order."""
    pairs: list[tuple[str, str]] = []
    for param in params:
        value = query.get(param.name)
        if value is None or param.local:
            continue
        for item in value if isinstance(value, tuple) else (value,):
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append((param.upstream_name, text))
    return pairs
