"""The MCP Apps view on the sample league (`--demo`), in headless Chromium: today's games as a
scoreboard with the live ones marked, and under them the source saying it is sample data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from sportstats.app import create_app
from sportstats.sample.league import League, league_today
from tests.test_demo import NOT_REAL, demo_settings
from tests.test_view_browser import browser, show, tool_result

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the module's Chromium, shared with the view's own tests


async def test_the_view_of_sample_games_says_they_are_sample_data(
    aiohttp_server: Any, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    league = League.of(league_today())
    day = max(g.date for g in league.games if g.state != "scheduled" and g.date <= league.today)
    server = await aiohttp_server(create_app(demo_settings()))
    url = str(server.make_url("/mcp"))
    html, result = await tool_result(url, upstream, "get_games", {"dates": [day.isoformat()]})
    view = show(tmp_path, browser, html, result, "view-sample.png")

    cards = view.find_elements(By.CLASS_NAME, "game")
    assert len(cards) == sum(g.date == day for g in league.games)
    live = [g for g in league.games if g.date == day and g.state == "live"]
    marked = [c for c in cards if "live" in c.get_attribute("class").split()]
    assert len(marked) == len(live)
    meta = view.find_element(By.CLASS_NAME, "meta").text
    assert NOT_REAL in meta
    assert upstream.requests == {}
