"""Whether the key a grant was signed in with still opens the server.

Every grant names a digest of the tester's key (`AccessControl.key_id`) and when it was issued.
It stands while that key is the tester's key now, so a rotated or removed key ends every token
issued under it. A removed key that comes back later must not bring its old tokens back: the
store keeps the key set last applied, and whichever process first applies a set without a key
writes down when that key ended; a grant issued before then stays ended for good. (Under gunicorn
the workers started with the new file do it; with SIGHUP, the process reloading.)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from .store import GrantStore

log = logging.getLogger(__name__)

KEYS_RECORD = "keys:applied"  # the key digests last applied, as the store has seen them


class KeyLedger:
    def __init__(self, store: GrantStore, testers: Any, ttl_s: float) -> None:
        self.store = store
        self.testers = testers  # AccessControl: `key_id(name)`, `key_ids`, `keys_version`
        self.ttl_s = ttl_s  # as long as a grant may live
        self._synced = -1
        self._ended: dict[str, float] = {}  # key digest: when it ended, for keys in use now
        self._recording: asyncio.Task[None] | None = None
        testers.key_listeners.append(self.reloaded)

    def reloaded(self) -> None:
        """The keys were reloaded (SIGHUP): record now what went, before a key can come back.
        Recordings run one after another (a second SIGHUP waits for the first)."""
        previous = self._recording

        async def in_turn() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self.record()

        self._recording = asyncio.get_running_loop().create_task(in_turn())

    async def close(self) -> None:
        """Let a recording under way finish (it is short: the store's own timeouts bound it)."""
        if self._recording is not None:
            await asyncio.gather(self._recording, return_exceptions=True)

    async def record(self) -> None:
        """Apply the keys in use now (at start-up, after a reload), the store permitting."""
        try:
            await self._sync()
        except Exception as exc:  # the store is away: the next token check records it
            log.warning("the reloaded tester keys could not be recorded yet: %s", exc)

    async def _sync(self) -> None:
        """After a (re)load of the keys: record the keys that went, learn when those in use
        now last ended."""
        version = self.testers.keys_version
        if version == self._synced:
            return
        current = set(self.testers.key_ids)
        applied = await self.store.get(KEYS_RECORD)
        now = time.time()
        for gone in set(applied["keys"] if applied else ()) - current:
            await self.store.put("key-ended:" + gone, {"at": now}, self.ttl_s)
        await self.store.put(KEYS_RECORD, {"keys": sorted(current)}, self.ttl_s)
        ended = {}
        for key in current:
            record = await self.store.get("key-ended:" + key)
            if record is not None:
                ended[key] = float(record["at"])
        self._ended, self._synced = ended, version

    async def stamp(self, tester: str) -> dict[str, Any]:
        """What a new grant of `tester` records: their key's digest and when it was issued."""
        await self._sync()
        return {"key": self.testers.key_id(tester), "issued_at": time.time()}

    async def current(self, held: dict[str, Any]) -> bool:
        """Is the key `held` was issued under still the tester's, and was it not removed since?"""
        await self._sync()
        key = self.testers.key_id(held["tester"])
        if key is None or not secrets.compare_digest(key, held.get("key") or ""):
            return False
        return float(held.get("issued_at") or 0) > self._ended.get(key, 0.0)
