"""Values other objects keep (coalesced waiters, the cache's size, the breaker, the upstream
plan), exported as metrics when scraped rather than copied into counters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class StateCollector(Collector):
    """Values other objects keep, read at scrape time.

    `read()` returns {"coalesced": int, "cache_entries": int | None, "cache_bytes": int | None,
    "breaker_open": bool, "last_success": float | None}.
    """

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def describe(self) -> list[Metric]:
        return []  # values appear only once the app runs; no describe-time read

    def collect(self) -> Iterator[Metric]:
        state = self.read()
        if not state:
            return
        yield CounterMetricFamily(
            "sportstats_coalesced_waiters",
            "Requests that waited for another request's upstream fetch instead of their own",
            value=state["coalesced"],
        )
        yield GaugeMetricFamily(
            "sportstats_upstream_breaker_open",
            "1 while the circuit breaker holds upstream calls back",
            value=1 if state["breaker_open"] else 0,
        )
        if state["last_success"] is not None:
            yield GaugeMetricFamily(
                "sportstats_upstream_last_success_timestamp_seconds",
                "Unix time of the last good upstream answer in this process",
                value=state["last_success"],
            )
        yield from plan_metrics(state.get("plan"))
        if state["cache_entries"] is not None:
            yield GaugeMetricFamily(
                "sportstats_cache_entries",
                "Answers in the in-process cache",
                value=state["cache_entries"],
            )
            yield GaugeMetricFamily(
                "sportstats_cache_bytes",
                "Approximate size of the in-process cache",
                value=state["cache_bytes"],
            )


def plan_metrics(plan: dict[str, Any] | None) -> Iterator[Metric]:
    """The upstream plan (set or learned), its budget and the tools on offer."""
    if not plan:
        return
    info = GaugeMetricFamily(
        "sportstats_upstream_plan",
        "1 for the upstream plan in use: its name (none while auto has not learned it) and"
        " whether it was set or learned",
        labels=["plan", "source"],
    )
    info.add_metric([plan["plan"] or "none", plan["source"]], 1)
    yield info
    yield GaugeMetricFamily(
        "sportstats_upstream_budget_per_minute",
        "Upstream requests allowed in any 60 s: the plan's budget or the configured override",
        value=plan["requests_per_minute"],
    )
    yield GaugeMetricFamily(
        "sportstats_upstream_routes_refused",
        "Upstream routes learned as outside the plan (401 while the key works elsewhere)",
        value=len(plan["refused_routes"]),
    )
    yield GaugeMetricFamily(
        "sportstats_upstream_key_rejected",
        "1 while the upstream rejects the API key on every route",
        value=1 if plan["key"] == "rejected" else 0,
    )
    tools = GaugeMetricFamily(
        "sportstats_tools_on_offer", "1 for each MCP tool the plan serves", labels=["tool"]
    )
    for name in plan["tools"]:
        tools.add_metric([name], 1)
    yield tools
