"""Property-based tests generated from the served `openapi.yaml` (Schemathesis).

The real app listens on a loopback port, in a thread of its own (Schemathesis calls it with a
blocking HTTP client); the upstream is the fake on 127.0.0.1 answering every path with recorded
fixtures. For a few hundred generated requests per operation, valid and invalid alike, no answer
may be a 5xx, and every answer must match the spec: a documented status, its content type and its
body schema. The seed is fixed, so a failure reproduces.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode, checks

from sportstats.app import create_app
from sportstats.core.dates import relative_day
from sportstats.core.endpoints import BY_NAME, ENDPOINTS, Endpoint
from sportstats.core.params import last_season
from sportstats.web.runner import JsonErrorAppRunner
from tests.conftest import API_KEY, make_settings
from tests.fault_upstream import FaultUpstream, listen

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 250
# An id the generated requests do not ask (they draw small and edge values), so that the
# harness's question is not already answered from the cache by the fuzzing before it.
SAMPLE = {"ids": [987_654_321]}
SEED = 20241124


class ServedApp:
    """The real app and the fake upstream on loopback ports, served by a background loop."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.fake = FaultUpstream(api_key=API_KEY)
        self.runner: JsonErrorAppRunner | None = None
        self.url = ""

    def __enter__(self) -> ServedApp:
        self.thread.start()
        self.url = self._run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(30)

    async def _start(self) -> str:
        upstream_url = await self.fake.start()
        settings = make_settings(upstream_url=upstream_url, **self.overrides)
        self.runner = JsonErrorAppRunner(create_app(settings), access_log=None)
        return await listen(self.runner)

    async def _stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()
        await self.fake.close()


@pytest.fixture(scope="module")
def served() -> Iterator[ServedApp]:
    # No client rate limit and a generous upstream budget: the fuzzer asks thousands of
    # distinct questions in a minute.
    with ServedApp(
        limits={"requests_per_minute": 0}, upstream={"requests_per_minute": 100_000}
    ) as app:
        yield app


@pytest.fixture(scope="module")
def api_schema(served: ServedApp) -> Any:
    loaded = schemathesis.openapi.from_url(f"{served.url}/openapi.yaml")
    loaded.config.seed = SEED
    # A refusal the spec documents besides 400: an over-long URL (414) or headers (431).
    rejections = loaded.config.checks.negative_data_rejection
    rejections.expected_statuses = [*rejections.expected_statuses, "414", "431"]
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
        database="none",  # reproducible from the seed alone, no example store on disk
    )
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


def breaks_a_rule_the_schema_cannot_state(case: Any) -> bool:
    """Rules validation enforces beyond the schema: the last season allowed moves each year (so
    the spec leaves it out), start_date may not be after end_date, and a team name must name
    one real team and a player name one real player (known only upstream), `sort` must name a
    column of the table and so must each of `fields` (the schema gives their shape, not the
    list), season averages need player_ids or player, and a parameter may exclude others or
    need one of them (`last`: not with cursor, on /stats with a player or team)."""
    query = case.query or {}
    given = {name for name, value in query.items() if value not in (None, [], "")}
    if given & {"team", "opponent", "player", "sort", "fields"}:
        return True
    for param in BY_NAME[case.path[1:]].params:
        if param.name in given and (
            given & set(param.excludes)
            or (param.needs_one_of and not given & set(param.needs_one_of))
        ):
            return True
    if case.path == "/season_averages" and not (query.get("player_ids") or query.get("player")):
        return True  # player_ids or player: one of the two is needed
    seasons = query.get("seasons")
    asked = [query.get("season"), *(seasons if isinstance(seasons, list) else [seasons])]
    if any(isinstance(season, int) and season > last_season() for season in asked):
        return True
    start, end = (day(query.get(name)) for name in ("start_date", "end_date"))
    return isinstance(start, str) and isinstance(end, str) and start > end


def day(value: Any) -> Any:
    """A date as given, or the day a word (`yesterday`) names in the league's time zone."""
    named = relative_day(value) if isinstance(value, str) else None
    return named.isoformat() if named else value


@schema.parametrize()
def test_every_generated_request_gets_a_documented_answer_and_never_a_5xx(case: Any) -> None:
    # Every built-in check (`--checks all`): what the schema excludes is refused, and what it
    # allows is accepted, except where a rule lies beyond what a schema can state.
    excluded = []
    if breaks_a_rule_the_schema_cannot_state(case):
        excluded.append(checks.positive_data_acceptance)
    response = case.call_and_validate(excluded_checks=excluded)
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_harness_answers_each_operation_from_the_fake_upstream(
    api_schema: Any, served: ServedApp, endpoint: Endpoint
) -> None:
    """The fuzzing above is only worth something if valid questions reach the upstream."""
    operation = api_schema["/" + endpoint.name]["GET"]
    query = {p.name: SAMPLE[p.kind] for p in endpoint.params if p.required}
    calls = len(served.fake.calls)
    response = operation.Case(query=query).call_and_validate()
    assert response.status_code == 200
    assert len(served.fake.calls) > calls or response.json()["meta"]["cache"] == "hit"
