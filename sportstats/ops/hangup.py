"""SIGHUP, told to every part that re-reads or forgets something on it.

A loop holds one handler per signal, so the parts do not install their own: each registers
here (`on`) and one handler calls them all (the tester keys are reloaded, the learned upstream
plan forgotten). A part that answers with a coroutine runs as a task of its own.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class Hangup:
    def __init__(self) -> None:
        self._parts: list[tuple[str, Callable[[], Any]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def on(self, what: str, callback: Callable[[], Any]) -> None:
        """Call `callback` on SIGHUP; `what` says in the log what a SIGHUP cannot do here."""
        self._parts.append((what, callback))

    def hung_up(self) -> None:
        for _, callback in self._parts:
            result = callback()
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def ctx(self, app: web.Application) -> AsyncIterator[None]:
        """A `cleanup_ctx`: the one SIGHUP handler, while the app runs."""
        loop = asyncio.get_running_loop()
        installed = False
        if self._parts:
            try:
                loop.add_signal_handler(signal.SIGHUP, self.hung_up)
                installed = True
            except (NotImplementedError, RuntimeError, ValueError):
                for what, _ in self._parts:
                    log.warning("SIGHUP cannot %s here: restart instead", what)
        try:
            yield
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGHUP)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
