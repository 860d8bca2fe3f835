"""The sample league: an invented, deterministic NBA season (and the one before it) served as
the vendor's own HTTP API, so `python -m sportstats --demo` shows the whole product with no key
and no network.

Why a loopback HTTP server rather than a fake inside the client (a custom connector, a stub
client): the sample sits where the vendor sits, so everything between a question and the vendor
runs exactly as in production: the upstream client with its key header, URLs, bracketed array
params, deadline, retries, budget and breaker; the plan refusals learned from 401s; the cache;
the names, the shaping. No endpoint and no part of the client knows it is talking to the sample.
aiohttp serves it on 127.0.0.1, on a port the system picks, inside the server's own process and
event loop, for the app's lifetime (`server.serving`, entered in the app's `cleanup_ctx`).

Rooms: `teams` (the vendor's team list), `people` (invented players), `schedule` (two seasons of
games), `lines` (box-score lines that add up), `league` (all of it as of one league day),
`totals` (averages, standings, leaders), `query` and `answers` (each vendor route's answer),
`server` (key, plan, quota, paging, HTTP).

It can never pass for real data: the players and their numbers are invented, the client that
talks to it cites it as `SOURCE` in every answer's `meta.source` and leads every note with
`CAVEAT`.
"""

SOURCE = "sportstats sample league (sample data, not real)"
CAVEAT = (
    "Sample data, not real: an invented league served by `--demo`; set BALLDONTLIE_API_KEY and"
    " drop --demo for real NBA data."
)
KEY = "sample-league"  # the key the client sends it: any key will do, as long as there is one
