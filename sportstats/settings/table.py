"""The docs' table of options, written from the declarations: `python -m sportstats.settings
docs/configuration.md` rewrites it between its two markers; a test fails when that copy is stale."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .options import API_KEY_ENV, ENV_PREFIX, SECTIONS, Settings

BEGIN = "<!-- options: written by `python -m sportstats.settings docs/configuration.md` -->"
END = "<!-- /options -->"
_UNITS_S = ((86400, "day"), (3600, "h"), (60, "min"))


def shown_default(field: FieldInfo, name: str) -> str:
    """An option's default as the docs and `--help` show it."""
    return _default(field.get_default(call_default_factory=True), name)


def _default(value: Any, name: str) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, list):
        return f"`{','.join(map(str, value))}`" if value else "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    text = f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
    if name.endswith("_s") or ".ttl_s." in name:
        for unit_s, unit in _UNITS_S:
            if value >= unit_s and value % unit_s == 0:
                count = value // unit_s
                return f"{text} ({count:g} {unit}{'s' if unit == 'day' and count > 1 else ''})"
    if name.endswith("_bytes") and value >= 1 << 20 and value % (1 << 20) == 0:
        return f"{text} ({value >> 20} MiB)"
    return text


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = prefix + name
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        value = field.get_default(call_default_factory=True)
        if isinstance(value, dict):  # one row per key: `cache.ttl_s.players`, ...
            for item, item_value in value.items():
                meaning = (field.description or "").format(item=item.replace("_", " "))
                shown = _default(item_value, f"{key}.{item}")
                rows.append(f"| `{key}.{item}` |   | {shown} | {meaning} |")
            continue
        flag = f"`--{name.replace('_', '-')}`" if extra.get("flag") else " "
        shown = extra.get("shown") or _default(value, key)
        rows.append(f"| `{key}` | {flag} | {shown} | {field.description} |")
    return rows


def options_table() -> str:
    """Every option: its YAML key (dotted into a section), flag, default and meaning."""
    rows = [
        "| option | flag | default | meaning |",
        "|---|---|---|---|",
        f"| `{API_KEY_ENV}` (environment only) |   | none: the server refuses to start without it"
        " (but for `--demo`, which refuses it) |"
        " the upstream key; never logged, never sent to clients, never in a cache key |",
        f"| `{ENV_PREFIX}CONFIG` (environment) | `--config` | none | the YAML config file |",
        *_rows(Settings, ""),
    ]
    for section, model in SECTIONS.items():
        rows += _rows(model, f"{section}.")
    return "\n".join(rows)


def rewrite(readme: str) -> str:
    """`readme` with its table between the markers replaced by `options_table()`."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"the file has no {BEGIN} ... {END} section")
    return pattern.sub(lambda _: f"{BEGIN}\n{options_table()}\n{END}", readme)
