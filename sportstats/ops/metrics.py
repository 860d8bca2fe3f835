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

import asyncio
import os
from bisect import bisect_left
from collections import Counter as TallyCounter
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, NamedTuple

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ..upstream.client import UpstreamEvent
from .state_metrics import StateCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30)
UPSTREAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)
ANONYMOUS = "anonymous"  # the client label of requests without a tester's key
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # no `*_created` twin of every counter: half the series, no loss


class Metrics:
    """Every instrument the server updates, registered in one per-app registry.

    The per-request metrics (requests, their duration, cache answers, per-tester counts, in
    flight) are kept by `RequestCounts` in one process, and by prometheus-client's instruments
    under gunicorn, where only those reach the files every worker's values are summed from.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.state = StateCollector(dict)  # nothing to read until `watch`
        r.register(self.state)
        self.requests: RequestCounts | RequestInstruments
        if os.environ.get(MULTIPROC_DIR_ENV):
            self.requests = RequestInstruments(r)
        else:
            self.requests = RequestCounts()
            r.register(self.requests)
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

    def request_started(self) -> None:
        self.requests.started()

    def observe_request(
        self,
        endpoint: str,
        status: int,
        duration_s: float,
        client: str | None,
        cache_state: str | None,
        upstream_calls: int,
    ) -> None:
        """Count one answered request (runs on every request, cache hits included)."""
        self.requests.done(
            endpoint, status, duration_s, client or ANONYMOUS, cache_state, upstream_calls
        )

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
        if isinstance(self.requests, RequestInstruments):
            self.requests.flush()  # this pass's counts, the scrape's own included
        if not os.environ.get(MULTIPROC_DIR_ENV):
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker)
        every_worker.register(self.state)
        return generate_latest(every_worker)


class Family(NamedTuple):
    """A per-request metric's name, help text and labels, declared once for both ways of
    keeping them (`RequestCounts`, `RequestInstruments`)."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()


REQUESTS = Family("sportstats_requests", "HTTP requests answered", ("endpoint", "status"))
DURATION = Family(
    "sportstats_request_duration_seconds", "Time to answer an HTTP request", ("endpoint",)
)
IN_FLIGHT = Family("sportstats_requests_in_flight", "HTTP requests being answered now")
CACHE_ANSWERS = Family(
    "sportstats_cache_answers",
    "Data answers by cache state, as in X-Cache (HIT, MISS, STALE, UPDATING)",
    ("endpoint", "state"),
)
CLIENT_REQUESTS = Family(
    "sportstats_client_requests",
    f"Requests per tester ({ANONYMOUS}: without a tester key), by status",
    ("client", "status"),
)
CLIENT_CALLS = Family(
    "sportstats_client_upstream_calls",
    "Upstream requests each tester's questions caused",
    ("client",),
)
# The `le` labels of the duration buckets, as prometheus-client writes them.
_BUCKET_EDGES = (*(repr(float(b)) for b in REQUEST_BUCKETS_S), "+Inf")


class RequestCounts(Collector):
    """The per-request metrics of one process as plain numbers, put into families when scraped.

    prometheus-client's instruments take a lock and run their checks on every update; five
    updates a request cost a cache hit more than its cache lookup. Here a request adds to one
    row, kept per label set (endpoint, status, client, cache state: each from a bounded set, so
    the rows are bounded too). The event loop is the only writer: no lock is needed.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        # label set -> [requests, upstream calls, duration sum, per-bucket counts...]
        self._rows: dict[tuple[str, int, str, str | None], list[Any]] = {}

    def started(self) -> None:
        self.in_flight += 1

    def done(
        self,
        endpoint: str,
        status: int,
        duration_s: float,
        client: str,
        cache_state: str | None,
        upstream_calls: int,
    ) -> None:
        self.in_flight -= 1
        key = (endpoint, status, client, cache_state)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0, 0, 0.0] + [0] * (len(REQUEST_BUCKETS_S) + 1)
        row[0] += 1
        row[1] += upstream_calls
        row[2] += duration_s
        row[3 + bisect_left(REQUEST_BUCKETS_S, duration_s)] += 1

    def describe(self) -> list[Metric]:
        return []  # the families exist once requests were counted

    def collect(self) -> Iterator[Metric]:
        requests: TallyCounter = TallyCounter()
        cache_answers: TallyCounter = TallyCounter()
        client_requests: TallyCounter = TallyCounter()
        client_calls: TallyCounter = TallyCounter()
        durations: dict[str, list[float]] = {}
        for (endpoint, status, client, cache_state), row in self._rows.items():
            requests[endpoint, str(status)] += row[0]
            client_requests[client, str(status)] += row[0]
            client_calls[(client,)] += row[1]
            if cache_state:
                cache_answers[endpoint, cache_state] += row[0]
            total = durations.setdefault(endpoint, [0.0] * (len(REQUEST_BUCKETS_S) + 2))
            for i, value in enumerate(row[2:]):
                total[i] += value
        yield _counter_family(REQUESTS, requests)
        duration = HistogramMetricFamily(
            DURATION.name, DURATION.documentation, labels=DURATION.labels
        )
        for endpoint, (seconds, *buckets) in durations.items():
            cumulative = list(accumulate(buckets))
            duration.add_metric(
                [endpoint], list(zip(_BUCKET_EDGES, cumulative, strict=True)), seconds
            )
        yield duration
        yield GaugeMetricFamily(IN_FLIGHT.name, IN_FLIGHT.documentation, self.in_flight)
        yield _counter_family(CACHE_ANSWERS, cache_answers)
        yield _counter_family(CLIENT_REQUESTS, client_requests)
        yield _counter_family(CLIENT_CALLS, client_calls)


def _counter_family(family: Family, values: TallyCounter) -> CounterMetricFamily:
    counter = CounterMetricFamily(family.name, family.documentation, labels=family.labels)
    for label_values, value in values.items():
        counter.add_metric(list(label_values), value)
    return counter


class RequestInstruments:
    """The per-request metrics as prometheus-client instruments: for gunicorn's workers, whose
    values prometheus-client keeps in shared files.

    Each update of such a value takes a lock, a `getpid` and a write to the file: seven a
    request cost a cache hit a tenth of its CPU. So a request adds to plain rows, and the rows
    of one event-loop pass go to the instruments at once, at the end of the pass (and before
    any scrape this worker answers). Labelled children are looked up once per label set.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self._children: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.requests = Counter(*REQUESTS, registry=r)
        self.duration = Histogram(*DURATION, buckets=REQUEST_BUCKETS_S, registry=r)
        self.in_flight = Gauge(*IN_FLIGHT, registry=r, multiprocess_mode="livesum")
        self.cache_answers = Counter(*CACHE_ANSWERS, registry=r)
        self.client_requests = Counter(*CLIENT_REQUESTS, registry=r)
        self.client_calls = Counter(*CLIENT_CALLS, registry=r)
        self._started = 0  # requests started since the last flush
        # label set -> [requests, upstream calls, duration sum, per-bucket counts...]
        self._pending: dict[tuple[str, int, str, str | None], list[Any]] = {}
        self._due = False  # a flush is scheduled

    def started(self) -> None:
        self._started += 1
        if not self._due:
            self._flush_soon()

    def done(
        self,
        endpoint: str,
        status: int,
        duration_s: float,
        client: str,
        cache_state: str | None,
        upstream_calls: int,
    ) -> None:
        self._started -= 1
        key = (endpoint, status, client, cache_state)
        row = self._pending.get(key)
        if row is None:
            row = self._pending[key] = [0, 0, 0.0] + [0] * (len(REQUEST_BUCKETS_S) + 1)
        row[0] += 1
        row[1] += upstream_calls
        row[2] += duration_s
        row[3 + bisect_left(REQUEST_BUCKETS_S, duration_s)] += 1  # as Histogram.observe
        if not self._due:
            self._flush_soon()

    def _flush_soon(self) -> None:
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no event loop running here: now
            self.flush()
            return
        self._due = True

    def flush(self) -> None:
        """Hand the pending counts to the instruments (and so to the files)."""
        self._due = False
        if self._started:
            self.in_flight.inc(self._started)
            self._started = 0
        pending, self._pending = self._pending, {}
        for key, (requests, calls, seconds, *buckets) in pending.items():
            self._add(key, requests, calls, seconds, buckets)

    def _add(
        self,
        key: tuple[str, int, str, str | None],
        count: int,
        calls: int,
        seconds: float,
        buckets: list[int],
    ) -> None:
        endpoint, status, client, cache_state = key
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(endpoint, str(status)),
                self.duration.labels(endpoint),
                self.client_requests.labels(client, str(status)),
                self.client_calls.labels(client),
                self.cache_answers.labels(endpoint, cache_state) if cache_state else None,
            )
        requests, duration, client_requests, client_calls, cache_answers = children
        requests.inc(count)
        # Histogram.observe, for many values at once: its sum, and each value's one bucket
        # (prometheus-client keeps them per bucket and adds them up when it exports).
        duration._sum.inc(seconds)
        for value, number in zip(duration._buckets, buckets, strict=True):
            if number:
                value.inc(number)
        client_requests.inc(count)
        if calls:
            client_calls.inc(calls)
        if cache_answers is not None:
            cache_answers.inc(count)
