"""What a model reads before its first call teaches the way that works now: names, `last`,
`sort` and `fields` in one call per question, and what each plan serves; every example is a
valid call, and nothing teaches the old chain of id lookups."""

from __future__ import annotations

import pytest

from sportstats.core.endpoints import ENDPOINTS
from sportstats.core.guide import EXAMPLES, for_http, for_mcp, plans_line
from sportstats.core.params import parse_query
from sportstats.mcp.methods import INSTRUCTIONS
from sportstats.upstream.plans import PLANS
from sportstats.web.plugin import DESCRIPTION_FOR_MODEL

BY_TOOL = {endpoint.tool_name: endpoint for endpoint in ENDPOINTS}


@pytest.mark.parametrize(("question", "tool", "arguments"), EXAMPLES)
def test_every_example_is_a_call_the_tool_accepts(question, tool, arguments) -> None:
    parse_query(BY_TOOL[tool].params, arguments)  # raises the 400 on a bad argument


def test_the_instructions_and_the_manifest_teach_one_call_with_names_last_sort_and_fields():
    assert for_mcp() == INSTRUCTIONS and for_http() == DESCRIPTION_FOR_MODEL
    for text in (INSTRUCTIONS, DESCRIPTION_FOR_MODEL):
        assert "one call" in text
        for taught in ("`last`", "`sort`", "`fields`", "player", "team"):
            assert taught in text
        assert "Chain" not in text and "player_id" not in text
    assert 'get_stats {"team": "Lakers", "last": 1, "sort": "-pts"' in INSTRUCTIONS
    assert "/stats?team=Lakers&last=1&sort=-pts&limit=5&fields=player,pts" in DESCRIPTION_FOR_MODEL


def test_what_each_plan_serves_is_named_from_the_route_table() -> None:
    line = plans_line(lambda endpoint: endpoint.tool_name)
    for plan in PLANS:
        served = [e.tool_name for e in ENDPOINTS if plan.serves(e.route)]
        if plan is PLANS[0]:
            assert line.startswith(f"{plan.label} plan: {', '.join(served)}")
        for tool in served:
            assert tool in line
    assert line in INSTRUCTIONS
    assert plans_line(lambda endpoint: endpoint.path) in DESCRIPTION_FOR_MODEL
    for endpoint in ENDPOINTS:
        assert endpoint.tool_name in INSTRUCTIONS and endpoint.path in DESCRIPTION_FOR_MODEL
