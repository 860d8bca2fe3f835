"""Standings in the MCP Apps view, in headless Chromium (as `test_view_browser` drives it): one
ranked table a conference, the date they are true through, the teams asked for highlighted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.test_standings import FAST, SEASON, season_of_games, serve_league
from tests.test_view_browser import browser, cells, show, tool_result

pytestmark = pytest.mark.browser
__all__ = ["browser", "serve_league"]  # fixtures shared with the other tests


@pytest.fixture
async def standings_url(serve: Any, serve_league: Any) -> str:
    serve_league(season_of_games(first_days_ago=60, last_days_ago=1, per_day=5))
    return await serve(**FAST)


async def test_standings_are_two_ranked_conference_tables_with_their_date(
    standings_url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    html, result = await tool_result(standings_url, upstream, "get_standings", {"season": SEASON})
    view = show(tmp_path, browser, html, result, "view-standings.png")

    answer = result["structuredContent"]
    assert [h.text for h in view.find_elements(By.TAG_NAME, "h2")] == ["EAST", "WEST"]
    tables = view.find_elements(By.TAG_NAME, "table")
    assert len(tables) == 2
    for conference, table in zip(("East", "West"), tables, strict=True):
        rows = [row for row in answer["data"] if row["conference"] == conference]
        assert cells(view, table, "#") == [str(n) for n in range(1, 16)]
        assert cells(view, table, "Team") == [row["team"] for row in rows]
        assert cells(view, table, "Strk") == [row["streak"] or "" for row in rows]
        assert all(pct.startswith(".") or pct == "1.000" for pct in cells(view, table, "PCT"))
    assert view.find_elements(By.CSS_SELECTOR, "tr.asked") == []  # no team was asked
    assert f"through {answer['meta']['as_of']}" in view.find_element(By.CLASS_NAME, "meta").text


async def test_the_teams_asked_for_are_highlighted_in_their_conference(
    standings_url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    arguments = {"season": SEASON, "team": ["Lakers", "Celtics"]}
    html, result = await tool_result(standings_url, upstream, "get_standings", arguments)
    view = show(tmp_path, browser, html, result, "view-standings-teams.png")

    asked = view.find_elements(By.CSS_SELECTOR, "tr.asked")
    assert [row.text.split("\n")[0] for row in asked] == [
        row.text.split("\n")[0] for row in view.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert len(asked) == 2
    assert "Boston Celtics" in asked[0].text and "Los Angeles Lakers" in asked[1].text
    weight = view.execute_script(
        "return getComputedStyle(document.querySelector('tr.asked td')).fontWeight"
    )
    assert weight == "700"
