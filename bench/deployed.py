"""A cache hit as deployed, measured from outside with wrk, against a bare aiohttp handler.

Run: `python bench/deployed.py` (about a minute; everything stays on 127.0.0.1; needs `wrk`).

It starts, each in its own process: the fake upstream (tests/fake_upstream.py), a bare aiohttp
handler serving the same bytes as the hit (and one more sending our headers too, to show what
those cost), `python -m sportstats` exactly as an operator runs it
(its own logging, access log included, its runner and timers), and the gunicorn deployment
(deploy/gunicorn.conf.py, one worker, prometheus-client's multiprocess metrics). Each round runs
wrk against every server in turn (the order turns each round); a server's figure is the median
of its rounds, its share of bare is the median of the per-round ratios, and the spread is the
lowest and highest round. Each server's CPU time per request is read from /proc. At the end it
counts the access-log lines each deployment wrote against the requests wrk saw answered, so a
figure bought by dropping lines shows.

`--rounds`, `--seconds` and `--connections` make it shorter (the test suite runs it as a smoke).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fake_upstream  # noqa: E402
from tests.server_process import clean_environment, free_port  # noqa: E402

HOST = "127.0.0.1"
HIT_PATH = "/teams"
START_TIMEOUT_S = 20.0
ACCESS_LINE = re.compile(r" sportstats\.access request_id=\S+ .* endpoint=teams status=200 ")

BARE_SERVER = """
import json, sys
from aiohttp import web
body = open(sys.argv[2], "rb").read()
headers = json.loads(sys.argv[4])
async def hit(request):
    return web.Response(body=body, content_type="application/json", headers=headers)
app = web.Application()
app.router.add_get(sys.argv[3], hit)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@dataclass
class Server:
    """One server under test: its process, where it listens, its log, its rounds."""

    name: str
    label: str
    process: subprocess.Popen
    port: int
    log: Path | None = None
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    answered: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{HIT_PATH}"

    def pids(self) -> list[int]:
        """The processes serving: the process itself, or gunicorn's workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            workers = [int(pid) for pid in children.read_text().split()]
        except OSError:
            workers = []
        return workers if self.name == "gunicorn" and workers else [self.process.pid]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far, from /proc (Linux)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_until_up(url: str, process: subprocess.Popen) -> tuple[bytes, dict[str, str]]:
    give_up = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited at start ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read(), dict(response.headers)
        except OSError:
            if time.monotonic() > give_up:
                raise SystemExit(f"{url}: the server did not come up") from None
            time.sleep(0.1)


def start_servers(workdir: Path, started: list[subprocess.Popen]) -> list[Server]:
    """The fake upstream, then sportstats both ways (caches warmed), then bare with their bytes;
    every process is added to `started` as it starts, for the caller to stop."""
    upstream_port = free_port()
    started.append(
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fake_upstream.py"), str(upstream_port)]
        )
    )
    env = clean_environment(
        BALLDONTLIE_API_KEY=fake_upstream.API_KEY,
        SPORTSTATS_UPSTREAM_URL=f"http://{HOST}:{upstream_port}/v1",
        SPORTSTATS_LIMITS__REQUESTS_PER_MINUTE="0",  # one client asks everything
        WEB_CONCURRENCY="1",
    )
    servers = []
    commands = {
        "sportstats": ("python -m sportstats", [sys.executable, "-m", "sportstats"]),
        "gunicorn": (
            "gunicorn, 1 worker",
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
            + ["sportstats.app:gunicorn_app"],
        ),
    }
    for name, (label, command) in commands.items():
        port, log = free_port(), workdir / f"{name}.log"
        with log.open("wb") as stderr:  # as an operator's journal would take it
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env | {"SPORTSTATS_PORT": str(port)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        started.append(process)
        servers.append(Server(name, label, process, port, log))
    body, headers = [wait_until_up(server.url, server.process) for server in servers][0]
    body_file = workdir / "body"
    body_file.write_bytes(body)
    # The same headers but those aiohttp writes itself: what sending them costs a bare handler.
    aiohttps = ("Content-Type", "Content-Length", "Date", "Connection", "Keep-Alive")
    ours = {k: v for k, v in headers.items() if k not in aiohttps}
    bares = (("bare", "bare aiohttp handler", {}), ("bare_headers", "bare, our headers", ours))
    for n, (name, label, extra) in enumerate(bares):
        port = free_port()
        command = [sys.executable, "-c", BARE_SERVER, str(port), str(body_file), HIT_PATH]
        process = subprocess.Popen([*command, json.dumps(extra)])
        started.append(process)
        servers.insert(n, Server(name, label, process, port))
        wait_until_up(servers[n].url, process)
    return servers


def wrk(url: str, seconds: float, connections: int) -> tuple[int, float, float, float]:
    """(responses, requests/s, p50 ms, p99 ms) of one wrk run."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors against {url}:\n{out}")

    def number(pattern: str) -> str:
        found = re.search(pattern, out, re.MULTILINE)
        if found is None:
            raise SystemExit(f"cannot read wrk's output:\n{out}")
        return found.group(1)

    def ms(text: str) -> float:
        found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
        if found is None:
            raise SystemExit(f"cannot read wrk's latency {text!r}:\n{out}")
        value, unit = found.groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[unit]

    answered = int(number(r"(\d+) requests in"))
    rps = float(number(r"Requests/sec:\s+([\d.]+)"))
    return answered, rps, ms(number(r"^\s+50%\s+(\S+)")), ms(number(r"^\s+99%\s+(\S+)"))


def measure(servers: list[Server], rounds: int, seconds: float, connections: int) -> None:
    for server in servers:  # warm up
        server.answered += wrk(server.url, 1, connections)[0]
    for turn in range(rounds):
        for server in servers[turn % len(servers) :] + servers[: turn % len(servers)]:
            pids = server.pids()
            before = cpu_seconds(pids)
            answered, rps, p50, p99 = wrk(server.url, seconds, connections)
            server.cpu_us.append((cpu_seconds(pids) - before) / max(answered, 1) * 1e6)
            server.answered += answered
            server.rps.append(rps)
            server.p50_ms.append(p50)
            server.p99_ms.append(p99)


def report(servers: list[Server], rounds: int, seconds: float, connections: int) -> None:
    bare = servers[0]
    print(
        f"cache hits as deployed, GET {HIT_PATH}, wrk -t1 -c{connections}, {rounds} rounds of"
        f" {seconds:g} s, servers in turn; medians of the rounds (load average at the end:"
        f" {os.getloadavg()[0]:.1f}):"
    )
    for server in servers:
        line = (
            f"  {server.label:22} {statistics.median(server.rps):7.0f} req/s"
            f"   p50 {statistics.median(server.p50_ms):6.2f} ms"
            f"   p99 {statistics.median(server.p99_ms):6.2f} ms"
            f"   server CPU {statistics.median(server.cpu_us):5.1f} us/req"
        )
        if server is not bare:
            shares = sorted(r / b for r, b in zip(server.rps, bare.rps, strict=True))
            cpu = statistics.median(bare.cpu_us) / statistics.median(server.cpu_us)
            line += (
                f"   {statistics.median(shares):.2f} of bare"
                f" (rounds {shares[0]:.2f}-{shares[-1]:.2f}; by CPU per request {cpu:.2f})"
            )
        print(line)
    for server in servers:
        if server.log is None:
            continue
        text = server.log.read_text(errors="replace")
        lines = len(ACCESS_LINE.findall(text))
        print(
            f"  {server.label}: {lines} access-log lines for the {server.answered} answers wrk"
            f" read ({'none missing' if lines >= server.answered else 'LINES MISSING'})"
        )


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sportstats-bench-") as workdir:
        started: list[subprocess.Popen] = []
        try:
            servers = start_servers(Path(workdir), started)
            measure(servers, args.rounds, args.seconds, args.connections)
        finally:
            stop(started)
        report(servers, args.rounds, args.seconds, args.connections)


if __name__ == "__main__":
    main()
