"""Load test: 15 simulated testers on 200 concurrent connections, for a few minutes.

Run: `python bench/load.py` (180 s; `--seconds 20` for a quick look; `--upstream-rpm 30
--seconds 80` crosses a budget window edge; add `--reset-share 0.2` for dropped connections,
`--workers 2` for two gunicorn workers sharing a Redis of the bench's own, `--redis-outage 20`
to stop that Redis a third into the run). Everything stays on
127.0.0.1 and stops by itself. It starts two processes:

- the fake upstream (`tests/fault_upstream.py`), answering with recorded fixtures after a
  realistic latency (`--latency-ms`, default 150) and counting every call;
- the server, exactly as an operator starts it: `python -m sportstats --config FILE`, with
  15 tester keys (auth mode `user`), the access log on, the upstream budget of the account
  (`--upstream-rpm`, default 600 a minute) and no per-tester rate limit (this measures capacity,
  not the limiter).

The load generator (this process, a minimal HTTP/1.1 client on raw asyncio streams) keeps 200
keep-alive connections busy, each one a tester (connection n uses tester n mod 15). The questions
are mixed as assistants ask them: mostly popular questions (Zipf-weighted: teams, star players,
recent games, box scores, season averages), a share of a day's long tail (300 distinct questions,
first asked cold, then cached) and a few bad inputs (400). It prints throughput, p50/p99 latency,
answers by status, errors (5xx, resets, timeouts), upstream calls against the budget, and the
server's resident memory (VmRSS) at the start, its peak and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server_process import clean_environment, free_port  # noqa: E402

HOST = "127.0.0.1"
API_KEY = "load-test-upstream-key"
TESTERS = 15
REQUEST_TIMEOUT_S = 30.0
RSS_SAMPLE_S = 5.0

POPULAR = [
    "/teams",
    "/players?query=james",
    "/games?dates=2025-01-05",
    "/players?query=curry",
    "/stats?game_ids=15907925",
    "/teams?conference=West",
    "/season_averages?season=2024&player_ids=237",
    "/players?query=doncic",
    "/games?dates=2024-10-22",
    "/teams?conference=East",
    "/stats?player_ids=237&seasons=2024",
    "/players?query=jokic",
    "/season_averages?season=2022&player_ids=115,237",
    "/games?seasons=2024&team_ids=14",
    "/players?query=tatum",
    "/teams?division=Pacific",
    "/stats?dates=2024-10-22",
    "/players?team_ids=14",
    "/games?seasons=2023&team_ids=2&postseason=true",
    "/players?query=antetokounmpo",
]
BAD = [
    "/games?dates=2024-02-30",
    "/players?limit=1000",
    "/stats?player_ids=abc",
    "/season_averages",
    "/teams?conference=North",
    "/players?query=%00",
    "/games?start_date=2024-02-01&end_date=2024-01-01",
    "/nowhere",
]
NAMES = ["smith", "jones", "brown", "green", "white", "young", "allen", "hill", "king", "scott"]


def long_tail(count: int, seed: int) -> list[str]:
    """A day's worth of distinct questions: each one costs an upstream call the first time."""
    rng = random.Random(seed)
    questions: set[str] = set()
    while len(questions) < count:
        kind = rng.randrange(4)
        if kind == 0:
            questions.add(f"/players?query={rng.choice(NAMES)}&limit={rng.randint(1, 100)}")
        elif kind == 1:
            day = rng.randint(1, 28)
            questions.add(f"/games?dates=2024-{rng.randint(1, 12):02d}-{day:02d}")
        elif kind == 2:
            questions.add(f"/stats?player_ids={rng.randint(1, 3000)}&seasons=2024")
        else:
            questions.add(f"/season_averages?season={rng.randint(2000, 2024)}&player_ids=237")
    return sorted(questions)


class Mix:
    """Picks the next question: popular (Zipf), long tail (uniform) or bad input."""

    def __init__(self, tail: list[str], tail_share: float, bad_share: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tail = tail
        self.tail_share = tail_share
        self.bad_share = bad_share
        self.weights = [1 / (rank + 1) for rank in range(len(POPULAR))]

    def next(self) -> str:
        roll = self.rng.random()
        if roll < self.bad_share:
            return self.rng.choice(BAD)
        if roll < self.bad_share + self.tail_share:
            return self.rng.choice(self.tail)
        return self.rng.choices(POPULAR, self.weights)[0]


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()


async def tester_connection(port: int, key: str, mix: Mix, until: float, tally: Tally) -> None:
    """One keep-alive connection asking back to back until `until`; reconnects when closed."""
    clock = time.perf_counter
    reader = writer = None
    while clock() < until:
        path = mix.next()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        sent = clock()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await asyncio.wait_for(reader.readexactly(length), REQUEST_TIMEOUT_S)
        except TimeoutError:
            tally.failures["timeout"] += 1
            close = True
        except (OSError, asyncio.IncompleteReadError) as exc:
            tally.failures[type(exc).__name__] += 1
            close = True
        else:
            tally.latencies.append(clock() - sent)
            tally.statuses[int(head[9:12])] += 1
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    give_up = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[:3]} exited at start")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            if time.monotonic() > give_up:
                raise SystemExit(f"{url} did not come up") from None
            time.sleep(0.1)


def server_config(upstream_port: int, port: int, args: argparse.Namespace) -> dict:
    return {
        "host": HOST,
        "port": port,
        "upstream_url": f"http://{HOST}:{upstream_port}/v1",
        "log_level": args.log_level,
        "auth": {
            "mode": "user",
            "keys": [
                {"name": f"tester{n:02d}", "key": f"tester-{n:02d}-key-for-load-test"}
                for n in range(1, TESTERS + 1)
            ],
        },
        "limits": {"requests_per_minute": 0},
        "upstream": {"requests_per_minute": args.upstream_rpm, "tester_share": 1.0},
        **({"redis_url": args.redis_url, "redis_prefix": "load:"} if args.redis_url else {}),
    }


async def run_load(port: int, keys: list[str], args: argparse.Namespace, pid: int) -> dict:
    tally = Tally()
    tail = long_tail(args.long_tail, args.seed)
    started = time.perf_counter()
    until = started + args.seconds
    samples = [rss_kib(pid)]

    async def sample_rss() -> None:
        while time.perf_counter() < until:
            await asyncio.sleep(RSS_SAMPLE_S)
            samples.append(rss_kib(pid))

    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(
        *(
            tester_connection(
                port,
                keys[n % len(keys)],
                Mix(tail, args.tail_share, args.bad_share, args.seed + n),
                until,
                tally,
            )
            for n in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started
    sampler.cancel()
    return {"tally": tally, "elapsed": elapsed, "rss": samples}


def report(result: dict, upstream: dict, rss_end_kib: int, args: argparse.Namespace) -> None:
    tally: Tally = result["tally"]
    elapsed = result["elapsed"]
    answered = len(tally.latencies)
    cuts = statistics.quantiles(tally.latencies, n=100) if answered > 1 else [0.0] * 99
    errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    errors += sum(tally.failures.values())
    rss = result["rss"]
    print(
        f"load: {args.seconds:g} s, {TESTERS} testers on {args.connections} connections,"
        f" upstream latency {args.latency_ms:g} ms"
    )
    print(f"  answered     {answered} requests, {answered / elapsed:.0f} req/s")
    print(f"  latency      p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print(f"  statuses     {dict(sorted(tally.statuses.items()))}")
    print(
        f"  errors       {errors} (5xx: {errors - sum(tally.failures.values())},"
        f" connection failures: {dict(tally.failures)})"
    )
    print(
        f"  upstream     {upstream['calls']} calls in {elapsed:.0f} s (budget: {args.upstream_rpm}"
        f" in any 60 s); as the upstream saw them: at most {upstream['most_in_a_window']} in"
        f" any 60 s, {upstream['refused']} refused by its own quota of {args.upstream_rpm}"
    )
    print(
        f"  server RSS   start {rss[0] / 1024:.1f} MiB, peak {max(rss) / 1024:.1f} MiB,"
        f" end {rss_end_kib / 1024:.1f} MiB"
    )
    print(
        f"  RSS samples  every {RSS_SAMPLE_S:g} s (MiB): "
        + " ".join(f"{kib / 1024:.0f}" for kib in rss)
    )


def start_redis(port: int) -> subprocess.Popen:
    """A redis-server of the bench's own (nothing on disk), for workers to share."""
    redis = subprocess.Popen(
        ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return redis


def redis_outage(redis: subprocess.Popen, after_s: float, for_s: float) -> None:
    """Redis stops answering (SIGSTOP) `after_s` into the run, for `for_s`, then resumes."""
    time.sleep(after_s)
    redis.send_signal(signal.SIGSTOP)
    print(f"  (Redis stopped at {after_s:.0f} s for {for_s:.0f} s)", flush=True)
    time.sleep(for_s)
    redis.send_signal(signal.SIGCONT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long (default 180)")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=150.0, help="fake upstream latency")
    parser.add_argument("--upstream-rpm", type=int, default=600, help="upstream budget")
    parser.add_argument("--long-tail", type=int, default=300, help="distinct rare questions")
    parser.add_argument("--tail-share", type=float, default=0.10)
    parser.add_argument("--bad-share", type=float, default=0.03)
    parser.add_argument("--log-level", default="INFO", help="server log level (access log: INFO)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--reset-share", type=float, default=0.0, help="upstream connections reset (0-1)"
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers sharing Redis")
    parser.add_argument(
        "--redis-outage", type=float, default=0.0, help="seconds Redis is down, mid-run"
    )
    args = parser.parse_args()
    args.redis_url = None

    upstream_port, port = free_port(), free_port()
    env = clean_environment(BALLDONTLIE_API_KEY=API_KEY)
    with tempfile.TemporaryDirectory() as workdir:
        config = Path(workdir) / "sportstats.yaml"
        config.write_text(yaml.safe_dump(server_config(upstream_port, port, args)))
        log = (Path(workdir) / "server.log").open("w")
        redis = None
        if args.workers > 1 or args.redis_outage:
            redis_port = free_port()
            redis = start_redis(redis_port)
            args.redis_url = f"redis://{HOST}:{redis_port}/0"
            config.write_text(yaml.safe_dump(server_config(upstream_port, port, args)))
        fake = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "fault_upstream.py"),
                "--port",
                str(upstream_port),
                "--latency-ms",
                str(args.latency_ms),
                "--api-key",
                API_KEY,
                "--quota",
                str(args.upstream_rpm),
                "--reset-share",
                str(args.reset_share),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        server = None
        try:
            wait_until_up(f"http://{HOST}:{upstream_port}/calls", fake)
            command = [sys.executable, "-m", "sportstats", "--config", str(config)]
            if args.workers > 1:
                command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
                command += ["sportstats.app:gunicorn_app"]
                env = {
                    **env,
                    "SPORTSTATS_CONFIG": str(config),
                    "WEB_CONCURRENCY": str(args.workers),
                }
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            wait_until_up(f"http://{HOST}:{port}/healthz", server)
            keys = [entry["key"] for entry in server_config(0, 0, args)["auth"]["keys"]]
            outage = None
            if args.redis_outage and redis is not None:
                outage = threading.Thread(
                    target=redis_outage, args=(redis, args.seconds / 3, args.redis_outage)
                )
                outage.start()
            result = asyncio.run(run_load(port, keys, args, server.pid))
            if outage is not None:
                outage.join()
            rss_end = rss_kib(server.pid)
            upstream = get_json(f"http://{HOST}:{upstream_port}/calls")
            report(result, upstream, rss_end, args)
        finally:
            for process in (server, fake, redis):
                if process is not None and process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            log.close()


if __name__ == "__main__":
    main()
