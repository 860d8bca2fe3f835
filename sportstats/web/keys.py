"""The typed application keys: everything a handler may read from `request.app`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..cache import AnswerCache
from ..core.answers import Answers
from ..ops.auth import AccessControl
from ..ops.hangup import Hangup
from ..ops.health import Readiness
from ..ops.limits import ClientLimits
from ..ops.metrics import Metrics
from ..ops.oauth.server import AuthorizationServer
from ..sample.server import SampleVendor
from ..settings import Settings
from ..upstream.client import UpstreamClient
from .bounds import RequestBounds

SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", UpstreamClient)
CACHE = web.AppKey("cache", AnswerCache)
ANSWERS = web.AppKey("answers", Answers)
ACCESS = web.AppKey("access", AccessControl)  # .usage: accepted requests per tester
BOUNDS = web.AppKey("bounds", RequestBounds)
LIMITS = web.AppKey("limits", ClientLimits)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Readiness)
OAUTH = web.AppKey("oauth", AuthorizationServer)  # oauth mode, our own authorization server
SAMPLE = web.AppKey("sample", SampleVendor)  # upstream.demo: the league in the vendor's place
HANGUP = web.AppKey("hangup", Hangup)  # SIGHUP's one handler, told to each part that reloads
# What a stop ends before it waits for requests in flight (long-lived streams), in order.
ENDS_FIRST = web.AppKey("ends_first", list[Callable[[web.Application], Awaitable[None]]])
