"""Readiness: may a load balancer send this process traffic?

Ready means the cache backend answers (memory always does; Redis must answer a ping) and the
upstream answered within `max_age_s` or answers a probe now. Probes are rationed so that polling
costs next to nothing of the upstream budget: a probe runs only when no real request reached the
upstream within `max_age_s`, at most one at a time, and after a failed probe the failure is
reported again for `FAILED_PROBE_HOLD_S` without a new one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..cache import AnswerCache
from ..core.offer import on_offer
from ..errors import UpstreamFailure, UpstreamRateLimited
from ..upstream.client import UpstreamClient
from ..upstream.coverage import key_rejected
from ..upstream.routes import ROUTES

PROBE_ROUTE = ROUTES["teams"]  # the cheapest upstream question: one small page, on every plan
PROBE_DEADLINE_S = 5.0
PING_TIMEOUT_S = 1.0
FAILED_PROBE_HOLD_S = 30.0

Check = dict[str, Any]


class Readiness:
    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._probe: asyncio.Task[Check] | None = None
        self._failed_at = float("-inf")  # monotonic time of the last failed probe
        self._failure: Check = {}

    async def report(self, cache: AnswerCache, upstream: UpstreamClient) -> tuple[bool, Check]:
        """(ready?, the JSON body saying which check failed and why)."""
        cache_check, upstream_check = await asyncio.gather(
            self.cache_check(cache), self.upstream_check(upstream)
        )
        upstream_check = {**upstream_check, "source": upstream.source}  # the sample says so
        checks = {"cache": cache_check, "upstream": upstream_check}
        failed = [name for name, check in checks.items() if not check["ok"]]
        status = "not_ready" if failed else "ready"
        body = {"status": status, "failed": failed, "checks": checks}
        return not failed, {**body, "plan": plan_on_offer(upstream)}

    async def cache_check(self, cache: AnswerCache) -> Check:
        backend = cache.store.kind
        try:
            await asyncio.wait_for(cache.store.ping(), PING_TIMEOUT_S)
        except Exception as exc:  # the type only: the message could hold the Redis URL
            return {"ok": False, "backend": backend, "error": f"ping failed: {type(exc).__name__}"}
        return {"ok": True, "backend": backend}

    async def upstream_check(self, upstream: UpstreamClient) -> Check:
        if time.monotonic() - self._failed_at < FAILED_PROBE_HOLD_S:
            return self._failure
        if upstream.coverage.key_rejected:  # known: no probe would say otherwise for a while
            failure = key_rejected()
            return {"ok": False, "error": failure.code, "message": failure.message}
        last = upstream.last_success
        if last is not None and time.time() - last <= self.max_age_s:
            return {"ok": True, "last_success_age_s": round(time.time() - last)}
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._run_probe(upstream))
        return await asyncio.shield(self._probe)

    async def _run_probe(self, upstream: UpstreamClient) -> Check:
        deadline = asyncio.get_running_loop().time() + PROBE_DEADLINE_S
        try:
            await upstream.get(PROBE_ROUTE, [], deadline)
        except UpstreamFailure as exc:
            if isinstance(exc, UpstreamRateLimited):  # it answers; it only slows us down
                return {"ok": True, "probed": True, "note": exc.message}
            failure = {"ok": False, "probed": True, "error": exc.code, "message": exc.message}
        except Exception as exc:  # e.g. the shared budget's Redis is down
            failure = {"ok": False, "probed": True, "error": f"probe failed: {type(exc).__name__}"}
        else:
            return {"ok": True, "probed": True, "last_success_age_s": 0}
        self._failed_at = time.monotonic()
        self._failure = failure
        return failure

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)


def plan_on_offer(upstream: UpstreamClient) -> Check:
    """The plan (set or learned), its budget, and the tools it serves: /readyz, /metrics."""
    coverage = upstream.coverage
    tools = [endpoint.tool_name for endpoint in on_offer(coverage.covers)]
    return {**coverage.describe(), "tools": tools}
