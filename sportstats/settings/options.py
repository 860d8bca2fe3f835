"""Every option, declared once: its name, type, default, description and checks.

The YAML keys, the environment variables (`SPORTSTATS_` + name, `__` into a section), the
command-line flags (options marked `flag`), `--help` and the docs' table all come from these
declarations (`sources`, `table`). A check that fails raises `SettingsError` with one line.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL

from .access import AuthSettings, check_oauth_deployment
from .base import PLACEHOLDER, Float, Int, Names, Section, SettingsError, option
from .standings import StandingsSettings

API_KEY_ENV = "BALLDONTLIE_API_KEY"
ENV_PREFIX = "SPORTSTATS_"
ASSISTANT_TIMEOUT_S = 45  # the assistant's call timeout: every answer must come before it
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# `upstream.plan`: the vendor's plans (declared in `upstream.plans`; a test keeps the two equal),
# or `auto` to learn the key's plan from the upstream.
PLAN_CHOICES = ("auto", "free", "all-star", "goat")
DEFAULT_TTLS_S = {
    "players": 6 * 3600,
    "teams": 24 * 3600,
    "games": 3 * 86400,
    "stats": 3 * 86400,
    "season_averages": 3 * 86400,
    "leaders": 3 * 3600,
    "injuries": 600,
    "box_scores": 3 * 86400,
    "advanced_stats": 3 * 86400,
    "standings": 3 * 86400,
}


class CacheSettings(Section):
    """How long answers live, and how much memory the in-process cache may hold."""

    max_entries: Int = option(10_000, "memory cache: most answers kept")
    max_bytes: Int = option(
        256 * 1024 * 1024, "memory cache: most bytes kept (keys, answers, bookkeeping)"
    )
    stale_max_age_s: Int = option(
        86_400, "how long past its TTL a copy may still be served when the upstream fails"
    )
    revalidate_window_s: Int = option(
        300, "how long past its TTL a copy is served while one refresh runs"
    )
    live_ttl_s: Int = option(30, "TTL cap for live, scheduled and today's games and their stats")
    recent_ttl_s: Int = option(300, "TTL cap for games finished in the last 2 days")
    current_season_ttl_s: Int = option(600, "TTL cap for the current season's averages")
    empty_ttl_s: Int = option(60, "TTL cap for an empty answer")
    near_ttl_s: Float = option(
        2.0,
        "with Redis: how long a process keeps its own copy of an answer (never past its TTL),"
        " answering hits without Redis; 0 turns it off",
    )
    coalesce_wait_s: Float = option(
        25.0, "longest wait for another caller's (or process's) fetch of the same key"
    )
    ttl_s: dict[str, Int] = option(
        None,
        "base TTL of {item} answers, for settled data (finished past games, past seasons)",
        default_factory=lambda: dict(DEFAULT_TTLS_S),
    )

    @model_validator(mode="after")
    def _check(self) -> CacheSettings:
        unknown = set(self.ttl_s) - set(DEFAULT_TTLS_S)
        if unknown:
            raise SettingsError(
                f"unknown endpoint in cache.ttl_s: {', '.join(sorted(unknown))}"
                f" (allowed: {', '.join(DEFAULT_TTLS_S)})"
            )
        self.ttl_s = {**DEFAULT_TTLS_S, **self.ttl_s}
        _not_negative(self)
        if self.max_entries < 1:
            raise SettingsError("cache.max_entries must be at least 1")
        return self


class UpstreamSettings(Section):
    """The upstream account's budget and how patiently we call it."""

    plan: str = option(
        "auto",
        "the upstream plan of the API key: `auto` (learn it from the upstream at start-up),"
        " `free`, `all-star` or `goat`; it decides the routes asked and the budget",
    )
    requests_per_minute: Int | None = option(
        None,
        "the account's quota: upstream requests in any 60 s; overrides the plan's budget",
        shown="the plan's: free 5, all-star 60, goat 600 (`auto`: 5 until the plan is known)",
    )
    plan_memory_s: Float = option(
        3600.0,
        "`auto`: how long a route the upstream refused (401) is remembered as not in the plan,"
        " and the learned plan kept; SIGHUP forgets both",
    )
    max_attempts: Int = option(3, "attempts per upstream call, the first included")
    deadline_s: Float = option(
        20.0, "everything for one question, retries and waits included (above 0, under 45)"
    )
    budget_wait_s: Float = option(5.0, "longest wait for a budget slot before 429")
    window_s: Float = option(
        60.0, "the window the account's quota is counted in (a minute for BALLDONTLIE)"
    )
    tester_share: Float = option(
        0.5,
        "the most of the budget one tester (or anonymous address) may spend in a minute; 1: no cap",
    )
    last_max_calls: Int = option(
        4, "lookups (each at most one upstream call) a `last` question may search back with"
    )
    sort_max_pages: Int = option(
        6,
        "pages (each at most one upstream call) a sorted /stats question may read to rank its"
        " whole answer; 6 hold a night of 15 games",
    )
    backoff_base_s: Float = option(0.25, "backoff base: retry *n* waits up to `base * 2^n`")
    backoff_max_s: Float = option(4.0, "backoff cap")
    breaker_failures: Int = option(5, "consecutive failed attempts that open the circuit breaker")
    breaker_cooldown_s: Float = option(30.0, "how long the breaker stays open before a probe")
    demo: bool = option(
        False,
        "answer from the built-in sample league (invented players and games, sample data, not"
        " real) instead of the vendor: no key, no network",
        flag=True,
    )

    @model_validator(mode="after")
    def _check(self) -> UpstreamSettings:
        if not 0 < self.tester_share <= 1:
            raise SettingsError(
                f"upstream.tester_share must be above 0 and at most 1, got {self.tester_share:g}"
            )
        if self.plan not in PLAN_CHOICES:
            raise SettingsError(
                f"upstream.plan must be one of {', '.join(PLAN_CHOICES)}, got {self.plan!r}"
            )
        if self.requests_per_minute is not None and self.requests_per_minute < 1:
            raise SettingsError(
                "upstream.requests_per_minute must be at least 1 (or unset for the plan's"
                f" budget: free 5, all-star 60, goat 600), got {self.requests_per_minute}"
            )
        if min(self.max_attempts, self.last_max_calls, self.sort_max_pages) < 1:
            raise SettingsError(
                "upstream.max_attempts, last_max_calls and sort_max_pages must be at least 1"
            )
        if self.plan_memory_s <= 0:
            raise SettingsError(
                f"upstream.plan_memory_s must be above 0, got {self.plan_memory_s:g}"
            )
        _not_negative(self)
        if not 0 < self.deadline_s < ASSISTANT_TIMEOUT_S:
            raise SettingsError(
                f"upstream.deadline_s must be above 0 and under {ASSISTANT_TIMEOUT_S} (assistants"
                f" give up after {ASSISTANT_TIMEOUT_S} s), got {self.deadline_s:g}"
            )
        return self


class LimitsSettings(Section):
    """What one client may ask: requests per minute (0: no limit) and the size of a request."""

    requests_per_minute: Int | None = option(
        None,
        "requests per client (tester, else address) a minute; 0 turns the limit off",
        shown="60; off in auth mode `none` on a loopback address",
    )
    burst: Int = option(20, "requests per client at once")
    lease: Int = option(
        20,
        "with Redis: a client's tokens each process takes at a time and spends on its own (the"
        " shared limit holds within this many per process); 1: one Redis call a request",
    )
    max_clients: Int = option(10_000, "clients remembered (least recently seen forgotten first)")
    max_url_bytes: Int = option(4096, "longest URL (414 beyond)")
    max_query_params: Int = option(40, "most query parameters (400 beyond)")
    max_headers: Int = option(64, "most headers (431 beyond)")
    max_header_bytes: Int = option(16_384, "most bytes of headers in all (431 beyond)")
    max_body_bytes: Int = option(65_536, "largest body (413 beyond)")
    header_timeout_s: Float = option(
        10.0, "longest wait for a request's headers; a connection slower than that is closed"
    )
    body_timeout_s: Float = option(10.0, "longest wait for a request's body (408 beyond)")
    max_connections: Int = option(
        4096, "open connections at most; past them a new one is closed at once"
    )

    @model_validator(mode="after")
    def _check(self) -> LimitsSettings:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if value < 0 or (value == 0 and name != "requests_per_minute"):
                raise SettingsError(f"limits.{name} must be positive, got {value}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", env_prefix=ENV_PREFIX)

    host: str = option("127.0.0.1", "address to listen on", flag=True)
    port: Int = option(5001, "port to listen on", flag=True, must="a whole number 1-65535")
    upstream_url: str = option(
        "https://api.balldontlie.io",
        "the upstream API base, the vendor's routes under it (an older base ending in `/v1`"
        " still works)",
        flag=True,
    )
    public_url: str | None = option(
        None,
        "the URL assistants reach the server at, written into the manifest and spec; without it"
        " the request's scheme and host are used, honouring `X-Forwarded-Proto` /"
        " `X-Forwarded-Host` from a TLS proxy (only from `auth.trusted_proxies` once any are"
        " named); in auth mode `oauth` an https origin, required unless the server is on a"
        " loopback host with no trusted proxy, and never taken from headers",
        flag=True,
        shown="from each request",
    )
    cors_origins: Names = option(
        None,
        "browser origins allowed by CORS (comma-separated)",
        flag=True,
        default_factory=lambda: ["https://chat.openai.com", "https://chatgpt.com"],
    )
    redis_url: str | None = option(
        None,
        "share cache, upstream budget and locks between processes, e.g. `redis://127.0.0.1:6379/0`",
        flag=True,
        shown="none (in-process memory)",
    )
    redis_timeout_s: Float = option(
        0.5,
        "longest wait for any one Redis operation: a frozen Redis costs a request this, not its"
        " deadline",
    )
    redis_prefix: str = option(
        "sportstats:", "prefix of every Redis key; processes that share it share cache and budget"
    )
    log_level: str = option("INFO", "`DEBUG`, `INFO`, `WARNING` or `ERROR`", flag=True)
    shutdown_timeout_s: Float = option(
        30.0, "after SIGTERM, how long requests in flight may take to finish"
    )
    readiness_max_age_s: Float = option(
        300.0, "`/readyz` trusts an upstream answer this recent; older, it probes the upstream"
    )
    metrics_token: str | None = option(
        None,
        "bearer token that alone opens `/metrics`; without it `/metrics` needs what the data"
        " endpoints need",
        repr=False,
    )
    tls_cert: str | None = option(
        None, "PEM certificate chain: serve HTTPS directly, TLS 1.2 or later", flag=True
    )
    tls_key: str | None = option(None, "the PEM private key of `tls_cert`", flag=True)
    contact_email: str = option(
        "sportstats@example.com",
        "the plugin manifest's `contact_email`: the operator's address, for users and reviewers",
    )
    legal_info_url: str | None = option(
        None,
        "the plugin manifest's `legal_info_url`: the operator's terms",
        shown="the server's own `/legal` page",
    )
    cache: CacheSettings = Field(default_factory=CacheSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    standings: StandingsSettings = Field(default_factory=StandingsSettings)

    _api_key: str = PrivateAttr(default="")
    _config_file: str | None = PrivateAttr(default=None)

    @property
    def api_key(self) -> str:
        """The upstream key, from `BALLDONTLIE_API_KEY` only: never in a file or a listing."""
        return self._api_key

    @property
    def config_file(self) -> str | None:
        """Where the options came from (`auth.keys` reload from it on SIGHUP)."""
        return self._config_file

    @model_validator(mode="after")
    def _check(self) -> Settings:
        placeholders = {
            "metrics_token": self.metrics_token or "",
            "auth.service_token": self.auth.service_token,
            "contact_email": self.contact_email,
        }
        for name, value in placeholders.items():
            if PLACEHOLDER in value:
                raise SettingsError(
                    f"{name} still holds the example's '{PLACEHOLDER}' placeholder: replace it"
                    " with a value of your own"
                )
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"port must be a whole number 1-65535, got {self.port}")
        for name in ("upstream_url", "public_url", "redis_url", "legal_info_url"):
            value = getattr(self, name)
            if value is not None:
                _check_url(name, value, redis=name == "redis_url")
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(
                f"log_level must be DEBUG, INFO, WARNING or ERROR, got {self.log_level}"
            )
        self.log_level = self.log_level.upper()
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key go together: set both or neither")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                raise SettingsError(f"{name} is not a readable file: {path}")
        for name in ("shutdown_timeout_s", "readiness_max_age_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative, got {getattr(self, name)}")
        check_oauth_deployment(self.auth, self.host, self.public_url)
        return self


SECTIONS: dict[str, type[Section]] = {
    "cache": CacheSettings,
    "upstream": UpstreamSettings,
    "auth": AuthSettings,
    "limits": LimitsSettings,
    "standings": StandingsSettings,
}


def _not_negative(values: BaseModel) -> None:
    for name in type(values).model_fields:
        value = getattr(values, name)
        if isinstance(value, int | float) and value < 0:
            raise SettingsError(f"{name} must not be negative, got {value}")


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
