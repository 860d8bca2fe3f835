"""The typed application keys: everything a handler may read from `request.app`."""

from __future__ import annotations

from aiohttp import web

from .answers import Answers
from .cache import AnswerCache
from .settings import Settings
from .upstream import UpstreamClient

SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", UpstreamClient)
CACHE = web.AppKey("cache", AnswerCache)
ANSWERS = web.AppKey("answers", Answers)
