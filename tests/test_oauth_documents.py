"""Client ID Metadata Documents fetched as an attacker would have them misfetched: a name that
resolves elsewhere the second time, a port probe through the error page, a document in two TCP
segments, addresses that lead elsewhere (NAT64, 6to4). The documents are served over real TLS on
127.0.0.1, under a certificate the fetch is made to trust for the test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohappyeyeballs
import pytest

from sportstats.app import create_app
from sportstats.ops.oauth import documents
from tests.certificates import self_signed
from tests.conftest import make_settings
from tests.server_process import free_port
from tests.test_oauth import CALLBACK, OAUTH, Flow, resolve_as
from tests.test_tls import certificate as tls_certificate  # noqa: F401 -- another name's cert

HOST = "client.example.org"
DOCUMENT = f"https://{HOST}/oauth/client.json"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return self_signed(tmp_path_factory.mktemp("documents"), [HOST])


Answer = Callable[[asyncio.StreamWriter, bytes], Any]


@pytest.fixture
async def document_server(
    certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """Starts a TLS server on 127.0.0.1 that answers as `answer` writes; the fetch trusts it."""
    cert_file, key_file = certificate
    trusted = ssl.create_default_context(cafile=cert_file)
    monkeypatch.setattr(documents, "TRUSTED_CAS", trusted)
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, cert: tuple[str, str] = certificate) -> int:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request = await reader.readuntil(b"\r\n\r\n")
                await answer(writer, request)
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def client_document(url: str) -> bytes:
    return json.dumps(
        {"client_id": url, "client_name": "Two Segments", "redirect_uris": [CALLBACK]}
    ).encode()


async def in_two_segments(writer: asyncio.StreamWriter, request: bytes) -> None:
    path = request.split(b" ")[1].decode()
    port = writer.get_extra_info("sockname")[1]
    body = client_document(f"https://{HOST}:{port}{path}")
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    writer.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + body[:20])
    await writer.drain()
    await asyncio.sleep(0.2)  # the rest of the body a moment later, in a segment of its own
    writer.write(body[20:])


async def never(writer: asyncio.StreamWriter, request: bytes) -> None:
    await asyncio.sleep(30)


@pytest.fixture
def make_client(aiohttp_client: Any) -> Callable[..., Any]:
    """The real app, with no mocked upstream in the way: the documents are really fetched."""

    async def factory(**overrides: Any) -> Any:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return factory


async def page_for(make_client: Any, client_id: str) -> tuple[int, str]:
    client = await make_client(
        auth={**OAUTH, "client_document_private_ok": True, "client_document_timeout_s": 1}
    )
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", client_id)
    page = await client.get("/authorize", params=flow.authorization())
    return page.status, await page.text()


async def test_a_document_in_two_segments_is_read_to_the_end(
    make_client: Any, document_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {HOST: ["127.0.0.1"]})
    port = await document_server(in_two_segments)
    status, text = await page_for(make_client, f"https://{HOST}:{port}/oauth/client.json")
    assert status == 200, text
    assert "Two Segments" in text


async def test_refused_tls_failure_and_timeout_read_the_same(
    make_client: Any,
    document_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    tls_certificate: tuple[str, str],  # noqa: F811 -- a certificate for another name
) -> None:
    resolve_as(monkeypatch, {HOST: ["127.0.0.1"]})
    silent = await document_server(never)
    wrong_name = await document_server(in_two_segments, cert=tls_certificate)
    closed = free_port()  # nothing listens there: the connection is refused
    pages = [
        await page_for(make_client, f"https://{HOST}:{port}/c.json")
        for port in (silent, wrong_name, closed)
    ]
    assert [status for status, _ in pages] == [400, 400, 400], pages
    messages = {text for _, text in pages}
    assert len(messages) == 1 and documents.UNREACHABLE in messages.pop()


async def test_the_fetch_connects_to_the_address_that_was_checked(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = "9.9.9.9"  # checked, then never reached: the connection below is only recorded
    resolve_as(monkeypatch, {HOST: [public, "127.0.0.1"]})  # the second answer rebinds
    connected: list[str] = []
    real = aiohappyeyeballs.start_connection

    async def start_connection(addr_infos: Any, *args: Any, **kwargs: Any) -> Any:
        if all(info[4][1] != 443 for info in addr_infos):  # the test's own client
            return await real(addr_infos, *args, **kwargs)
        connected.extend(info[4][0] for info in addr_infos)
        raise OSError("recorded, not connected")

    monkeypatch.setattr("aiohappyeyeballs.start_connection", start_connection)
    client = await make_client(auth=OAUTH)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", DOCUMENT)
    page = await client.get("/authorize", params=flow.authorization())
    assert page.status == 400 and documents.UNREACHABLE in await page.text()
    assert connected and set(connected) == {public}


@pytest.mark.parametrize(
    "address", ["64:ff9b::7f00:1", "64:ff9b:1::a00:1", "2002:7f00:1::1", "::ffff:127.0.0.1"]
)
async def test_nat64_6to4_and_mapped_addresses_are_not_public(
    make_client: Any, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    assert not documents.public_address(ipaddress.ip_address(address))
    resolve_as(monkeypatch, {HOST: [address]})
    client = await make_client(auth=OAUTH)
    flow = Flow(client, f"http://{client.server.host}:{client.server.port}", DOCUMENT)
    page = await client.get("/authorize", params=flow.authorization())
    assert page.status == 400 and "private or local address" in await page.text()


async def test_a_document_whose_client_name_is_a_list_is_a_400(
    make_client: Any, document_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_as(monkeypatch, {HOST: ["127.0.0.1"]})

    async def listed_name(writer: asyncio.StreamWriter, request: bytes) -> None:
        port = writer.get_extra_info("sockname")[1]
        url = f"https://{HOST}:{port}/c.json"
        body = json.dumps({"client_id": url, "client_name": ["a"], "redirect_uris": [CALLBACK]})
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())

    port = await document_server(listed_name)
    status, text = await page_for(make_client, f"https://{HOST}:{port}/c.json")
    assert status == 400 and "client_name must be text" in text
