"""The MCP Apps view in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) loads a small host page that embeds the view in a
sandboxed iframe and plays the host's side of the protocol by hand. The tool results it hands
over are the real server's, for recorded upstream answers. Each case writes a screenshot under
the test's temporary directory; `VIEW_SCREENSHOTS=docs python -m pytest tests/test_view_browser.py`
writes them to `docs/` instead (docs/view.md shows them), the one way they are regenerated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client.extension import advertise
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from sportstats.mcp import apps
from tests.conftest import answer_season_averages, load_fixture, upstream_route
from tests.mcp_support import connect
from tests.test_schedule import (
    CELTICS,
    KNICKS,
    LAKERS,
    WINTER_AFTERNOON,
    ahead,
    at,
    head_to_head,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 10
VIEWER_ZONE = "Asia/Tokyo"  # the viewer's time zone: a day ahead of the US game day's evening
APPS = [advertise(apps.EXTENSION, {"mimeTypes": [apps.MIME_TYPE]})]

# The host: the view in a sandboxed iframe (scripts only: an opaque origin, no access to this
# page), `ui/initialize` answered with the theme, then the tool's input and result handed over;
# every size the view reports is kept in `window.sizes`.
HOST_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>host</title>
<style>body{margin:0;background:%(page)s} iframe{border:0;width:760px;height:200px}</style>
</head><body>
<iframe id="view" sandbox="allow-scripts"></iframe>
<script>
const CASE = %(case)s;
const frame = document.getElementById("view");
window.sizes = [];
window.initialized = false;
window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  const post = (message) => frame.contentWindow.postMessage({jsonrpc: "2.0", ...message}, "*");
  const reply = (result) => post({id: m.id, result});
  const tell = (method, params) => post({method, params});
  if (m.method === "ui/initialize") {
    reply({protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
           hostCapabilities: {}, hostContext: {theme: CASE.theme, displayMode: "inline"}});
  } else if (m.method === "ui/notifications/initialized") {
    window.initialized = true;
    tell("ui/notifications/tool-input", {arguments: CASE.arguments});
    tell("ui/notifications/tool-result", CASE.result);
  } else if (m.method === "ui/notifications/size-changed") {
    window.sizes.push(m.params);
    frame.style.height = m.params.height + "px";
  }
});
frame.srcdoc = CASE.html;
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    yield from chromium_session()


@pytest.fixture(scope="module")
def browser_in_tokyo() -> Iterator[WebDriver]:
    """A browser whose clock reads Tokyo time: the viewer's own time zone is not the league's."""
    yield from chromium_session({**os.environ, "TZ": VIEWER_ZONE})


# Chromium asks Google's update and sign-in hosts at start (clients2.google.com,
# update.googleapis.com, accounts.google.com: seen with strace); the tests stay on loopback, so
# none of that runs and no name outside loopback resolves at all.
LOOPBACK_ONLY = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


def chromium_session(env: dict[str, str] | None = None) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver packages"
            " (.ci/run installs them)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    arguments = ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=800,1300")
    for argument in (*arguments, *LOOPBACK_ONLY, "--lang=en-US"):
        options.add_argument(argument)
    service = Service(executable_path=driver, env=env)
    session = webdriver.Chrome(options=options, service=service)
    try:
        yield session
    finally:
        session.quit()


async def tool_result(url: str, upstream: Any, name: str, arguments: dict[str, Any]) -> Any:
    """What the real server answers this tool call with, as the host receives it."""
    async with connect(url, "legacy", extensions=APPS) as mcp_client:
        html = (await mcp_client.read_resource(apps.VIEW_URI)).contents[0].text
        result = await mcp_client.call_tool(name, arguments)
    return html, result.model_dump(by_alias=True, mode="json", exclude_none=True)


def show(
    tmp_path: Path, browser: WebDriver, html: str, result: Any, shot: str, theme: str = "light"
) -> WebDriver:
    """The host page with this result, loaded in the browser and switched into the view."""
    case = {"html": html, "result": result, "arguments": {}, "theme": theme}
    page = HOST_PAGE % {
        "case": json.dumps(case).replace("</", "<\\/"),
        "page": "#111" if theme == "dark" else "#fff",
    }

    # A file, not a server of this event loop: selenium's calls block until the page has loaded.
    host = tmp_path / f"host-{shot}.html"
    host.write_text(page, encoding="utf-8")
    browser.get(host.as_uri())
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script("return window.initialized"))
    frame = browser.find_element(By.ID, "view")
    browser.switch_to.frame(frame)
    WebDriverWait(browser, WAIT_S).until(
        lambda b: not b.find_elements(By.XPATH, "//*[contains(text(), 'Waiting for the answer')]")
    )
    browser.switch_to.default_content()
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script("return window.sizes.length"))
    # Under the test's own directory: a test run leaves the checkout as it found it.
    shots = (
        ROOT / os.environ["VIEW_SCREENSHOTS"] if os.environ.get("VIEW_SCREENSHOTS") else tmp_path
    )
    shots.mkdir(exist_ok=True)
    frame.screenshot(str(shots / shot))  # the view as the host shows it, at the size it asked
    browser.switch_to.frame(frame)
    return browser


def cells(browser: WebDriver, table: Any, column: str) -> list[str]:
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    index = headers.index(column)
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in rows]


def column_cells(table: Any, column: str, within: Any = None) -> list:
    """The cells of `column` in `table`'s rows (or only those of one group, `within`)."""
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    index = headers.index(column)
    rows = (within or table).find_elements(
        By.CSS_SELECTOR, "tbody tr:not(.team-row), tr:not(.team-row)"
    )
    rows = [row for row in rows if row.find_elements(By.TAG_NAME, "td")]
    return [row.find_elements(By.TAG_NAME, "td")[index] for row in rows]


async def test_a_box_score_is_one_aligned_table_under_a_headline_with_the_score(
    url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    box = load_fixture("stats_game_1037684_2023-11-05_DET_vs_GSW.json")
    upstream.get(upstream_route("/stats"), payload=box)
    upstream.get(upstream_route("/teams"), payload=load_fixture("teams_all.json"))
    fields = ["player", "team", "opponent", "home_away", "result", "min", "pts", "reb", "fg_pct"]
    arguments = {"game_ids": [1037684], "limit": 100, "fields": fields}
    html, result = await tool_result(url, upstream, "get_stats", arguments)
    view = show(tmp_path, browser, html, result, "view-box-score.png")

    # GSW won 120-109 away at DET (the recorded game): away first, home last, home marked.
    headline = view.find_element(By.CLASS_NAME, "headline").text
    assert headline.startswith("GSW 120 – 109 DET") and "Final" in headline
    [table] = view.find_elements(By.TAG_NAME, "table")  # both teams: one table, columns aligned
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers == ["Player", "MIN", "PTS", "REB", "FG%"]  # what a fan reads; said once above
    titles = table.find_elements(By.CSS_SELECTOR, "tr.team-row")
    assert [title.text.removesuffix("HOME") for title in titles] == ["GSW", "DET"]
    marks = [title.find_elements(By.CLASS_NAME, "home-mark") for title in titles]
    assert [len(found) for found in marks] == [0, 1]  # the home team marked
    bodies = table.find_elements(By.TAG_NAME, "tbody")
    for team, body in zip(("GSW", "DET"), bodies, strict=True):
        lines = [s for s in box["data"] if s["team"]["abbreviation"] == team]
        assert len(body.find_elements(By.CSS_SELECTOR, "tr:not(.team-row)")) == len(lines)
        best = max(s["pts"] or 0 for s in lines)
        assert str(best) in [cell.text for cell in body.find_elements(By.CSS_SELECTOR, "td.top")]
    shooting = [c.text for c in column_cells(table, "FG%") if c.text]
    assert shooting and all(re.fullmatch(r"\d{1,3}\.\d", value) for value in shooting), shooting
    assert "66.7" in shooting  # 0.6666667 as recorded
    table.find_element(By.XPATH, ".//th[text()='PTS']").click()  # numbers: largest first
    table = view.find_element(By.TAG_NAME, "table")
    first = table.find_elements(By.TAG_NAME, "tbody")[0]
    points = [int(c.text) for c in column_cells(table, "PTS", first) if c.text]
    assert points == sorted(points, reverse=True) and len(points) > 3
    meta = view.find_element(By.CLASS_NAME, "meta").text
    assert "cache" not in meta and "updated" in meta and "T" not in meta.split("·")[1]


def local_tip_off(utc: str) -> str:
    """A UTC tip-off as an en-US viewer in `VIEWER_ZONE` reads it."""
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(ZoneInfo(VIEWER_ZONE))
    return (
        when.strftime("%a, %b ")
        + str(when.day)
        + when.strftime(", ")
        + (f"{when.hour % 12 or 12}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}")
    )


async def test_games_are_a_scoreboard_in_game_order_with_local_tip_offs_and_home_marked(
    url: str, upstream: Any, tmp_path: Path, browser_in_tokyo: WebDriver
) -> None:
    games = load_fixture("games_2023-24_mixed_page.json")
    live = {**games["data"][0], "status": "3rd Qtr", "time": "5:31", "period": 3}
    recorded = [live, *games["data"][1:]]
    games = {**games, "data": [*recorded, recorded[3]]}  # one game twice, as pages can overlap
    upstream.get(upstream_route("/games"), payload=games)
    html, result = await tool_result(url, upstream, "get_games", {"seasons": [2023]})
    view = show(tmp_path, browser_in_tokyo, html, result, "view-scoreboard.png", "dark")

    cards = view.find_elements(By.CLASS_NAME, "game")
    shown = [int(card.get_attribute("data-game-id")) for card in cards]
    in_order = sorted(recorded, key=lambda g: (g["date"][:10], g["status"], g["id"]))
    assert shown == [g["id"] for g in in_order]  # game day, then tip-off; each game once
    marked = [card for card in cards if "live" in card.get_attribute("class").split()]
    assert len(marked) == 1 and "LIVE" in marked[0].text and "3rd Qtr 5:31" in marked[0].text
    for card, game in zip(cards, in_order, strict=True):
        home = card.find_element(By.CSS_SELECTOR, ".side.home")
        assert game["home_team"]["full_name"] in home.text and "HOME" in home.text.upper()
    late = next(g for g in recorded if g["status"] == "2024-04-05T02:00:00Z")  # LAC-DEN
    card = cards[shown.index(late["id"])]
    assert f"Tip-off {local_tip_off(late['status'])}" in card.text  # Apr 5, 11:00 AM in Tokyo
    assert "UTC" not in card.text and "2024-04-04" not in card.text
    final = cards[shown.index(recorded[1]["id"])]
    assert str(recorded[1]["home_team_score"]) in final.text
    assert view.execute_script("return document.documentElement.dataset.theme") == "dark"
    background = view.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 22, 24)"  # the dark theme's background


async def test_season_averages_are_a_sortable_table(
    url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    payloads = {}
    for player_id, fixture in (
        (237, "season_averages_237_2019.json"),
        (115, "season_averages_115_2022.json"),
    ):
        rows = load_fixture(fixture)["data"]
        payloads[player_id] = {
            "data": [{**r, "player_id": player_id, "season": 2019} for r in rows]
        }
    lebron = load_fixture("player_237.json")["data"]
    curry = {**lebron, "id": 115, "first_name": "Stephen", "last_name": "Curry"}
    answer_season_averages(upstream, 2019, payloads, {"data": [lebron, curry], "meta": {}})
    arguments = {"season": 2019, "player_ids": [115, 237], "fields": ["player", "pts", "reb"]}
    html, result = await tool_result(url, upstream, "get_season_averages", arguments)
    view = show(tmp_path, browser, html, result, "view-season-averages.png")

    table = view.find_element(By.TAG_NAME, "table")
    answer = result["structuredContent"]["data"]
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == len(answer) == 2
    assert sorted(cells(view, table, "Player")) == ["LeBron James", "Stephen Curry"]
    table.find_element(By.XPATH, ".//th[text()='REB']").click()
    table = view.find_element(By.TAG_NAME, "table")
    rebounds = cells(view, table, "REB")
    assert [float(r) for r in rebounds] == sorted((row["reb"] for row in answer), reverse=True)
    assert all(re.fullmatch(r"\d+\.\d", value) for value in rebounds)  # one format a column
    header = table.find_element(By.XPATH, ".//th[text()='REB']")
    assert header.get_attribute("aria-sort") == "descending"


async def test_an_empty_answer_shows_its_note(
    url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    upstream.get(upstream_route("/games"), payload={"data": [], "meta": {"next_cursor": None}})
    html, result = await tool_result(url, upstream, "get_games", {"dates": ["2024-07-04"]})
    view = show(tmp_path, browser, html, result, "view-empty.png")

    note = view.find_element(By.CLASS_NAME, "note").text
    assert note == result["structuredContent"]["meta"]["note"]
    assert "No games on 2024-07-04" in note
    assert view.find_elements(By.TAG_NAME, "table") == []


async def test_an_error_shows_its_message_and_hint(
    url: str, upstream: Any, tmp_path: Path, browser: WebDriver
) -> None:
    html, result = await tool_result(url, upstream, "get_stats", {"last": 3})
    view = show(tmp_path, browser, html, result, "view-error.png")

    error = view.find_element(By.CLASS_NAME, "error")
    assert result["isError"] is True
    message = error.find_element(By.CLASS_NAME, "message").text
    hint = error.find_element(By.CLASS_NAME, "hint").text
    assert "needs one of player, player_ids, team" in message and "Error (" not in message
    assert hint.startswith("Hint: ")
    assert error.text.count(message) == 1 and error.text.count(hint) == 1


async def test_upcoming_games_are_listed_soonest_first_in_the_viewers_time_with_home_marked(
    url: str, upstream: Any, tmp_path: Path, browser_in_tokyo: WebDriver, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    later = ahead(league, 4, LAKERS, CELTICS)
    soonest = ahead(league, 1, KNICKS, LAKERS)  # 00:30 UTC: 09:30 the next morning in Tokyo
    html, result = await tool_result(url, upstream, "get_games", {"team": ["LAL"], "next": 2})
    view = show(tmp_path, browser_in_tokyo, html, result, "view-upcoming.png")
    items = view.find_elements(By.CSS_SELECTOR, ".upcoming li")
    shown = [(item.get_attribute("data-game-id"), item.text) for item in items]
    zone = view.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")

    assert zone == "Asia/Tokyo"
    assert [game_id for game_id, _ in shown] == [str(soonest["id"]), str(later["id"])]
    first = shown[0][1]
    assert first.startswith("Los Angeles Lakers at New York Knicks")
    home = items[0].find_element(By.CLASS_NAME, "home").text
    assert home.startswith("New York Knicks") and home.endswith("home")
    # 19:30 Eastern on January 16th is 00:30 UTC on the 17th, and 09:30 that morning in Tokyo.
    assert soonest["date"] == "2026-01-16" and "Jan 17" in first and "9:30" in first


async def test_a_head_to_head_shows_the_series_record_above_the_games(
    url: str, upstream: Any, tmp_path: Path, browser: WebDriver, monkeypatch: Any
) -> None:
    league = at(monkeypatch, upstream, WINTER_AFTERNOON)
    meetings = head_to_head(league)
    arguments = {"team": ["Lakers"], "opponent": ["Celtics"], "seasons": [2025]}
    html, result = await tool_result(url, upstream, "get_games", arguments)
    view = show(tmp_path, browser, html, result, "view-head-to-head.png")

    record = view.find_element(By.CLASS_NAME, "series").text
    assert record.startswith("Los Angeles Lakers 2-1 Boston Celtics")
    assert "1 more to play" in record
    cards = view.find_elements(By.CLASS_NAME, "game")
    assert sorted(c.get_attribute("data-game-id") for c in cards) == sorted(
        str(g["id"]) for g in meetings[:3]
    )
    ahead_items = view.find_elements(By.CSS_SELECTOR, ".upcoming li")
    assert [i.get_attribute("data-game-id") for i in ahead_items] == [str(meetings[3]["id"])]
    assert "home" in ahead_items[0].find_element(By.CLASS_NAME, "home").text
