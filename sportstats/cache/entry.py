"""A cached answer: its JSON kept ready to send, and the times that decide its freshness.

Vocabulary as in Varnish: a `hit` is fresh; `revalidating` (UPDATING) is just past its TTL, served
at once while one background refresh runs; `stale` is an expired copy served because the upstream
failed; a `miss` went upstream. An entry holds its answer serialised up to the value of
`meta.cache`, so a hit costs one lookup and one concatenation.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from typing import Any

STATES = ("hit", "miss", "stale", "revalidating")
X_CACHE = {"hit": "HIT", "miss": "MISS", "stale": "STALE", "revalidating": "UPDATING"}
# Memory one Entry costs besides its body (object with slots, three floats), measured with
# tracemalloc on CPython 3.11 (bench/bench_cache.py) and rounded up.
ENTRY_OBJECT_BYTES = 150
# What follows the body: the state, then the upstream calls this answer cost its asker.
_ENDINGS = {
    (state, calls): f'{state}","upstream_calls":{calls}}}}}'.encode()
    for state in STATES
    for calls in range(5)
}


@dataclass(slots=True)
class Entry:
    """One cached answer. `body` is its JSON cut just before the value of `meta.cache`."""

    body: str
    fetched_at: float
    fresh_until: float
    stale_until: float
    _encoded: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Bytes this entry holds in memory: the body as text and, once sent, as UTF-8 bytes,
        the object and its floats."""
        return 2 * sys.getsizeof(self.body) + ENTRY_OBJECT_BYTES

    def render(self, state: str, upstream_calls: int = 0) -> bytes:
        """The answer as sent: the body encoded once, then one concatenation per request, with
        `meta.cache` and `meta.upstream_calls` (what the upstream was asked for this answer)."""
        if self._encoded is None:
            self._encoded = self.body.encode()
        ending = _ENDINGS.get((state, upstream_calls))
        if ending is None:
            ending = f'{state}","upstream_calls":{upstream_calls}}}}}'.encode()
        return self._encoded + ending

    def to_dict(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "fetched_at": self.fetched_at,
            "fresh_until": self.fresh_until,
            "stale_until": self.stale_until,
        }

    @classmethod
    def from_stored(cls, value: Any) -> Entry | None:
        if isinstance(value, Entry):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError:
                return None
        return None


def answer_body(answer: dict[str, Any], fetched_at: float) -> str:
    """Serialise an answer with `meta.fetched_at`, cut just before the value of `meta.cache`."""
    meta = dict(answer["meta"])
    meta.pop("cache", None)
    meta["fetched_at"] = dt.datetime.fromtimestamp(fetched_at, dt.UTC).isoformat(timespec="seconds")
    meta["cache"] = ""
    ordered = {key: value for key, value in answer.items() if key != "meta"} | {"meta": meta}
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    return text[: -len('"}}')]


def parse_body(body: str) -> dict[str, Any]:
    """The answer an entry holds, for merging it into a larger answer."""
    return json.loads(body + '"}}')
