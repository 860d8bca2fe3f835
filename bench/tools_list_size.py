"""How large `tools/list` is: what an assistant reads (and pays tokens for) before any call.

Run: `python bench/tools_list_size.py` (a second; on 127.0.0.1, no upstream). It starts the
app, asks `/mcp` for `tools/list` as a client of the handshake era does, and prints the size of
the response body, of its `result` as `json.dumps` writes it, and of each tool's parts.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sportstats.app import create_app  # noqa: E402
from sportstats.settings import load_settings  # noqa: E402

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


async def main() -> None:
    settings = load_settings(environ={"BALLDONTLIE_API_KEY": "not-used-here"})
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        response = await client.post("/mcp", json=LIST, headers=HEADERS)
        body = await response.read()
    finally:
        await client.close()
    result = json.loads(body)["result"]
    print(
        f"tools/list: {len(body):,} bytes of HTTP body; result as json.dumps writes it:"
        f" {len(json.dumps(result)):,} characters"
    )
    for tool in result["tools"]:
        parts = {key: len(json.dumps(tool.get(key, ""))) for key in ("inputSchema", "outputSchema")}
        print(
            f"   {tool['name']:22} {len(json.dumps(tool)):6,} characters"
            f"   inputSchema {parts['inputSchema']:6,}   outputSchema {parts['outputSchema']:6,}"
        )


if __name__ == "__main__":
    asyncio.run(main())
