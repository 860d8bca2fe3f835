"""What a model is told before its first call (the MCP `instructions`, the manifest's
`description_for_model`): one call per question with names, `last`, `sort` and `fields`, and
what each plan serves. Written once from the declarations, for each surface's own names (a tool
name over MCP, a path over HTTP), so it cannot teach a parameter or a plan that is not there."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from ..upstream.plans import PLANS, Plan
from .endpoints import ENDPOINTS, Endpoint

Name = Callable[[Endpoint], str]


def _serves(plan: Plan, endpoint: Endpoint) -> bool:
    """Served where the plan serves the route the answer needs (standings: the finished
    games, which every plan serves; `Endpoint.needs`)."""
    return plan.serves(endpoint.needs)


def plans_line(name: Name) -> str:
    """`free plan: a, b; ALL-STAR adds c, d; ...`: each plan with what it adds to the one before."""
    parts: list[str] = []
    seen: set[str] = set()
    for plan in PLANS:
        served = [name(e) for e in ENDPOINTS if _serves(plan, e) and name(e) not in seen]
        if not served:
            continue
        said = ", ".join(served)
        parts.append(f"{plan.label} plan: {said}" if not seen else f"{plan.label} adds {said}")
        seen.update(served)
    return "; ".join(parts)


# Questions people ask, each answered in one call: (question, tool, arguments). A test asks
# each of them through the parameter declarations, so an example cannot drift from them.
EXAMPLES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "the Lakers' top scorers last game",
        "get_stats",
        {"team": "Lakers", "last": 1, "sort": "-pts", "limit": 5, "fields": ["player", "pts"]},
    ),
    ("Jayson Tatum's last 5 games", "get_stats", {"player": "Jayson Tatum", "last": 5}),
    ("the Celtics' last 3 results", "get_games", {"team": "Celtics", "last": 3}),
    (
        "two players' season averages",
        "get_season_averages",
        {"player": ["LeBron James", "Stephen Curry"]},
    ),
    ("a roster", "get_players", {"team": "Warriors"}),
    ("the Western conference standings", "get_standings", {"conference": "West"}),
    ("the Celtics' record", "get_standings", {"team": "Celtics"}),
    ("the Lakers' next game", "get_games", {"team": "Lakers", "next": 1}),
    ("last night's scores", "get_games", {"dates": ["last_night"]}),
)


def guide(name: Name, call: Callable[[Endpoint, dict[str, Any]], str]) -> str:
    """The guide, naming endpoints with `name` and writing an example call with `call`."""
    by_tool = {e.tool_name: e for e in ENDPOINTS}
    examples = "; ".join(f"{said}: {call(by_tool[tool], args)}" for said, tool, args in EXAMPLES)
    return (
        "NBA (basketball) data only, from the BALLDONTLIE NBA API: no other league or sport."
        " Answer each question with one call. Name players and teams as people do: no id"
        " lookup first (player: a full name, several comma-separated; team: Lakers, LAL, Los"
        " Angeles Lakers or Boston). `last`=N gives the N most recent finished games, or a"
        " player's or team's lines in them; `sort` orders rows before `limit` cuts them (-pts:"
        " most first); `fields` keeps only the columns the answer needs. Game nights: next=N"
        " gives upcoming games (tip-off in UTC and US Eastern); opponent=<team> a head-to-head"
        " and its series (with box-score lines: a player's games against a team); dates,"
        " start_date and end_date take today, yesterday, last_night, tomorrow in the league's"
        " day (US Eastern). Examples:"
        f" {examples}. Seasons are named by the year they began (2024 = 2024-25). Each answer"
        " is a table (columns, data) with meta: meta.note explains an empty, partial or"
        " trimmed answer; pass meta.next_cursor as cursor for more rows. On an error, tell the"
        " user its message and follow its hint. What the server serves depends on its data"
        f" plan ({plans_line(name)}); an answer its plan lacks is an error that says so: tell"
        " the user."
    )


def for_mcp() -> str:
    """Tool calls written as the model makes them: the tool and its arguments."""
    return guide(lambda e: e.tool_name, lambda e, args: f"{e.tool_name} {json.dumps(args)}")


def for_http() -> str:
    """Calls written as URLs."""

    def url(endpoint: Endpoint, args: dict[str, Any]) -> str:
        flat = {k: ",".join(v) if isinstance(v, list) else v for k, v in args.items()}
        return f"{endpoint.path}?{urlencode(flat, safe=',')}"

    return guide(lambda e: e.path, url)
