"""Every option, from one declaration: defaults < YAML file < environment < command line.

YAML keys are the option names with underscores, in nested sections for `cache:`, `upstream:`,
`auth:` and `limits:`.
Environment variables are `SPORTSTATS_` + the upper-cased name (`SPORTSTATS_PORT`), with `__`
between a section and its key (`SPORTSTATS_UPSTREAM__REQUESTS_PER_MINUTE`). The upstream key comes
from `BALLDONTLIE_API_KEY` only, so it never sits in a config file or a process listing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

import yaml
from yarl import URL

API_KEY_ENV = "BALLDONTLIE_API_KEY"
ENV_PREFIX = "SPORTSTATS_"
PLACEHOLDER = "change-me"  # the example config's stand-in for secrets: refused, never served
ASSISTANT_TIMEOUT_S = 45  # the assistant's call timeout: every answer must come before it


class SettingsError(Exception):
    """A configuration problem, told in one line."""


def _default_ttls() -> dict[str, int]:
    return {
        "players": 6 * 3600,
        "teams": 24 * 3600,
        "games": 3 * 86400,
        "stats": 3 * 86400,
        "season_averages": 3 * 86400,
    }


@dataclass
class CacheSettings:
    """How long answers live, and how much memory the in-process cache may hold."""

    max_entries: int = 10_000
    max_bytes: int = 256 * 1024 * 1024
    stale_max_age_s: int = 86_400
    revalidate_window_s: int = 300
    live_ttl_s: int = 30
    recent_ttl_s: int = 300
    current_season_ttl_s: int = 600
    empty_ttl_s: int = 60
    coalesce_wait_s: float = 25.0
    ttl_s: dict[str, int] = field(default_factory=_default_ttls)


@dataclass
class UpstreamSettings:
    """The upstream account's budget and how patiently we call it."""

    requests_per_minute: int = 30
    max_attempts: int = 3
    deadline_s: float = 20.0
    budget_wait_s: float = 5.0
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0


MIN_TOKEN_CHARS = 16
AUTH_MODES = ("none", "service", "user")


@dataclass
class TesterKey:
    """One tester's key: the name appears in logs and metrics, the key never does."""

    name: str
    key: str = field(repr=False)


def parse_tester_keys(value: Any, where: str = "auth.keys") -> list[TesterKey]:
    """The tester list (`[{name, key}, ...]`) from a config file, checked: names and keys unique."""
    if not isinstance(value, list):
        raise SettingsError(f"{where} must be a list of {{name, key}} entries")
    keys: list[TesterKey] = []
    for number, item in enumerate(value, 1):
        if isinstance(item, TesterKey):
            item = {"name": item.name, "key": item.key}
        if not isinstance(item, Mapping) or set(item) != {"name", "key"}:
            raise SettingsError(f"{where} entry {number} must have exactly a name and a key")
        name, key = str(item["name"] or "").strip(), str(item["key"] or "").strip()
        if not name or len(key) < MIN_TOKEN_CHARS:
            raise SettingsError(
                f"{where} entry {number} needs a name and a key of at least"
                f" {MIN_TOKEN_CHARS} characters"
            )
        if PLACEHOLDER in key:
            raise SettingsError(f"{where} entry {number} still has the example's placeholder key")
        if any(k.name == name for k in keys) or any(k.key == key for k in keys):
            raise SettingsError(f"{where} entry {number} repeats a name or a key")
        keys.append(TesterKey(name, key))
    return keys


@dataclass
class AuthSettings:
    """Who may call the data endpoints: anyone (none), one shared token (service) or testers."""

    mode: str = "none"
    service_token: str = field(default="", repr=False)
    verification_token: str = ""
    keys: list[TesterKey] = field(default_factory=list, repr=False)
    allow_networks: list[str] = field(default_factory=list)
    trusted_proxies: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in AUTH_MODES:
            raise SettingsError(f"auth.mode must be none, service or user, got {self.mode!r}")
        self.keys = parse_tester_keys(self.keys)
        if self.mode == "service" and len(self.service_token) < MIN_TOKEN_CHARS:
            raise SettingsError(
                f"auth.service_token (at least {MIN_TOKEN_CHARS} characters) is needed in service"
                " mode, e.g. SPORTSTATS_AUTH__SERVICE_TOKEN"
            )
        for name in ("allow_networks", "trusted_proxies"):
            for cidr in getattr(self, name):
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise SettingsError(
                        f"auth.{name} holds {cidr!r}, not a network such as 203.0.113.0/24"
                    ) from None


@dataclass
class LimitsSettings:
    """What one client may ask: requests per minute (0: no limit) and the size of a request."""

    requests_per_minute: int = 60
    burst: int = 20
    max_clients: int = 10_000
    max_url_bytes: int = 4096
    max_query_params: int = 40
    max_headers: int = 64
    max_header_bytes: int = 16_384
    max_body_bytes: int = 65_536

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0 or (value == 0 and f.name != "requests_per_minute"):
                raise SettingsError(f"limits.{f.name} must be positive, got {value}")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 5001
    upstream_url: str = "https://api.balldontlie.io/v1"
    public_url: str | None = None
    cors_origins: list[str] = field(
        default_factory=lambda: ["https://chat.openai.com", "https://chatgpt.com"]
    )
    redis_url: str | None = None
    redis_prefix: str = "sportstats:"
    log_level: str = "INFO"
    shutdown_timeout_s: float = 30.0  # how long in-flight requests may finish after SIGTERM
    readiness_max_age_s: float = 300.0  # /readyz: an upstream answer this recent is enough
    metrics_token: str | None = field(default=None, repr=False)  # bearer token for /metrics
    cache: CacheSettings = field(default_factory=CacheSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    tls_cert: str | None = None
    tls_key: str | None = None
    api_key: str = field(default="", repr=False)
    config_file: str | None = field(default=None, repr=False)  # where auth.keys reload from

    def __post_init__(self) -> None:
        if PLACEHOLDER in (self.metrics_token or "") + self.auth.service_token:
            raise SettingsError(
                f"a token still holds the example's '{PLACEHOLDER}' placeholder: replace it with"
                " a secret of your own"
            )
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"port must be 1-65535, got {self.port}")
        for name in ("upstream_url", "public_url", "redis_url"):
            value = getattr(self, name)
            if value is not None:
                _check_url(name, value, redis=name == "redis_url")
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(
                f"log_level must be DEBUG, INFO, WARNING or ERROR, got {self.log_level}"
            )
        self.log_level = self.log_level.upper()
        unknown = set(self.cache.ttl_s) - set(_default_ttls())
        if unknown:
            raise SettingsError(
                f"unknown endpoint in cache.ttl_s: {', '.join(sorted(unknown))}"
                f" (allowed: {', '.join(_default_ttls())})"
            )
        self.cache.ttl_s = {**_default_ttls(), **self.cache.ttl_s}
        for section in (self.cache, self.upstream):
            for f in fields(section):
                value = getattr(section, f.name)
                if isinstance(value, int | float) and value < 0:
                    raise SettingsError(f"{f.name} must not be negative, got {value}")
        if self.upstream.requests_per_minute < 1 or self.upstream.max_attempts < 1:
            raise SettingsError("upstream.requests_per_minute and max_attempts must be at least 1")
        if not 0 < self.upstream.deadline_s < ASSISTANT_TIMEOUT_S:
            raise SettingsError(
                f"upstream.deadline_s must be above 0 and under {ASSISTANT_TIMEOUT_S} (assistants"
                f" give up after {ASSISTANT_TIMEOUT_S} s), got {self.upstream.deadline_s:g}"
            )
        if self.cache.max_entries < 1:
            raise SettingsError("cache.max_entries must be at least 1")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key go together: set both or neither")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                raise SettingsError(f"{name} is not a readable file: {path}")
        for name in ("shutdown_timeout_s", "readiness_max_age_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative, got {getattr(self, name)}")


def _check_url(name: str, value: str, redis: bool = False) -> None:
    try:
        url = URL(value)
    except ValueError as exc:
        raise SettingsError(f"{name} is not a URL: {value!r}") from exc
    schemes = ("redis", "rediss", "unix") if redis else ("http", "https")
    if url.scheme not in schemes or not (url.host or url.scheme == "unix"):
        raise SettingsError(
            f"{name} must be a {' or '.join(schemes)} URL with a host, got {value!r}"
        )


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """Turn YAML, environment or command-line text into the option's type."""
    text_kind = str(kind)
    try:
        if value is None:
            if "None" in text_kind:
                return None
            raise SettingsError(f"{name} must be set")
        if "list" in text_kind:
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            if isinstance(value, list):
                return [str(v) for v in value]
            raise ValueError
        if "dict" in text_kind:
            if not isinstance(value, Mapping):
                raise ValueError
            return {str(k): int(v) for k, v in value.items()}
        if kind is int or text_kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float or text_kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} has a bad value: {value!r}") from None


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls) if f.name not in ("api_key", "config_file")}
    unknown = set(data) - names
    if unknown:
        raise SettingsError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))} in {where}"
            f" (allowed: {', '.join(sorted(names))})"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, Mapping):
                raise SettingsError(f"{key} in {where} must be a section of keys")
            kwargs[key] = _build(kind, value, f"{where} {key}:")
        elif key == "ttl_s" and isinstance(value, Mapping):
            kwargs[key] = {k: _coerce(f"ttl_s.{k}", v, int) for k, v in value.items()}
        elif key == "keys":
            kwargs[key] = parse_tester_keys(value, f"{where} keys")
        else:
            kwargs[key] = _coerce(key, value, kind)
    return cls(**kwargs)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return data


def load_settings(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
    require_api_key: bool = True,
) -> Settings:
    """Merge every source in precedence order and validate once."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        data = _merge(data, read_config_file(config_file))
    data = _merge(data, read_environment(environ))
    data = _merge(data, {k: v for k, v in (cli or {}).items() if v is not None})
    settings = _build(Settings, data, f"config file {config_file}" if config_file else "settings")
    settings.api_key = environ.get(API_KEY_ENV, "").strip()
    settings.config_file = config_file
    if require_api_key and not settings.api_key:
        raise SettingsError(
            f"no upstream API key: set {API_KEY_ENV} (a BALLDONTLIE key) in the environment,"
            f" e.g. `export {API_KEY_ENV}=your-key`"
        )
    return settings
