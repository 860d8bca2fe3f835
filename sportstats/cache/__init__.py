"""The cache stage: entries (`entry`), where they live (`store`: memory or Redis, on aiocache),
the policy that serves them fresh, revalidating or stale (`freshness`), and single flight in the
process and across processes (`flight`)."""

from .entry import X_CACHE, Entry, parse_body
from .flight import RedisLock
from .freshness import AnswerCache, Produced
from .store import AnswerStore, BoundedMemoryCache, MemoryStore, RedisAnswerBackend, RedisStore

__all__ = [
    "X_CACHE",
    "AnswerCache",
    "AnswerStore",
    "BoundedMemoryCache",
    "Entry",
    "MemoryStore",
    "Produced",
    "RedisAnswerBackend",
    "RedisLock",
    "RedisStore",
    "parse_body",
]
