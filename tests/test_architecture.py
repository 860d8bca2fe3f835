"""The shape of the code: stages that import one way, rooms of a readable size, endpoints that
differ in data only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from sportstats.core.endpoints import ENDPOINTS, Endpoint
from sportstats.settings import CacheSettings

PACKAGE = Path(__file__).parent.parent / "sportstats"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
DECLARATIONS = PACKAGE / "core" / "endpoints.py"


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_import_contract_holds() -> None:
    """`[tool.importlinter]` in pyproject.toml: surfaces above operations, core, cache, upstream."""
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_no_module_over_400_lines_and_no_function_over_80() -> None:
    too_long = []
    for path in modules():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(PACKAGE)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE)}: {node.name}, {lines} lines")
    assert too_long == []


def test_no_code_outside_the_declarations_compares_an_endpoint_name() -> None:
    names = {endpoint.name for endpoint in ENDPOINTS} | {e.route.name for e in ENDPOINTS}
    found = []
    for path in modules():
        if path == DECLARATIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            for side in sides:
                values = [side] + (list(side.elts) if isinstance(side, ast.Tuple | ast.Set) else [])
                if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_every_endpoint_names_an_existing_base_ttl_option() -> None:
    options = set(CacheSettings().ttl_s)
    assert {endpoint.freshness.ttl_option for endpoint in ENDPOINTS} == options


def test_endpoints_differ_in_data_not_in_code() -> None:
    """Every endpoint is an `Endpoint` value; the policy objects it holds say how it differs."""
    assert all(type(endpoint) is Endpoint for endpoint in ENDPOINTS)
    assert [e.name for e in ENDPOINTS if e.per_player] == ["season_averages"]
    assert [e.name for e in ENDPOINTS if e.item_filter] == ["teams"]
