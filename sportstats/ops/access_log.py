"""The access log: one logfmt line per request, the same for answered and refused requests.

It names the client by tester name, never by key, and the route, never the raw path or query
(where a key could sit). Values that come from outside are quoted and escaped, so a crafted
header cannot forge a field or a line.
"""

from __future__ import annotations

import json
import logging
import random
import re

access_log = logging.getLogger("sportstats.access")

REQUEST_ID_HEADER = "X-Request-Id"
PLAIN_VALUE = re.compile(r"[A-Za-z0-9._:/@+-]{1,200}")


def logfmt_value(value: object) -> str:
    """A logfmt value: plain text as it is, anything else quoted and escaped (one line, no
    forged `key=value` pairs)."""
    text = str(value)
    return text if PLAIN_VALUE.fullmatch(text) else json.dumps(text)


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
        access_log.info(
            f"request_id={request_id} client={client} addr={logfmt_value(address)}"
            f" method={logfmt_value(method)} endpoint={endpoint} status={status}"
            f" cache={cache or '-'} upstream_calls={upstream_calls}"
            f" duration_ms={duration_s * 1000:.1f}"
        )


def new_request_id() -> str:
    return f"{random.getrandbits(128):032x}"  # unique enough to find a line; no secret
