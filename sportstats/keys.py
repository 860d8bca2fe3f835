"""The typed application keys: everything a handler may read from `request.app`."""

from __future__ import annotations

from aiohttp import web

from .answers import Answers
from .auth import AccessControl
from .cache import AnswerCache
from .health import Readiness
from .limits import Limits
from .metrics import Metrics
from .settings import Settings
from .upstream import UpstreamClient

SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", UpstreamClient)
CACHE = web.AppKey("cache", AnswerCache)
ANSWERS = web.AppKey("answers", Answers)
ACCESS = web.AppKey("access", AccessControl)  # .usage: accepted requests per tester
LIMITS = web.AppKey("limits", Limits)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Readiness)
