"""The answer cache: hits and misses, one key per question, TTLs, the memory bound, stale copies."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import aiohttp
import pytest

from sportstats.cache import (
    AnswerCache,
    BoundedMemoryCache,
    Entry,
    MemoryStore,
    Produced,
    RedisStore,
)
from sportstats.cache.entry import answer_body
from sportstats.core.endpoints import BY_NAME
from sportstats.settings import CacheSettings, SettingsError, load_settings
from sportstats.settings import command_line as parser
from tests.cache_support import answer_when, calls, fast, install_clock, settle
from tests.conftest import API_KEY, load_fixture, make_settings, upstream_route

PLAYERS = load_fixture("players_page_ASSEMBLED.json")
EMPTY_PLAYERS = load_fixture("players_empty_search.json")
TEAMS = load_fixture("teams_all.json")
PLAYERS_TTL_S = 6 * 3600
STALE_MAX_AGE_S = 86_400


async def test_first_question_is_a_miss_and_the_repeat_a_hit_without_upstream_call(
    make_client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    client = await make_client(**fast())

    first = await client.get("/players?query=james")
    second = await client.get("/players?query=james")

    assert first.status == second.status == 200
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    one, two = await first.json(), await second.json()
    assert (one["meta"]["cache"], two["meta"]["cache"]) == ("miss", "hit")
    assert one["data"] == two["data"]
    assert one["meta"]["fetched_at"] == two["meta"]["fetched_at"]
    assert calls(upstream) == 1


async def test_age_header_and_fetched_at_tell_when_the_upstream_produced_the_answer(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    client = await make_client(**fast())
    first = await client.get("/players?query=james")
    fetched_at = dt.datetime.fromisoformat((await first.json())["meta"]["fetched_at"])
    clock.advance(90)

    later = await client.get("/players?query=james")

    assert first.headers["Age"] == "0"
    assert later.headers["X-Cache"] == "HIT"
    assert 89 <= int(later.headers["Age"]) <= 91
    assert abs(fetched_at.timestamp() - (clock.time() - 90)) < 2


@pytest.mark.parametrize(
    "variants",
    [
        (
            "/players?team_ids=14,2&player_ids=237",
            "/players?player_ids=237&team_ids=2&team_ids=14",
            "/players?team_ids[]=14&team_ids[]=2&team_ids[]=14&player_ids[]=237",
            "/players?player_ids=237,237&team_ids=2,14,2",
        ),
        (
            "/games?seasons=2024&dates=2025-01-05&team_ids=14",
            "/games?team_ids=14&dates=2025-01-05&seasons=2024",
            "/games?seasons[]=2024&seasons[]=2024&dates[]=2025-01-05&team_ids=14",
        ),
    ],
)
async def test_the_same_question_in_any_spelling_is_one_cache_key(
    make_client: Any, upstream: Any, variants: tuple[str, ...]
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    upstream.get(
        upstream_route("/games"),
        payload=load_fixture("games_2025-01-05_final_with_quarters.json"),
        repeat=True,
    )
    client = await make_client(**fast())

    answers = [await client.get(path) for path in variants]

    assert [r.status for r in answers] == [200] * len(variants)
    assert [r.headers["X-Cache"] for r in answers] == ["MISS"] + ["HIT"] * (len(variants) - 1)
    assert len({str((await r.json())["meta"]["query"]) for r in answers}) == 1
    assert calls(upstream) == 1


async def test_no_limit_and_the_default_limit_are_one_cache_key(
    make_client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast())

    unset = await client.get("/players?query=james")
    default = await client.get("/players?query=james&limit=25")

    assert unset.status == default.status == 200
    assert (unset.headers["X-Cache"], default.headers["X-Cache"]) == ("MISS", "HIT")
    assert (await unset.json())["meta"]["query"] == (await default.json())["meta"]["query"]
    assert calls(upstream) == 1


async def test_different_questions_are_different_keys(make_client: Any, upstream: Any) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast())

    for path in ("/players?team_ids=14", "/players?team_ids=2", "/players?team_ids=2,14"):
        assert (await client.get(path)).headers["X-Cache"] == "MISS"

    assert calls(upstream) == 3


async def test_an_expired_answer_is_fetched_again(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast(cache={"ttl_s": {"players": 60}, "revalidate_window_s": 10}))
    await client.get("/players?query=james")

    clock.advance(59)
    still_fresh = await client.get("/players?query=james")
    clock.advance(12)  # past the TTL and past the revalidation window
    expired = await client.get("/players?query=james")

    assert still_fresh.headers["X-Cache"] == "HIT"
    assert expired.headers["X-Cache"] == "MISS"
    assert calls(upstream) == 2


async def test_an_empty_answer_is_cached_only_briefly(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=EMPTY_PLAYERS, repeat=True)
    client = await make_client(**fast(cache={"empty_ttl_s": 30, "revalidate_window_s": 10}))

    first = await client.get("/players?query=zzzz")
    repeat = await client.get("/players?query=zzzz")
    clock.advance(41)
    later = await client.get("/players?query=zzzz")

    assert (await first.json())["data"] == []
    assert [first.headers["X-Cache"], repeat.headers["X-Cache"], later.headers["X-Cache"]] == [
        "MISS",
        "HIT",
        "MISS",
    ]
    assert calls(upstream) == 2


@pytest.mark.parametrize(
    "failure",
    [{"status": 400, "payload": {"error": "bad"}}, {"status": 503, "body": "down"}],
    ids=["rejected", "unavailable"],
)
async def test_upstream_errors_are_never_cached(
    make_client: Any, upstream: Any, failure: dict[str, Any]
) -> None:
    upstream.get(upstream_route("/players"), **failure, repeat=True)
    client = await make_client(**fast(upstream={"max_attempts": 1}))

    first = await client.get("/players?query=james")
    second = await client.get("/players?query=james")

    assert first.status == second.status == 502
    assert "X-Cache" not in second.headers
    assert calls(upstream) == 2


async def test_the_memory_cache_evicts_the_least_recently_used_answer(
    make_client: Any, upstream: Any
) -> None:
    upstream.get(upstream_route("/players"), payload=PLAYERS, repeat=True)
    client = await make_client(**fast(cache={"max_entries": 2}))
    for name in ("a", "b"):
        await client.get(f"/players?query={name}")
    await client.get("/players?query=a")  # a is now more recent than b

    await client.get("/players?query=c")  # evicts b
    states = {
        name: (await client.get(f"/players?query={name}")).headers["X-Cache"] for name in "ac"
    }
    b_again = await client.get("/players?query=b")

    assert states == {"a": "HIT", "c": "HIT"}
    assert b_again.headers["X-Cache"] == "MISS"
    assert calls(upstream) == 4


async def test_memory_backend_keeps_at_most_max_entries() -> None:
    cache = BoundedMemoryCache(max_entries=3, max_bytes=10**9)

    for n in range(10):
        await cache.set(f"k{n}", f"value {n}")
    await cache.get("k7")
    await cache.set("k10", "value 10")

    assert len(cache) == 3
    assert [await cache.get(k) for k in ("k7", "k9", "k10")] == ["value 7", "value 9", "value 10"]
    assert await cache.get("k8") is None
    assert cache.evictions == 8


async def test_memory_backend_keeps_its_byte_count_within_max_bytes() -> None:
    entry_bytes = BoundedMemoryCache._size("k00", "x" * 1000)
    cache = BoundedMemoryCache(max_entries=10**6, max_bytes=entry_bytes * 5)

    for n in range(50):
        await cache.set(f"k{n:02}", "x" * 1000)
        assert cache.bytes <= cache.max_bytes

    assert len(cache) == 5
    await cache.delete("k49")
    await cache.clear()
    assert (len(cache), cache.bytes) == (0, 0)


async def test_memory_backend_counts_what_an_entry_really_holds() -> None:
    short = Entry("x" * 10, 0, 1, 2)
    long = Entry("x" * 10_000, 0, 1, 2)
    accented = Entry("é" * 10_000, 0, 1, 2)

    assert long.size - short.size >= 9_990
    assert accented.size > long.size  # non-ASCII text takes more than a byte per character
    assert BoundedMemoryCache._size("k" * 500, long) > BoundedMemoryCache._size("k", long) + 490


async def test_memory_backend_forgets_an_expired_value(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = install_clock(monkeypatch)
    cache = BoundedMemoryCache(max_entries=10, max_bytes=10**6)
    await cache.set("k", "v", ttl=5)

    clock.advance(4)
    assert await cache.get("k") == "v"
    clock.advance(2)
    assert await cache.get("k") is None
    assert (len(cache), cache.bytes) == (0, 0)


async def test_an_answer_just_past_its_ttl_is_served_while_exactly_one_refresh_runs(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    newer = {**PLAYERS, "data": PLAYERS["data"][:1]}
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    answered = asyncio.Event()  # the refresh answers only once all ten were answered
    upstream.get(upstream_route("/players"), payload=newer, callback=answer_when(answered.is_set))
    client = await make_client(**fast())
    first = await (await client.get("/players?query=james")).json()
    clock.advance(PLAYERS_TTL_S + 1)

    during = await asyncio.gather(*(client.get("/players?query=james") for _ in range(10)))
    answered.set()
    await settle(client.app)
    after = await client.get("/players?query=james")

    # said once per refresh: by the answer that started it; the others are hits of that copy
    assert sorted(r.headers["X-Cache"] for r in during) == ["HIT"] * 9 + ["UPDATING"]
    bodies = [await r.json() for r in during]
    assert sorted(b["meta"]["cache"] for b in bodies) == ["hit"] * 9 + ["revalidating"]
    assert all(b["data"] == first["data"] for b in bodies)
    assert after.headers["X-Cache"] == "HIT"
    assert len((await after.json())["data"]) == 1
    assert calls(upstream) == 2  # the first fetch and one refresh


STALE_CASES = {
    "5xx": {"status": 500, "body": "on fire"},
    "429": {"status": 429, "payload": {"error": "Too Many Requests"}},
    "timeout": {"exception": TimeoutError()},
    "connection": {"exception": aiohttp.ClientConnectionError("refused")},
}


@pytest.mark.parametrize("failure", STALE_CASES.values(), ids=STALE_CASES.keys())
async def test_an_expired_copy_is_served_as_stale_when_the_upstream_fails(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch, failure: dict[str, Any]
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(upstream_route("/players"), **failure, repeat=True)
    client = await make_client(**fast())
    fresh = await (await client.get("/players?query=james")).json()
    clock.advance(PLAYERS_TTL_S + 3600)  # past the TTL and the revalidation window

    stale = await client.get("/players?query=james")

    assert stale.status == 200
    assert stale.headers["X-Cache"] == "STALE"
    assert int(stale.headers["Age"]) >= PLAYERS_TTL_S + 3600 - 1
    body = await stale.json()
    assert body["meta"]["cache"] == "stale"
    assert body["data"] == fresh["data"]
    assert body["meta"]["fetched_at"] == fresh["meta"]["fetched_at"]
    assert calls(upstream) >= 2


async def test_no_stale_copy_is_served_past_stale_max_age(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(upstream_route("/players"), status=503, body="down", repeat=True)
    client = await make_client(**fast(cache={"stale_max_age_s": 600}))
    await client.get("/players?query=james")
    clock.advance(PLAYERS_TTL_S + 601)

    answer = await client.get("/players?query=james")

    assert answer.status == 502
    assert (await answer.json())["error"]["code"] == "upstream_error"


async def test_an_error_that_is_not_transient_is_not_hidden_by_a_stale_copy(
    make_client: Any, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = install_clock(monkeypatch)
    upstream.get(upstream_route("/players"), payload=PLAYERS)
    upstream.get(upstream_route("/players"), status=401, body="Unauthorized", repeat=True)
    client = await make_client(**fast())
    await client.get("/players?query=james")
    clock.advance(PLAYERS_TTL_S + 3600)

    answer = await client.get("/players?query=james")

    assert answer.status == 503  # a 401 on a route every plan serves: the key is refused
    assert (await answer.json())["error"]["code"] == "upstream_key_rejected"


def days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("endpoint", "games", "season", "expected_s"),
    [
        ("teams", [], None, 24 * 3600),
        ("players", [], None, 6 * 3600),
        ("games", [{"status": "Final", "date": days_ago(30)}], None, 3 * 86400),
        ("stats", [{"status": "Final", "date": days_ago(30)}] * 3, None, 3 * 86400),
        ("games", [{"status": "Final", "date": days_ago(1)}], None, 300),
        ("games", [{"status": "Final", "date": days_ago(0)}], None, 30),
        ("games", [{"status": "3rd Qtr", "date": days_ago(0)}], None, 30),
        ("games", [{"status": "2020-01-05T00:00:00Z", "date": days_ago(-3)}], None, 30),
        (
            "stats",
            [{"status": "Final", "date": days_ago(30)}, {"status": "Half", "date": days_ago(0)}],
            None,
            30,
        ),
        ("games", [], None, 60),
        ("season_averages", [], 2019, 3 * 86400),
        ("season_averages", [], "current", 600),
    ],
)
def test_ttl_follows_how_fast_the_data_changes(
    endpoint: str, games: list[dict[str, Any]], season: Any, expected_s: int
) -> None:
    current = 2025
    season = current if season == "current" else season

    items = [{"game": game} for game in games] if endpoint == "stats" else games  # a box score

    freshness = BY_NAME[endpoint].freshness
    assert freshness.ttl_s(CacheSettings(), items, season, current) == expected_s


def test_ttls_come_from_the_configuration() -> None:
    settings = CacheSettings(ttl_s={"games": 100, "teams": 7})

    teams, games = BY_NAME["teams"].freshness, BY_NAME["games"].freshness

    assert teams.ttl_s(settings, []) == 7
    assert games.ttl_s(settings, [{"status": "Final", "date": "2001-01-01"}]) == 100
    assert games.ttl_s(settings, [{"status": "1st Qtr", "date": "2001-01-01"}]) == 30


async def test_cache_entry_renders_the_state_into_the_stored_answer() -> None:
    answer = {"columns": ["a"], "data": [{"a": "é"}], "meta": {"count": 1, "cache": "old"}}
    entry = Entry(answer_body(answer, 0.0), 0.0, 10.0, 20.0)

    for state in ("hit", "miss", "stale", "revalidating"):
        for cost in (0, 3, 12):
            rendered = json.loads(entry.render(state, cost))
            assert rendered["meta"] == {
                "count": 1,
                "fetched_at": "1970-01-01T00:00:00+00:00",
                "cache": state,
                "upstream_calls": cost,
            }
        assert rendered["data"] == [{"a": "é"}]


async def test_a_fetch_with_nothing_to_keep_is_not_stored() -> None:
    cache = AnswerCache(MemoryStore(10, 10**6), CacheSettings())
    answer = {"columns": [], "data": [], "meta": {}}

    async def produce() -> Produced:
        return Produced(answer, 0)

    await cache.fetch("k", produce)

    assert len(cache.store.backend) == 0


async def test_fresh_finds_only_a_fresh_in_process_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = install_clock(monkeypatch)
    cache = AnswerCache(MemoryStore(10, 10**6), CacheSettings())
    answer = {"columns": [], "data": [{"a": 1}], "meta": {}}

    async def produce() -> Produced:
        return Produced(answer, 60)

    assert cache.fresh("k") is None  # nothing kept yet
    stored, _ = await cache.fetch("k", produce)
    assert cache.fresh("k") is stored
    clock.advance(61)
    assert cache.fresh("k") is None  # past its TTL: `fetch` decides (revalidate, stale, miss)
    assert (await cache.get("k")) is stored  # still kept, for stale-while-revalidate


async def test_fresh_leaves_the_redis_backend_to_fetch() -> None:
    cache = AnswerCache(RedisStore(object(), "unused:"), CacheSettings())
    assert cache.fresh("k") is None


YAML = """
cache:
  max_entries: 123
  stale_max_age_s: 3600
  ttl_s:
    players: 11
    teams: 22
    games: 33
    stats: 44
    season_averages: 55
upstream:
  requests_per_minute: 5
  max_attempts: 2
  deadline_s: 9
redis_url: redis://127.0.0.1:6379/3
"""


def test_issue_config_keys_are_read_from_yaml(tmp_path: Any) -> None:
    path = tmp_path / "sportstats.yaml"
    path.write_text(YAML)

    settings = load_settings(config_file=str(path), environ={"BALLDONTLIE_API_KEY": API_KEY})

    assert settings.cache.max_entries == 123
    assert settings.cache.stale_max_age_s == 3600
    assert settings.cache.ttl_s == {
        "players": 11,
        "teams": 22,
        "games": 33,
        "stats": 44,
        "season_averages": 55,
        "standings": 3 * 86400,  # not in the file: its default
    }
    assert settings.upstream.requests_per_minute == 5
    assert settings.upstream.max_attempts == 2
    assert settings.upstream.deadline_s == 9
    assert settings.redis_url == "redis://127.0.0.1:6379/3"


def test_environment_beats_yaml_and_command_line_beats_both(tmp_path: Any) -> None:
    path = tmp_path / "sportstats.yaml"
    path.write_text(YAML)
    environ = {
        "BALLDONTLIE_API_KEY": API_KEY,
        "SPORTSTATS_REDIS_URL": "redis://127.0.0.1:6379/4",
        "SPORTSTATS_CACHE__TTL_S__PLAYERS": "66",
        "SPORTSTATS_UPSTREAM__REQUESTS_PER_MINUTE": "60",
    }
    cli = vars(parser().parse_args(["--redis-url", "redis://127.0.0.1:6379/5"]))
    cli.pop("config")

    from_env = load_settings(config_file=str(path), environ=environ)
    from_cli = load_settings(cli=cli, config_file=str(path), environ=environ)

    assert from_env.redis_url == "redis://127.0.0.1:6379/4"
    assert from_env.cache.ttl_s["players"] == 66
    assert from_env.cache.ttl_s["teams"] == 22  # the other TTLs stay as the YAML says
    assert from_env.upstream.requests_per_minute == 60
    assert from_cli.redis_url == "redis://127.0.0.1:6379/5"


def test_defaults_are_those_the_readme_documents() -> None:
    settings = make_settings()

    assert settings.cache.max_entries == 10_000
    assert settings.cache.stale_max_age_s == 86_400
    assert settings.upstream.requests_per_minute is None  # the plan's budget
    assert settings.upstream.max_attempts == 3
    assert settings.upstream.deadline_s == 20
    assert settings.redis_url is None


@pytest.mark.parametrize("deadline_s", [0, 45, 60])
def test_a_deadline_the_assistant_would_not_wait_for_is_refused(deadline_s: float) -> None:
    with pytest.raises(SettingsError, match="deadline_s must be above 0 and under 45"):
        make_settings(upstream={"deadline_s": deadline_s})
