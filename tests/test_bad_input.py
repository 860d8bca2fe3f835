"""A corpus of bad input on every endpoint: malformed, oversized, injected and unicode values.

Each one is answered with a 4xx (400/404/405/413/414/431) and the JSON error
`{"error": {"code", "message", "hint"}}`, and none reaches the upstream (the fake upstream on
127.0.0.1 records every call). The corpus is built in code from each endpoint's declared
parameters, plus the injection strings of tests/bad_inputs.txt. Oversized URLs and headers and
malformed requests are sent as raw bytes over a real socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from sportstats.app import create_app
from sportstats.core.endpoints import ENDPOINTS, Endpoint
from sportstats.core.params import MAX_ARRAY_VALUES, MAX_TEXT_CHARS, Param
from sportstats.web.runner import JsonErrorAppRunner
from tests.conftest import API_KEY, make_settings
from tests.fault_upstream import FaultUpstream, listen

pytestmark = pytest.mark.fuzz

BAD_STATUSES = {400, 404, 405, 413, 414, 431}
INJECTIONS = [
    line
    for line in (Path(__file__).parent / "bad_inputs.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("# ")
]
CONTROL = ["\x00", "1\x00", "\x00\x01", "1\r\nX-Injected: yes", "\x1b[2J", "\x7f", "1\x852", "1\t2"]
NUMBER_NOISE = [
    "-1", "1.5", "1.0", "1e3", "0x1F", "0b101", "9" * 13, "9" * 300, "12abc", "1 2", "1/2",
    "１２", "١٢", "𝟙", "1\u0301", "1\u200b", "\u202e12", "Infinity", "NaN",
]  # fmt: skip
BAD_DATES = [
    "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "2024-01-00",
    "0000-01-01", "2024-1-5", "24-01-05", "2024/01/05", "20240105", "2024-01-05T00:00:00",
    "2024-01-05Z", "05-01-2024", "someday", "yester day", "last-night", "２０２４-01-05",
    "2024-٠١-05", "2024--01-05",
]  # fmt: skip
VALID = {
    "ids": "1",
    "seasons": "2020",
    "season": "2020",
    "dates": "2024-01-05",
    "date": "2024-01-05",
    "limit": "5",
    "cursor": "5",
    "bool": "true",
    "text": "curry",
    "names": "LAL",
    "sort": "-pts",
    "fields": "pts",
    "last": "3",
    "next": "3",
}
UNKNOWN_NAMES = [
    "id", "player_id", "team_id", "game_id", "search", "per_page", "page", "callback",
    "format", "__proto__", "constructor", "$where", "a[b]", "QUERY", "Limit", "<script>",
    "名前", "🏀", "x" * 200, "", "limit\x00", "../etc",
]  # fmt: skip


def too_many(kind: str) -> str:
    count = MAX_ARRAY_VALUES + 1
    if kind == "ids":
        return ",".join(str(n) for n in range(1, count + 1))
    if kind == "seasons":
        return ",".join(str(1990 + n) for n in range(count))
    return ",".join(f"2024-01-{n:02d}" for n in range(1, count + 1))


def bad_values(param: Param) -> list[str]:
    """Values this parameter must refuse, by kind."""
    kind = param.kind
    values = list(CONTROL)
    if kind in ("ids", "seasons", "season", "limit", "cursor"):
        values += NUMBER_NOISE + INJECTIONS
        values += {
            "ids": ["0"],
            "seasons": ["1945", "3000", "202"],
            "season": ["1945", "3000", "202"],
            "limit": ["0", "101", "1000000"],
            "cursor": [],
        }[kind]
    elif kind in ("dates", "date"):
        values += BAD_DATES + INJECTIONS
    elif kind == "bool":
        values += ["yes", "no", "1", "0", "on", "t", "truee", "true,false"] + INJECTIONS
    elif kind == "enum":
        values += ["North", "Easterly", "E", "East West", "Pacific Ocean"] + INJECTIONS
    elif kind == "sort":
        values += ["nonsense", "-nonsense", "--pts", "pts desc", "PTS", "-"] + INJECTIONS
    elif kind == "fields":
        values += ["foo", "-pts", "PTS", "pts desc", "*", "player.name"] + INJECTIONS
    elif kind in ("last", "next"):
        values += ["0", "26", "-1", "1.5", "abc", "3,4", "99999999999999"] + INJECTIONS
    elif kind == "names":
        # An id must be a real id. A printable name that names nobody is refused after one
        # cached lookup (tests/test_teams.py, tests/test_players.py), so it is not listed here.
        values += ["", " ", ",", "0", "000", "9" * 13, "LAL,0"]
        values += ["a" * (MAX_TEXT_CHARS + 1), "x" * 4000, "LAL\x00", "La\nkers"]
    elif kind == "text":
        # Any printable text up to the limit is a valid search, injections included.
        values += [
            "a" * (MAX_TEXT_CHARS + 1),
            "é" * (MAX_TEXT_CHARS + 1),
            "🏀" * (MAX_TEXT_CHARS + 1),
            "x" * 4000,
            "curry\x00",
            "cu\nrry",
            "\x1b[31mred",
            "' OR 1=1 --\x00",
        ]
    if param.is_array:
        values += [too_many(kind), f"{VALID[kind]},{values[0]}"]
    return values


def corpus(endpoint: Endpoint) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(label, query pairs) of bad questions to one endpoint."""
    required = [(p.name, VALID[p.kind]) for p in endpoint.params if p.required]
    for param in endpoint.params:
        others = [pair for pair in required if pair[0] != param.name]
        for value in bad_values(param):
            yield f"{param.name}={value[:30]!r}", [*others, (param.name, value)]
        if not param.is_array:
            valid = param.choices[0] if param.kind in ("enum", "sort") else VALID[param.kind]
            yield f"{param.name} twice", [*others, (param.name, valid), (param.name, valid)]
            yield f"{param.name}[]", [*others, (f"{param.name}[]", valid)]
        else:
            many = [(param.name, str(n)) for n in range(1, MAX_ARRAY_VALUES + 2)]
            if param.kind == "ids":
                yield f"{param.name} repeated 26 times", [*others, *many]
    for name in UNKNOWN_NAMES:
        yield f"unknown {name[:20]!r}", [*required, (name, "1")]
    yield "500 unknown parameters", [*required, *((f"p{n}", str(n)) for n in range(500))]
    if required:
        yield "required parameter missing", []
    names = {p.name for p in endpoint.params}
    if {"start_date", "end_date"} <= names:
        yield "start after end", [("start_date", "2024-02-01"), ("end_date", "2024-01-01")]


def assert_json_error(status: int, body: bytes, label: str) -> dict[str, Any]:
    assert status in BAD_STATUSES, f"{label}: HTTP {status} {body[:200]!r}"
    assert b"Traceback" not in body, label
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "hint"}, label
    assert all(isinstance(error[k], str) and error[k] for k in ("code", "message")), label
    assert isinstance(error["hint"], str), label
    return error


@pytest.fixture
async def fake() -> AsyncIterator[FaultUpstream]:
    upstream = FaultUpstream(api_key=API_KEY)
    await upstream.start()
    yield upstream
    await upstream.close()


@pytest.fixture
async def server_url(fake: FaultUpstream) -> AsyncIterator[str]:
    """The real app served as `python -m sportstats` serves it, on a loopback port."""
    settings = make_settings(upstream_url=fake.url, limits={"requests_per_minute": 0})
    runner = JsonErrorAppRunner(create_app(settings), access_log=None)
    yield await listen(runner)
    await runner.cleanup()


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(server_url) as session:
        yield session


@pytest.fixture
def port(server_url: str) -> int:
    return URL(server_url).port or 80


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
async def test_every_bad_question_is_a_json_4xx_and_never_reaches_the_upstream(
    client: aiohttp.ClientSession, fake: FaultUpstream, endpoint: Endpoint, subtests: Any
) -> None:
    asked = 0
    for label, pairs in corpus(endpoint):
        calls_before = len(fake.calls)
        with subtests.test(msg=label):
            url = URL.build(path=endpoint.path).with_query(pairs)
            response = await client.get(url)
            body = await response.read()
            error = assert_json_error(response.status, body, label)
            assert response.content_type == "application/json", label
            if response.status == 400:
                assert error["hint"], label
            assert len(fake.calls) == calls_before, f"{label}: {fake.calls[calls_before:]}"
        asked += 1
    assert asked >= 100


PATHS = [
    "/player", "/Players", "/players/", "/players/1", "/v1/players", "/admin", "/.env",
    "/.git/config", "/%2e%2e/%2e%2e/etc/passwd", "/players%00", "/teams;drop", "/stats.json",
    "/%F0%9F%8F%80", "/%ZZ", "/" + "a" * 2000, "/games/../../etc/passwd", "/season-averages",
    "/openapi.json", "/wp-login.php", "/cgi-bin/../../bin/sh", "/%c0%ae%c0%ae/",
]  # fmt: skip


async def test_unknown_paths_are_a_json_404(
    client: aiohttp.ClientSession, fake: FaultUpstream
) -> None:
    for path in PATHS:
        response = await client.get(URL(path, encoded=True))
        error = assert_json_error(response.status, await response.read(), path)
        assert response.status in (400, 404), path
        assert error["code"] in ("not_found", "bad_request"), path
    assert fake.calls == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"])
async def test_other_methods_are_a_json_405_on_every_endpoint(
    client: aiohttp.ClientSession, fake: FaultUpstream, method: str
) -> None:
    for endpoint in ENDPOINTS:
        response = await client.request(method, endpoint.path, data=b"player_ids=1")
        assert_json_error(response.status, await response.read(), f"{method} {endpoint.path}")
        assert response.status == 405
        assert "GET" in response.headers["Allow"]
    assert fake.calls == []


# Raw HTTP over a real socket: what a client library would refuse to send.


async def send_raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return int(status_line.split()[1]), headers, body


def request(target: str, headers: str = "", method: str = "GET") -> bytes:
    return (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
    ).encode("latin-1")


OVERSIZED = [
    ("query of 9 KB", request("/players?query=" + "a" * 9_000), 414),
    ("query of 100 KB", request("/players?query=" + "a" * 100_000), 414),
    ("path of 20 KB", request("/" + "a" * 20_000), 414),
    ("many ids in the URL", request("/stats?" + "&".join(["player_ids=1"] * 3000)), 414),
    ("one header of 20 KB", request("/teams", "X-Big: " + "b" * 20_000 + "\r\n"), 431),
    ("300 headers", request("/teams", "".join(f"X-H{n}: v\r\n" for n in range(300))), 431),
    ("cookie of 64 KB", request("/teams", "Cookie: a=" + "c" * 65_536 + "\r\n"), 431),
]


@pytest.mark.parametrize(("label", "raw", "status"), OVERSIZED, ids=[o[0] for o in OVERSIZED])
async def test_oversized_urls_and_headers_are_a_json_414_or_431(
    port: int, fake: FaultUpstream, label: str, raw: bytes, status: int
) -> None:
    got, headers, body = await send_raw(port, raw)
    assert_json_error(got, body, label)
    assert got == status, f"{label}: HTTP {got}"
    assert headers["content-type"].startswith("application/json")
    assert fake.calls == []


MALFORMED = [
    ("HTTP/9.9", b"GET /teams HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("NUL in the target", b"GET /teams\x00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ("space in a header name", b"GET /teams HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"),
    ("bad Content-Length", b"GET /teams HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
    ("TLS on the HTTP port", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64),
    ("no target", b"GET\r\nHost: x\r\n\r\n"),
    ("header without a colon", b"GET /teams HTTP/1.1\r\nHost: x\r\nno-colon-here\r\n\r\n"),
    ("garbage", b"\xff\xfe\xfd garbage garbage\r\n\r\n"),
]


@pytest.mark.parametrize(("label", "raw"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_requests_are_a_json_400(
    port: int, fake: FaultUpstream, label: str, raw: bytes
) -> None:
    got, _, body = await send_raw(port, raw)
    assert got == 400, label
    assert_json_error(got, body, label)
    assert fake.calls == []


async def test_a_post_with_a_large_body_is_refused_without_an_upstream_call(
    port: int, fake: FaultUpstream
) -> None:
    body = b"x" * 2_000_000
    raw = request("/players", f"Content-Length: {len(body)}\r\n", method="POST") + body
    got, _, answer = await send_raw(port, raw)
    assert got in (405, 413)
    assert_json_error(got, answer, "large POST")
    assert fake.calls == []
