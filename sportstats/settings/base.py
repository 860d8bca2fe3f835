"""What every option declaration is built from: the one-line error, the declared-option helper,
the section base and the value types that refuse what YAML and the environment get wrong."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import NoDecode

PLACEHOLDER = "change-me"  # the example config's stand-in for secrets: refused, never served
MIN_TOKEN_CHARS = 16


class SettingsError(Exception):
    """A configuration problem, told in one line."""


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number, not true/false")
    return value


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(item) for item in value]
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]
Names = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


def option(
    default: Any,
    meaning: str,
    *,
    flag: bool = False,
    shown: str | None = None,
    must: str | None = None,
    **kw: Any,
):
    """A declared option: `meaning` is its docs and `--help` text; `flag` gives it a
    command-line flag; `shown` is its default as the docs say it, where the value would mislead;
    `must` what a bad value's error says it must be, where its type alone says too little."""
    extra = {"flag": flag, "shown": shown, "must": must}
    if "default_factory" in kw:
        return Field(description=meaning, json_schema_extra=extra, **kw)
    return Field(default, description=meaning, json_schema_extra=extra, **kw)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
