"""The server's own imports are installed by `pip install -e .` alone (README's server command),
not only by the test extra."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: Requirement) -> str:
    return requirement.name.lower().replace("_", "-")


def runtime_distributions() -> set[str]:
    """The runtime dependencies of pyproject.toml and, transitively, theirs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [_name(Requirement(r)) for r in project["dependencies"]]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_name(requirement))
    return found


def imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "sportstats").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"sportstats"}


def test_every_third_party_import_of_the_server_is_a_runtime_dependency() -> None:
    owners = metadata.packages_distributions()
    runtime = runtime_distributions()
    imported = imported_top_level_modules()
    assert {"aiohttp", "aiocache", "yaml", "mcp", "mcp_types"} <= imported
    missing = {
        module: owners.get(module)
        for module in imported
        if not {d.lower().replace("_", "-") for d in owners.get(module, [])} & runtime
    }
    assert missing == {}, (
        f"imported by the server but installed only with the test extra: {missing}"
    )
