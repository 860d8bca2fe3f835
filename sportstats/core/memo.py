"""Validated questions remembered by their query string: a repeated question skips validation."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from yarl import URL

from .params import Param, Query, parse_query

MAX_MEMOISED_QUERIES = 512  # per endpoint
MAX_MEMOISED_QUERY_CHARS = 512  # longer query strings are parsed each time: the memo stays small


class QueryMemo:
    """`parse_query` for one endpoint's URL queries, remembering the questions it validated.

    Keyed by the raw (still percent-encoded) query string, so two URLs share a result only when
    they are the same text. Only valid questions are kept, and what is valid never narrows with
    time (the last season allowed only moves forward), so a kept question stays right. Repeated
    questions are what a cache serves: a hit then skips validation and key building.
    Least recently used questions are dropped past `size`, and only query strings of at most
    `MAX_MEMOISED_QUERY_CHARS` are kept: the memo stays small whatever the callers send.
    """

    def __init__(self, params: Iterable[Param], size: int = MAX_MEMOISED_QUERIES) -> None:
        self.params = tuple(params)
        self.size = size
        self._known: OrderedDict[str, Query] = OrderedDict()

    def parse(self, url: URL) -> Query:
        """The question in `url`'s query string (the 400 `ApiError` if it is not valid)."""
        raw_query = url.raw_query_string
        known = self._known.get(raw_query)
        if known is not None:
            self._known.move_to_end(raw_query)
            return known
        parsed = parse_query(self.params, url.query)
        if len(raw_query) <= MAX_MEMOISED_QUERY_CHARS:
            self._known[raw_query] = parsed
            if len(self._known) > self.size:
                self._known.popitem(last=False)
        return parsed

    def __len__(self) -> int:
        return len(self._known)
