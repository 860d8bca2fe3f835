"""The deployment as docs/deployment.md describes it, end to end, with real parts.

The example config (`deploy/sportstats.example.yaml`, placeholders replaced, `auth.mode: oauth`)
runs under gunicorn on 127.0.0.1 with Redis, behind Debian's nginx or Caddy speaking TLS on a free
loopback port with a self-signed certificate. Each proxy's configuration is the docs' own block,
read from the docs at test time (only the name, ports and certificate paths are swapped for the
test's), so the test fails when the docs and the code drift apart. The official MCP client signs
in with OAuth through the proxy and calls a tool in both MCP eras; the `/.well-known` documents
and the 401 name the public URL.

The public name, `stats.example.test` (reserved: it resolves nowhere), is pinned to 127.0.0.1 in
the clients as `curl --resolve` pins it, and the certificate names it, so TLS is checked as a
client checks it and nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import ssl
import textwrap
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore2
import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult
from yarl import URL

from tests.certificates import self_signed
from tests.fake_upstream import make_app
from tests.mcp_support import NEGOTIATED
from tests.server_process import ROOT, ServerProcess, free_port
from tests.test_deploy import EXAMPLE, gunicorn
from tests.test_oauth import CALLBACK, Memory, SignInRefused, hidden_fields, oauth_client

DOCS = ROOT / "docs" / "deployment.md"  # the file whose proxy blocks are run here
DOCS_HOST = "stats.example.com"  # the docs' example name, swapped for PUBLIC_HOST
EXAMPLE_CONFIG = yaml.safe_load(EXAMPLE.read_text())
# The server's address in the example config, which the docs' blocks must proxy to; swapped for
# the test server's.
DOCS_BACKEND = f"{EXAMPLE_CONFIG['host']}:{EXAMPLE_CONFIG['port']}"
PUBLIC_HOST = "stats.example.test"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


# --- the docs' blocks ------------------------------------------------------------------------


def docs_block(language: str) -> str:
    """The one fenced block of `language` in the docs, dedented."""
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```$", DOCS.read_text(), re.M | re.S)
    assert len(blocks) == 1, f"{DOCS.name} should hold one {language} block, not {len(blocks)}"
    return textwrap.dedent(blocks[0][1])


def swapped(block: str, changes: Iterable[tuple[str, str]]) -> str:
    """`block` with the docs' example values replaced by the test's, each one present."""
    for old, new in changes:
        assert old in block, f"{DOCS.name}'s block no longer says {old!r}:\n{block}"
        block = block.replace(old, new)
    return block


# --- certificate, and clients that find the public name on loopback ---------------------------


@dataclass(frozen=True)
class Certificate:
    chain: str
    key: str


def certificate(folder: Path) -> Certificate:
    """A certificate for PUBLIC_HOST that is its own authority (the clients trust it alone)."""
    return Certificate(*self_signed(folder, [PUBLIC_HOST], ("fullchain.pem", "privkey.pem")))


class PinnedNames(httpcore2.AnyIOBackend):
    """Connects PUBLIC_HOST to 127.0.0.1 and refuses any other name: nothing leaves loopback."""

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        assert host in (PUBLIC_HOST, "127.0.0.1"), f"a connection to {host} was attempted"
        return await super().connect_tcp("127.0.0.1", port, *args, **kwargs)


def pinned_http(cert: Certificate, **options: Any) -> httpx2.AsyncClient:
    """An HTTP client that trusts `cert` alone and finds PUBLIC_HOST on 127.0.0.1."""
    context = ssl.create_default_context(cafile=cert.chain)
    transport = httpx2.AsyncHTTPTransport(verify=context)
    # The transport takes no resolver; its pool takes a network backend (as httpcore documents).
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=context, network_backend=PinnedNames()
    )
    return httpx2.AsyncClient(transport=transport, timeout=30, **options)


@dataclass
class Browser:
    """The tester's browser, through the proxy: opens the sign-in page, enters the key."""

    key: str
    cert: Certificate
    result: AuthorizationCodeResult | None = None
    pages: list[str] = field(default_factory=list)

    async def open(self, authorization_url: str) -> None:
        async with pinned_http(self.cert) as http:
            page = await http.get(authorization_url)
            assert page.status_code == 200, page.text
            self.pages.append(page.text)
            form = {**hidden_fields(page.text), "tester_key": self.key}
            action = str(URL(authorization_url).with_path("/authorize").with_query(None))
            answer = await http.post(action, data=form)
        if answer.status_code != 302:
            raise SignInRefused(answer.text)
        back = URL(answer.headers["Location"])
        assert str(back.with_query(None)) == CALLBACK
        self.result = AuthorizationCodeResult(
            code=back.query["code"], state=back.query.get("state"), iss=back.query.get("iss")
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


# --- the proxies, each its own process under a folder of its own -----------------------------


def program(name: str) -> str:
    """The Debian program's path (root's PATH has /usr/sbin, a user's may not); fails if absent."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(f"the proxy tests need Debian's {name} package (see .ci/run)", pytrace=False)
    return found


@dataclass(frozen=True)
class Proxy:
    """A TLS proxy configured from the docs' block: `port` public, `backend` the server's."""

    name: str
    forwards_any_host: bool  # one site answering every Host (nginx's default server) or not

    def command(self, folder: Path, port: int, backend: int, cert: Certificate) -> list[str]:
        if self.name == "nginx":
            config = folder / "nginx.conf"
            config.write_text(nginx_config(folder, port, backend, cert))
            return [program("nginx"), "-p", str(folder), "-c", str(config),
                    "-e", str(folder / "error.log")]  # fmt: skip
        config = folder / "Caddyfile"
        config.write_text(caddy_config(folder, port, backend, cert))
        return [program("caddy"), "run", "--config", str(config), "--adapter", "caddyfile"]


NGINX, CADDY = Proxy("nginx", forwards_any_host=True), Proxy("caddy", forwards_any_host=False)


def nginx_config(folder: Path, port: int, backend: int, cert: Certificate) -> str:
    """The docs' server block in a main configuration of the test's own: every path under
    `folder`, in the foreground, as one process (workers would switch to a user that cannot
    read the test's folder)."""
    site = swapped(
        docs_block("nginx"),
        [
            ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
            (f"/etc/letsencrypt/live/{DOCS_HOST}/fullchain.pem", cert.chain),
            (f"/etc/letsencrypt/live/{DOCS_HOST}/privkey.pem", cert.key),
            (DOCS_HOST, PUBLIC_HOST),
            (DOCS_BACKEND, f"127.0.0.1:{backend}"),
        ],
    )
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {folder / 'access.log'};\n{temp}\n"
        f"{textwrap.indent(site, '    ')}}}\n"
    )


def caddy_config(folder: Path, port: int, backend: int, cert: Certificate) -> str:
    """The docs' site block, on a loopback port with the test's certificate: no admin endpoint,
    no HTTP redirect listener, no certificate authority, storage under `folder`."""
    site = swapped(
        docs_block("caddyfile"),
        [
            (
                f"{DOCS_HOST} {{",
                f"https://{PUBLIC_HOST}:{port} {{\n\tbind 127.0.0.1\n\ttls {cert.chain} {cert.key}",
            ),
            (DOCS_BACKEND, f"127.0.0.1:{backend}"),
        ],
    )
    options = f"admin off\n\tauto_https disable_redirects\n\tstorage file_system {folder / 'data'}"
    return f"{{\n\t{options}\n}}\n{site}"


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@asynccontextmanager
async def running(
    proxy: Proxy, folder: Path, port: int, backend: int, cert: Certificate
) -> AsyncIterator[None]:
    """The proxy as this test's own process, listening on 127.0.0.1:`port`; stopped after."""
    folder.mkdir()
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "config")}  # fmt: skip
    log = folder / "output.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *proxy.command(folder, port, backend, cert),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )
    try:
        give_up = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while not accepts(port):
            if process.returncode is not None or asyncio.get_running_loop().time() > give_up:
                errors = folder / "error.log"
                said = log.read_text() + (errors.read_text() if errors.exists() else "")
                raise AssertionError(f"{proxy.name} did not start on {port}:\n{said}")
            await asyncio.sleep(0.05)
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the deployment --------------------------------------------------------------------------


@dataclass
class Deployment:
    public: str  # the public URL, https://stats.example.test:<proxy port>
    cert: Certificate
    tester_key: str
    server: ServerProcess


@pytest.fixture
async def deployment(
    aiohttp_server: Any, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    """The example config under gunicorn with Redis, in OAuth mode, naming the proxy's address
    as its public URL (the proxy is not yet started)."""
    config = tmp_path / "sportstats.yaml"
    config.write_text(EXAMPLE.read_text().replace("change-me", "our-own"))
    tester_key = EXAMPLE_CONFIG["auth"]["keys"][0]["key"].replace("change-me", "our-own")
    public = f"https://{PUBLIC_HOST}:{free_port()}"
    fake = await aiohttp_server(make_app())
    server = gunicorn(
        config,
        fake,
        SPORTSTATS_PUBLIC_URL=public,
        SPORTSTATS_AUTH__MODE="oauth",
        SPORTSTATS_REDIS_URL=redis_url,
        SPORTSTATS_REDIS_PREFIX=redis_prefix,
        SPORTSTATS_LIMITS__BURST="40",  # two sign-ins from one address within a second
        WEB_CONCURRENCY="2",
    )
    await server.start()
    try:
        yield Deployment(public, certificate(tmp_path), tester_key, server)
    finally:
        await server.stop()


async def documents_name_the_public_url(http: httpx2.AsyncClient, public: str) -> None:
    resource = (await http.get(f"{public}/.well-known/oauth-protected-resource/mcp")).json()
    assert resource["resource"] == f"{public}/mcp"
    assert resource["authorization_servers"] == [public]
    whole = (await http.get(f"{public}/.well-known/oauth-protected-resource")).json()
    assert whole["resource"] == public
    server = (await http.get(f"{public}/.well-known/oauth-authorization-server")).json()
    assert server["issuer"] == public
    for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint"):
        assert server[endpoint].startswith(f"{public}/"), server
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    refused = await http.post(f"{public}/mcp", json=ping)
    assert refused.status_code == 401
    metadata = f"{public}/.well-known/oauth-protected-resource/mcp"
    assert refused.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{metadata}"'


async def sign_in_and_call_a_tool(deployment: Deployment, mode: str) -> str:
    """The official client signs in through the proxy in `mode` and asks for a division's teams;
    returns its access token."""
    url = f"{deployment.public}/mcp"
    browser, storage = Browser(deployment.tester_key, deployment.cert), Memory()
    http = pinned_http(deployment.cert, auth=oauth_client(url, browser, storage))
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        assert client.protocol_version == NEGOTIATED[mode]
        answer = await client.call_tool("get_teams", {"division": "Pacific"})
    assert answer.is_error is False
    assert len(answer.structured_content["data"]) == 5
    assert browser.result is not None and browser.result.iss == deployment.public
    assert storage.tokens is not None
    return storage.tokens.access_token


@pytest.mark.process
@pytest.mark.parametrize("proxy", [NGINX, CADDY], ids=lambda proxy: proxy.name)
async def test_the_docs_proxy_serves_mcp_with_an_oauth_sign_in_in_both_eras(
    deployment: Deployment, proxy: Proxy, tmp_path: Path
) -> None:
    port = URL(deployment.public).port
    backend = URL(deployment.server.url).port
    assert port is not None and backend is not None
    async with (
        running(proxy, tmp_path / proxy.name, port, backend, deployment.cert),
        pinned_http(deployment.cert) as http,
    ):
        await documents_name_the_public_url(http, deployment.public)
        tokens = [await sign_in_and_call_a_tool(deployment, mode) for mode in NEGOTIATED]
        if proxy.forwards_any_host:  # a rebinding name that reaches the server is still refused
            headers = {"Host": "evil.example", "Authorization": f"Bearer {tokens[0]}",
                       "MCP-Protocol-Version": NEGOTIATED["legacy"]}  # fmt: skip
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            answer = await http.post(f"{deployment.public}/mcp", json=ping, headers=headers)
            assert answer.status_code == 403
            assert "'evil.example' is neither this local server" in answer.text
