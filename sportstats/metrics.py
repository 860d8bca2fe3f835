"""The server's Prometheus metrics, in a registry of their own per app.

Each app gets its own `CollectorRegistry` (not prometheus-client's global one), so several apps in
one process (tests, or a second app in a worker) never clash. Counters that other objects already
keep (coalesced waiters, the cache's size, the breaker) are read when scraped, not copied.
Label values are bounded: endpoints are route names, clients are tester names from the config.

Under gunicorn each worker counts its own requests; with PROMETHEUS_MULTIPROC_DIR set (the
gunicorn config sets it) prometheus-client keeps the values in files there, and a scrape, whichever
worker answers it, sums every worker's. The values read at scrape time are that worker's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .upstream import UpstreamEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30)
UPSTREAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)
ANONYMOUS = "anonymous"  # the client label of requests without a tester's key
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_MEMOISED_LABEL_SETS = 4096  # label values are bounded anyway; this bounds the memo too

disable_created_metrics()  # no `*_created` twin of every counter: half the series, no loss


class Metrics:
    """Every instrument the server updates, registered in one per-app registry."""

    def __init__(self) -> None:
        self._request_children: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.state = StateCollector(dict)  # nothing to read until `watch`
        r.register(self.state)
        self.requests = Counter(
            "sportstats_requests", "HTTP requests answered", ["endpoint", "status"], registry=r
        )
        self.request_duration = Histogram(
            "sportstats_request_duration_seconds",
            "Time to answer an HTTP request",
            ["endpoint"],
            buckets=REQUEST_BUCKETS_S,
            registry=r,
        )
        self.in_flight = Gauge(
            "sportstats_requests_in_flight",
            "HTTP requests being answered now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache_answers = Counter(
            "sportstats_cache_answers",
            "Data answers by cache state, as in X-Cache (HIT, MISS, STALE, UPDATING)",
            ["endpoint", "state"],
            registry=r,
        )
        self.upstream_calls = Counter(
            "sportstats_upstream_calls",
            "Upstream requests sent, by path and outcome (HTTP status, timeout, unreachable)",
            ["path", "outcome"],
            registry=r,
        )
        self.upstream_held_back = Counter(
            "sportstats_upstream_held_back",
            "Upstream attempts not sent (breaker_open, budget_spent, deadline)",
            ["path", "reason"],
            registry=r,
        )
        self.upstream_retries = Counter(
            "sportstats_upstream_retries", "Upstream requests that were retries", registry=r
        )
        self.upstream_duration = Histogram(
            "sportstats_upstream_duration_seconds",
            "Time of one upstream request",
            ["path"],
            buckets=UPSTREAM_BUCKETS_S,
            registry=r,
        )
        self.budget_remaining = Gauge(
            "sportstats_upstream_budget_remaining",
            "Upstream requests still allowed in the current 60 s window (all processes)",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.client_requests = Counter(
            "sportstats_client_requests",
            f"Requests per tester ({ANONYMOUS}: without a tester key), by status",
            ["client", "status"],
            registry=r,
        )
        self.client_upstream_calls = Counter(
            "sportstats_client_upstream_calls",
            "Upstream requests each tester's questions caused",
            ["client"],
            registry=r,
        )

    def observe_request(
        self,
        endpoint: str,
        status: int,
        duration_s: float,
        client: str | None,
        cache_state: str | None,
        upstream_calls: int,
    ) -> None:
        """Count one answered request. Runs on every request, cache hits included, so the
        labelled children are looked up once per label set and then reused."""
        client = client or ANONYMOUS
        key = (endpoint, status, client, cache_state)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(endpoint, str(status)),
                self.request_duration.labels(endpoint),
                self.client_requests.labels(client, str(status)),
                self.client_upstream_calls.labels(client),
                self.cache_answers.labels(endpoint, cache_state) if cache_state else None,
            )
            if len(self._request_children) < MAX_MEMOISED_LABEL_SETS:
                self._request_children[key] = children
        requests, duration, client_requests, client_calls, cache_answers = children
        requests.inc()
        duration.observe(duration_s)
        client_requests.inc()
        if upstream_calls:
            client_calls.inc(upstream_calls)
        if cache_answers is not None:
            cache_answers.inc()

    def observe_upstream(self, event: UpstreamEvent) -> None:
        if not event.sent:
            self.upstream_held_back.labels(event.path, event.outcome).inc()
            return
        self.upstream_calls.labels(event.path, event.outcome).inc()
        self.upstream_duration.labels(event.path).observe(event.duration_s)
        if event.retry:
            self.upstream_retries.inc()

    def watch(self, read: Callable[[], dict[str, Any]]) -> None:
        """Export the values `read()` returns when scraped (see `StateCollector`)."""
        self.state.read = read

    def render(self) -> bytes:
        if not os.environ.get(MULTIPROC_DIR_ENV):
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker)
        every_worker.register(self.state)
        return generate_latest(every_worker)


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
