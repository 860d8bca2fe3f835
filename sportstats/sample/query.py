"""Reading a vendor request as the vendor does, and what a route's answer is made of.

Array params come as `name[]` repeated (the vendor's spec spells a few without the brackets:
both are read); a value the vendor would refuse raises `BadParams` with the words of its 400.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from multidict import MultiMapping

Query = MultiMapping[str]


class BadParams(Exception):
    """A 400: the message says what was wrong, as the vendor's `{"error": ...}` does."""


class NotFound(Exception):
    """A 404 for an id the league does not have."""


@dataclass
class Listing:
    """Items to answer, in ascending `key` (an id) order; `paged`: by the vendor's cursor over
    that key. Items may come lazily: a page reads only as far as it needs."""

    items: Iterable[Any]
    paged: bool = True
    key: Callable[[Any], int] = lambda item: item["id"]


def ints(query: Query, name: str) -> list[int]:
    """An array param as the vendor reads it: `name[]` repeated (or `name`, as its spec spells
    some)."""
    values = query.getall(f"{name}[]", []) + query.getall(name, [])
    try:
        return [int(value) for value in values]
    except ValueError:
        raise BadParams(f"{name} must be integers") from None


def one_int(query: Query, name: str, required: bool = False) -> int | None:
    value = query.get(name)
    if value is None:
        if required:
            raise BadParams(f"{name} is required")
        return None
    try:
        return int(value)
    except ValueError:
        raise BadParams(f"{name} must be an integer") from None


def dates(query: Query, name: str) -> list[dt.date]:
    values = query.getall(f"{name}[]", []) + query.getall(name, [])
    try:
        return [dt.date.fromisoformat(value) for value in values]
    except ValueError:
        raise BadParams(f"{name} must be dates as YYYY-MM-DD") from None


def flag(query: Query, name: str) -> bool | None:
    value = query.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadParams(f"{name} must be true or false")
    return value == "true"
