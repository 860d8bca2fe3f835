"""HTTPS served directly: a certificate made here, TLS 1.2 or later, also through the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sportstats.app import create_app
from sportstats.settings import SettingsError
from sportstats.web.runner import JsonErrorAppRunner
from sportstats.web.tls import server_ssl_context
from tests.certificates import self_signed
from tests.conftest import API_KEY, make_settings

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file)."""
    return self_signed(tmp_path_factory.mktemp("tls"), ["127.0.0.1", "localhost"])


def client_context(cert_file: str, **versions: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cert_file)
    for name, version in versions.items():
        setattr(context, name, version)
    return context


async def serve_tls(cert_file: str, key_file: str) -> tuple[web.AppRunner, int]:
    runner = JsonErrorAppRunner(create_app(make_settings(tls_cert=cert_file, tls_key=key_file)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(cert_file, key_file))
    await site.start()
    return runner, int(runner.addresses[0][1])


async def test_the_server_answers_over_tls_with_a_certificate_made_here(
    certificate: tuple[str, str],
) -> None:
    runner, port = await serve_tls(*certificate)
    try:
        async with aiohttp.ClientSession() as session:
            context = client_context(certificate[0])
            for path in ("/healthz", "/legal", "/openapi.yaml"):
                async with session.get(f"https://127.0.0.1:{port}{path}", ssl=context) as response:
                    assert response.status == 200
                    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
                    assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        await runner.cleanup()


async def handshake(port: int, context: ssl.SSLContext) -> str:
    """The TLS version a client with `context` agrees on with the server on `port`."""
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    version = str(writer.get_extra_info("ssl_object").version())
    writer.close()
    return version


def legacy_context(cert_file: str, key_file: str | None = None) -> ssl.SSLContext:
    """TLS 1.0-1.1 only (a client), or anything from TLS 1.0 on (a server, with `key_file`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the old versions are the point
        if key_file:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
        else:
            context = client_context(cert_file, maximum_version=ssl.TLSVersion.TLSv1_1)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


async def test_tls_1_2_is_accepted_and_older_versions_are_refused(
    certificate: tuple[str, str],
) -> None:
    assert server_ssl_context(*certificate).minimum_version == ssl.TLSVersion.TLSv1_2
    old_client = legacy_context(certificate[0])
    # Control: this machine's TLS can speak 1.1 at all, so the refusal below is our setting.
    permissive = await asyncio.start_server(
        lambda reader, writer: writer.close(),
        "127.0.0.1",
        0,
        ssl=legacy_context(*certificate),
    )
    try:
        assert await handshake(permissive.sockets[0].getsockname()[1], old_client) == "TLSv1.1"
    finally:
        permissive.close()
        await permissive.wait_closed()
    runner, port = await serve_tls(*certificate)
    try:
        tls12 = client_context(certificate[0], maximum_version=ssl.TLSVersion.TLSv1_2)
        assert await handshake(port, tls12) == "TLSv1.2"
        assert await handshake(port, client_context(certificate[0])) == "TLSv1.3"
        with pytest.raises((ssl.SSLError, ConnectionResetError)):  # handshake refused
            await handshake(port, old_client)
    finally:
        await runner.cleanup()


def test_tls_cert_and_key_go_together_and_must_exist(certificate: tuple[str, str]) -> None:
    cert_file, key_file = certificate
    with pytest.raises(SettingsError, match="go together"):
        make_settings(tls_cert=cert_file)
    with pytest.raises(SettingsError, match="not a readable file"):
        make_settings(tls_cert=cert_file, tls_key=key_file + ".missing")
    settings = make_settings(tls_cert=cert_file, tls_key=key_file)
    assert (settings.tls_cert, settings.tls_key) == (cert_file, key_file)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str, **popen: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sportstats", *args],
        env={**os.environ, "BALLDONTLIE_API_KEY": API_KEY},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **popen,
    )


@pytest.mark.process
def test_the_command_line_serves_https_with_tls_cert_and_key(certificate: tuple[str, str]) -> None:
    port = free_port()
    server = run_cli("--port", str(port), "--tls-cert", certificate[0], "--tls-key", certificate[1])
    context = client_context(certificate[0])
    status = None
    try:
        deadline = time.monotonic() + 30
        while status is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/healthz", context=context, timeout=5
                ) as response:
                    status = response.status
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        assert status == 200
        with pytest.raises(OSError):  # plain HTTP gets no answer on the TLS port
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert server.returncode == 0  # SIGTERM is a graceful stop


@pytest.mark.process
def test_an_unusable_certificate_stops_the_server_with_one_line(
    certificate: tuple[str, str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    server = run_cli(
        "--port", str(free_port()), "--tls-cert", str(garbage), "--tls-key", certificate[1]
    )
    _, stderr = server.communicate(timeout=30)
    assert server.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sportstats: cannot use tls_cert/tls_key")
