"""gunicorn's per-request metrics, handed to prometheus-client once per event-loop pass: the
same samples as one update per request, none left pending at a scrape."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from sportstats.ops.metrics import RequestCounts, RequestInstruments

REQUESTS = [
    ("teams", 200, 0.004, "anonymous", "HIT", 0),
    ("teams", 200, 0.005, "alice", "MISS", 1),  # on a bucket's edge
    ("teams", 200, 0.0051, "alice", "HIT", 0),
    ("teams", 503, 21.0, "alice", "STALE", 3),  # past the last bucket
    ("players", 400, 0.0001, "anonymous", None, 0),
    ("teams", 200, 0.004, "anonymous", "HIT", 0),  # a label set again
]


def samples(registry: CollectorRegistry) -> dict[tuple[Any, ...], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): round(s.value, 9)
        for family in registry.collect()
        for s in family.samples
    }


def plain_counts() -> CollectorRegistry:
    registry = CollectorRegistry()
    counts = RequestCounts()
    registry.register(counts)
    counts.started()  # one still in flight
    for request in REQUESTS:
        counts.started()
        counts.done(*request)
    return registry


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every counter update prometheus-client makes (each one a file write under gunicorn)."""
    made: list[float] = []
    inc = Counter.inc

    def spy(self: Counter, amount: float = 1, *args: Any) -> None:
        made.append(amount)
        inc(self, amount, *args)

    monkeypatch.setattr(Counter, "inc", spy)
    return made


async def test_one_pass_of_requests_is_handed_over_at_its_end_with_the_same_samples(
    updates: list[float],
) -> None:
    registry = CollectorRegistry()
    instruments = RequestInstruments(registry)
    instruments.started()
    for request in REQUESTS:
        instruments.started()
        instruments.done(*request)
    assert updates == []  # nothing yet: the pass is not over
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert samples(registry) == samples(plain_counts())
    # one update per label set and counter, not one per request
    assert sum(updates) == 2 * len(REQUESTS) + 4 + 5  # requests, per client, calls, cache
    assert len(updates) < 3 * len(REQUESTS)


async def test_a_scrape_sees_the_counts_of_its_own_pass() -> None:
    registry = CollectorRegistry()
    instruments = RequestInstruments(registry)
    instruments.started()  # the scrape itself, in flight
    instruments.started()
    instruments.done(*REQUESTS[0])
    instruments.flush()  # what Metrics.render does first
    got = samples(registry)
    assert got[("sportstats_requests_in_flight", ())] == 1
    assert got[("sportstats_requests_total", (("endpoint", "teams"), ("status", "200")))] == 1
