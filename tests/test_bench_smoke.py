"""The benchmarks still run on today's code: each briefly, its figures not asserted (they are
read by people, from full runs; see docs/caching.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server_process import ROOT

pytestmark = pytest.mark.process


def test_the_deployed_bench_measures_both_deployments_and_counts_their_access_lines() -> None:
    done = subprocess.run(
        [sys.executable, "bench/deployed.py", "--rounds", "1", "--seconds", "1"]
        + ["--connections", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for label in ("bare aiohttp handler", "bare, our headers", "python -m sportstats", "gunicorn"):
        assert any(line.strip().startswith(label) and "req/s" in line for line in lines), label
    assert sum("of bare" in line for line in lines) == 3  # ours twice, bare with our headers
    assert sum("access-log lines" in line and "none missing" in line for line in lines) == 2


LAYERS_SMOKE = """
import asyncio, sys
sys.argv = ["bench_cache.py"]
sys.path.insert(0, "bench")
import bench_cache

async def main():
    runners, apps, _, _ = await bench_cache.start_servers()
    try:
        work = await bench_cache.work_per_hit(apps, rounds=1, hits=20)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    print(sorted(work))

asyncio.run(main())
"""


def test_the_layer_by_layer_breakdown_runs_every_layer_on_todays_app() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LAYERS_SMOKE], cwd=ROOT, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'no_checks'" in done.stdout and "'no_metrics'" in done.stdout
