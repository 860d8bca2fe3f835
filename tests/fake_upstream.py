"""A fake BALLDONTLIE on 127.0.0.1, serving recorded responses, for end-to-end tests and benches.

Run alone: `python tests/fake_upstream.py PORT [LATENCY_MS]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "test-key"
CALLS = web.AppKey("calls", list[str])


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def make_app(latency_s: float = 0.0) -> web.Application:
    """Serves /v1/teams, /players, /games, /stats, /season_averages; counts calls."""
    app = web.Application()
    app[CALLS] = []

    async def serve(request: web.Request) -> web.Response:
        app[CALLS].append(str(request.rel_url))
        if latency_s:
            await asyncio.sleep(latency_s)
        if request.headers.get("Authorization") != API_KEY:
            return web.Response(status=401, text="Unauthorized")
        name = request.match_info["name"]
        if name == "teams":
            return web.json_response(fixture("teams_all.json"))
        if name == "players":
            return web.json_response(fixture("players_page_ASSEMBLED.json"))
        if name == "games":
            return web.json_response(fixture("games_2025-01-05_final_with_quarters.json"))
        if name == "stats":
            return web.json_response(fixture("stats_2024-10-22_jaylen_brown.json"))
        if name == "season_averages":
            if request.query.get("player_id") == "237":
                return web.json_response(fixture("season_averages_237_2019.json"))
            return web.json_response({"data": []})
        return web.json_response({"error": "Not Found"}, status=404)

    app.router.add_get("/v1/{name}", serve)
    return app


if __name__ == "__main__":
    port = int(sys.argv[1])
    latency = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    web.run_app(make_app(latency), host="127.0.0.1", port=port, print=None)
