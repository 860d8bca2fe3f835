"""The access log: one logfmt line per request, the same for answered and refused requests.

It names the client by tester name, never by key, and the route, never the raw path or query
(where a key could sit). Values that come from outside are quoted and escaped, so a crafted
header cannot forge a field or a line.

A line costs a cache hit more than its cache lookup when it goes through logging's machinery
(a `LogRecord`, caller lookup, a `getpid`, time formatting, a write per line). So while logging
is set up as `configure_logging` leaves it (one `LogStream` with `LOG_FORMAT` on the root logger,
no filter, no other handler on the way), `AccessLine` makes the bytes that handler's formatter
would make and hands them to it, which writes the lines of one event-loop pass at once. Any
other set-up (a handler or filter added, another format, level or record factory) and the line
goes through logging as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from functools import lru_cache
from typing import Any

access_log = logging.getLogger("sportstats.access")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
REQUEST_ID_HEADER = "X-Request-Id"
PLAIN_VALUE = re.compile(r"[A-Za-z0-9._:/@+-]{1,200}")


@lru_cache(maxsize=4096)  # addresses, methods and tester names repeat from line to line
def logfmt_value(value: object) -> str:
    """A logfmt value: plain text as it is, anything else quoted and escaped (one line, no
    forged `key=value` pairs)."""
    text = str(value)
    return text if PLAIN_VALUE.fullmatch(text) else json.dumps(text)


class LogStream(logging.StreamHandler):
    """logging's stream handler, which also takes access lines made past logging (`hold`).

    They are written together at the end of the event loop's pass (one write for all the lines
    of a busy pass, not one each), and before any other record and at every flush, so the lines
    keep their order and none is left behind at exit (logging flushes its handlers).
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.held: list[str] = []

    def hold(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.held.append(line)
            if len(self.held) > 1:
                return  # a write is already due
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no event loop running here: write it now
            self.flush()

    def write_held(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if not self.held:
                return
            text = "".join(self.held)
            self.held.clear()
            try:
                self.stream.write(text)
            except Exception:  # as StreamHandler.emit: say it on stderr, go on
                self.handleError(logging.makeLogRecord({"msg": text.rstrip("\n")}))

    def emit(self, record: logging.LogRecord) -> None:
        self.write_held()
        super().emit(record)

    def flush(self) -> None:
        self.write_held()
        super().flush()


class AccessLine:
    """Writes an access line as logging would, without logging's per-record work."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.prefix = f" INFO {logger.name} "
        self.formatter: logging.Formatter | None = None  # the last one found plain
        self.second = -1
        self.stamp = ""  # the formatted time of `second`

    def direct_handler(self) -> LogStream | None:
        """The one handler logging would call with this logger's INFO lines, when it is the
        plain `LogStream` `configure_logging` makes; None for anything else."""
        logger = self.logger
        if logger.handlers or logger.filters or not logger.propagate:
            return None
        parent = logger.parent
        while parent is not None and parent is not logging.root:
            if parent.handlers or not parent.propagate:
                return None
            parent = parent.parent
        handlers = logging.root.handlers
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if (
            type(handler) is not LogStream
            or handler.filters
            or handler.level > logging.INFO
            or handler.formatter is None
            or logging.getLogRecordFactory() is not logging.LogRecord
            or logging.getLevelName(logging.INFO) != "INFO"
        ):
            return None
        formatter = handler.formatter
        if (formatter is not self.formatter or formatter._fmt != LOG_FORMAT) and not self.plain(
            formatter
        ):
            return None
        return handler

    def plain(self, formatter: logging.Formatter) -> bool:
        """Whether `formatter` writes `LOG_FORMAT` with logging's default time; remembered."""
        if (
            type(formatter) is logging.Formatter
            and type(formatter._style) is logging.PercentStyle
            and formatter._style._fmt == LOG_FORMAT
            and formatter.datefmt is None
        ):
            self.formatter, self.second = formatter, -1
            return True
        return False

    def write(self, message: str) -> None:
        """`message` at INFO, through the stream directly when the set-up allows."""
        handler = self.direct_handler()
        if handler is None:
            self.logger.info(message)
            return
        formatter = handler.formatter
        assert formatter is not None
        created = time.time()  # as LogRecord takes it
        second = int(created)
        if second != self.second or formatter.converter is not time.localtime:
            stamp = time.strftime(formatter.default_time_format, formatter.converter(created))
            self.second, self.stamp = second, stamp
        msecs = int((created - second) * 1000) + 0.0  # as LogRecord computes it
        msec_format = formatter.default_msec_format
        stamp = msec_format % (self.stamp, msecs) if msec_format else self.stamp
        handler.hold(stamp + self.prefix + message + handler.terminator)


_line = AccessLine(access_log)


def log_access(
    request_id: str,
    name: str | None,
    address: str,
    method: str,
    endpoint: str,
    status: int,
    cache: str | None = None,
    upstream_calls: int = 0,
    duration_s: float = 0.0,
) -> None:
    """The one access-log line of a request. Only the address and the method come from outside
    unchecked: they are escaped."""
    if access_log.isEnabledFor(logging.INFO):
        client = logfmt_value(name) if name else logfmt_value(address)
        _line.write(
            f"request_id={request_id} client={client} addr={logfmt_value(address)}"
            f" method={logfmt_value(method)} endpoint={endpoint} status={status}"
            f" cache={cache or '-'} upstream_calls={upstream_calls}"
            f" duration_ms={duration_s * 1000:.1f}"
        )


def new_request_id() -> str:
    return f"{random.getrandbits(128):032x}"  # unique enough to find a line; no secret
