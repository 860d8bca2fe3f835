"""Where options come from: defaults < YAML file < environment < command line, merged by
pydantic-settings, with every mistake told in one line.

YAML keys are the option names, in sections `cache:`, `upstream:`, `auth:` and `limits:`.
Environment variables are `SPORTSTATS_` + the upper-cased name, with `__` into a section
(`SPORTSTATS_UPSTREAM__REQUESTS_PER_MINUTE`). Command-line flags exist for the options declared
with `flag`. The upstream key comes from `BALLDONTLIE_API_KEY` only.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
)
from pydantic_settings.exceptions import SettingsError as SettingsSourceError
from pydantic_settings.sources.utils import parse_env_vars

from .base import SettingsError
from .options import API_KEY_ENV, ENV_PREFIX, SECTIONS, Settings
from .table import shown_default

CONFIG_ENV = ENV_PREFIX + "CONFIG"


def read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SettingsError(f"config file {path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a mapping of option: value")
    return data


class YamlFile(PydanticBaseSettingsSource):
    """The YAML config file, read with pyyaml (whose errors we can tell in one line)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


class Environment(EnvSettingsSource):
    """pydantic-settings' environment source, over a given mapping (the tests give their own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls, env_prefix=ENV_PREFIX, env_nested_delimiter="__")

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self.environ, False, False, None)


def _with_sources(cli: dict[str, Any], environ: Mapping[str, str], data: dict[str, Any]):
    """`Settings` reading this load's sources, in precedence order (the first wins)."""

    class Loading(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, **_: Any) -> tuple[Any, ...]:
            return (
                InitSettingsSource(settings_cls, cli),
                Environment(settings_cls, environ),
                YamlFile(settings_cls, data),
            )

    return Loading


def _unknown_environment(environ: Mapping[str, str]) -> None:
    """An environment variable that names no option is a typo: say so, as for a YAML key."""
    for name in environ:
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        model: type[BaseModel] = Settings
        for depth, part in enumerate(path):
            if part not in model.model_fields:
                allowed = ", ".join(sorted(model.model_fields))
                raise SettingsError(f"unknown environment variable {name} (allowed: {allowed})")
            if depth == 0 and part in SECTIONS:
                model = SECTIONS[part]
            else:
                break


# What a value must be, by pydantic's error type (its prefix) or, failing that, by the type.
KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "string": "text"}
TYPE_KINDS = {int: KINDS["int"], float: KINDS["float"], bool: KINDS["bool"], str: KINDS["string"]}


def _field(path: list[str]) -> FieldInfo | None:
    """The declaration of option `path` (`["auth", "mode"]`), if there is one."""
    model: type[BaseModel] = Settings
    field = None
    for part in path:
        field = model.model_fields.get(part)
        if field is None:
            return field
        if part in SECTIONS and model is Settings:
            model = SECTIONS[part]
    return field


def _expected(path: list[str], error_type: str) -> str | None:
    """What option `path` takes, in words: `a whole number 1-65535`, `a number`, ..."""
    field = _field(path[:2])
    if field is None:
        return None
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if extra.get("must"):
        return str(extra["must"])
    if error_type.split("_")[0] in KINDS:
        return KINDS[error_type.split("_")[0]]
    kind = field.annotation
    for candidate, words in TYPE_KINDS.items():
        if kind is candidate or candidate in getattr(kind, "__args__", ()):
            return words
    return None


class Origins:
    """Where each option was set, so that an error names it as the operator wrote it: the
    flag, the environment variable exactly as set, or the key in the config file."""

    def __init__(self, cli: Mapping[str, Any], environ: Mapping[str, str], config_file: str | None):
        self.cli, self.environ, self.config_file = cli, environ, config_file

    def _variable(self, path: list[str]) -> str | None:
        """The environment variable that set `path` (or its section), exactly as written."""
        for depth in range(len(path), 0, -1):
            wanted = ENV_PREFIX + "__".join(path[:depth]).upper()
            found = next((name for name in self.environ if name.upper() == wanted), None)
            if found:
                return found if depth == len(path) else f"{'.'.join(path)} ({found})"
        return None

    def name(self, path: list[str]) -> str:
        if len(path) == 1 and path[0] in self.cli:
            return "--" + path[0].replace("_", "-")
        return self._variable(path) or ".".join(path)

    def where(self, path: list[str]) -> str:
        """` in config file X` when the file set `path`, else nothing."""
        from_file = self.config_file and not (path[0] in self.cli or self._variable(path))
        return f" in config file {self.config_file}" if from_file else ""

    def said(self, path: list[str], problem: str) -> SettingsError:
        return SettingsError(f"{self.name(path)} {problem}{self.where(path)}")

    def reworded(self, error: SettingsError) -> SettingsError:
        """A check's error, its leading option name replaced by the name as set."""
        head, space, rest = str(error).partition(" ")
        path = head.split(".")
        if not space or _field(path[:2]) is None:
            return error
        return self.said(path, rest)


def one_line(error: ValidationError, where: str, origins: Origins) -> SettingsError:
    """The first problem pydantic found, in one line that names the option as it was set."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    if first["type"] == "extra_forbidden":
        model: type[BaseModel] = Settings
        if len(loc) > 1 and loc[0] in SECTIONS:
            model, where = SECTIONS[loc[0]], f"{where} {loc[0]}:"
        unknown = sorted(
            str(e["loc"][-1])
            for e in error.errors()
            if e["type"] == "extra_forbidden" and e["loc"][:-1] == first["loc"][:-1]
        )
        plural = "s" if len(unknown) > 1 else ""
        return SettingsError(
            f"unknown key{plural} {', '.join(unknown)} in {where}"
            f" (allowed: {', '.join(sorted(model.model_fields))})"
        )
    if first["type"] == "model_type":
        return origins.said(loc, "must be a section of keys")
    expected = _expected(loc, first["type"])
    if expected:
        return origins.said(loc, f"must be {expected}, got {first['input']!r}")
    return origins.said(loc, f"has a bad value: {first['input']!r}")


def load_settings(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
    require_api_key: bool = True,
) -> Settings:
    """Merge every source in precedence order and validate once."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(CONFIG_ENV)
    data = read_config_file(config_file) if config_file else {}
    _unknown_environment(environ)
    given = _nested({k: v for k, v in (cli or {}).items() if v is not None})
    origins = Origins(given, environ, config_file)
    try:
        loaded = _with_sources(given, environ, data)()
    except ValidationError as exc:
        where = f"config file {config_file}" if config_file else "settings"
        raise one_line(exc, where, origins) from None
    except SettingsError as exc:
        raise origins.reworded(exc) from None
    except SettingsSourceError as exc:  # a section given whole in one environment variable
        section = re.search(r'field "(\w+)"', str(exc))
        name = origins.name([section.group(1)]) if section else "an environment variable"
        raise SettingsError(
            f"{name} must be a section: set its keys one by one, as {ENV_PREFIX}<SECTION>__<KEY>"
        ) from None
    settings = Settings.model_construct(
        **{name: getattr(loaded, name) for name in Settings.model_fields}
    )
    settings._api_key = environ.get(API_KEY_ENV, "").strip()
    settings._config_file = config_file
    if settings.upstream.demo:
        _check_demo(settings, "upstream_url" in loaded.model_fields_set)
        return settings
    if require_api_key and not settings.api_key:
        raise SettingsError(
            f"no upstream API key: set {API_KEY_ENV} (a BALLDONTLIE key) in the environment,"
            f" e.g. `export {API_KEY_ENV}=your-key`"
        )
    return settings


def _nested(cli: dict[str, Any]) -> dict[str, Any]:
    """Flags of a section's options (`upstream.demo`) into their section."""
    nested: dict[str, Any] = {}
    for name, value in cli.items():
        section, _, key = name.rpartition(".")
        if section:
            nested.setdefault(section, {})[key] = value
        else:
            nested[name] = value
    return nested


def _check_demo(settings: Settings, upstream_url_given: bool) -> None:
    """The sample league replaces the vendor: a key or an upstream given too is a mistake."""
    if settings.api_key:
        raise SettingsError(
            f"--demo (upstream.demo) and {API_KEY_ENV} exclude each other: the sample league"
            f" needs no key; unset {API_KEY_ENV} for the sample, or drop --demo for the vendor"
        )
    if upstream_url_given:
        raise SettingsError(
            "--demo (upstream.demo) and upstream_url exclude each other: the sample league is"
            " served from inside the server; drop upstream_url for the sample, or --demo for"
            f" {settings.upstream_url}"
        )


class OneLineParser(argparse.ArgumentParser):
    """Command-line mistakes are one line, like every other configuration error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"sportstats: {message} (see --help)\n")


def command_line() -> argparse.ArgumentParser:
    """`python -m sportstats`'s flags: one per option declared with `flag`, its default shown."""
    parser = OneLineParser(
        prog="python -m sportstats",
        description="NBA stats for AI assistants (plugin, GPT Action and MCP), over the"
        f" BALLDONTLIE API. The API key is read from {API_KEY_ENV}. Every option can also be set"
        " in the YAML config file (same name, underscores) or as SPORTSTATS_<NAME>;"
        " precedence: defaults < config file < environment < command line. To check that a"
        " tester can connect: python -m sportstats check --help.",
    )
    parser.add_argument("--config", metavar="FILE", help=f"YAML config file (also {CONFIG_ENV})")
    models = [("", Settings)] + [(f"{section}.", model) for section, model in SECTIONS.items()]
    for prefix, model in models:
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            if not isinstance(extra, dict) or not extra.get("flag"):
                continue
            default = extra.get("shown") or shown_default(field, name)
            described = f"{plain(field.description or '')} (default: {plain(default)})"
            flag = "--" + name.replace("_", "-")
            if field.annotation is bool:  # a switch: given, it is on
                parser.add_argument(
                    flag, dest=prefix + name, action="store_const", const=True, help=described
                )
                continue
            parser.add_argument(
                flag,
                dest=prefix + name,
                type=int if field.annotation is int else None,
                help=described,
            )
    return parser


def plain(text: str) -> str:
    """The docs' markdown as `--help` prints it: no backticks."""
    return text.replace("`", "")
