"""gunicorn settings for sportstats: one aiohttp worker per core, all sharing one Redis.

    SPORTSTATS_CONFIG=deploy/sportstats.yaml BALLDONTLIE_API_KEY=your-key \
        gunicorn -c deploy/gunicorn.conf.py sportstats.app:gunicorn_app

Address, port, log level, shutdown grace and TLS files come from the sportstats settings (the
config file named by SPORTSTATS_CONFIG and the SPORTSTATS_* environment), so this file and
`python -m sportstats` read the same configuration. WEB_CONCURRENCY sets the number of workers
(default: one per core). A bad configuration stops gunicorn here, before any worker starts.
"""

import os
import shutil
import sys
import tempfile

from sportstats.settings import SettingsError, load_settings
from sportstats.startup import listen_problem, startup_line

try:
    _settings = load_settings()
except SettingsError as exc:
    raise SystemExit(f"sportstats: {exc}") from None
# SIGHUP runs this file again in the same master (see the metrics directory below).
_reloading = os.environ.get("METRICS_DIR_OWNER_PID") == str(os.getpid())
# A taken port is one line here, before gunicorn's own bind retries it for five seconds (on a
# reload the master holds the port itself; under systemd's socket activation it is bound).
_problem = (
    None
    if _reloading or os.environ.get("LISTEN_FDS")
    else listen_problem(_settings.host, _settings.port)
)
if _problem:
    raise SystemExit(_problem)

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
if workers > 1 and not _settings.redis_url:
    # Each worker would keep its own cache and its own upstream budget: N times the quota.
    raise SystemExit(
        "sportstats: several workers need redis_url, to share one cache and one upstream"
        " budget (or set WEB_CONCURRENCY=1)"
    )

worker_class = "aiohttp.GunicornWebWorker"
bind = [f"{_settings.host}:{_settings.port}"]
# After SIGTERM a worker lets in-flight requests run for shutdown_timeout_s (gunicorn_app sets
# it); gunicorn kills workers that take longer than graceful_timeout.
graceful_timeout = int(_settings.shutdown_timeout_s) + 5
accesslog = None  # sportstats.access writes one line per request, without secrets
loglevel = _settings.log_level.lower()
control_socket_disable = True  # no runtime control socket: signals do all we need

# /metrics sums every worker's counts: prometheus-client keeps them in files in this directory,
# fresh for each start and kept across reloads (SIGHUP runs this file again in the same master);
# the workers inherit the variable when they fork.
if _reloading:
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
else:
    _metrics_dir = tempfile.mkdtemp(prefix="sportstats-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    os.environ["METRICS_DIR_OWNER_PID"] = str(os.getpid())


def when_ready(server):
    """The master listens: the same start-up line as `python -m sportstats` prints."""
    print(startup_line(_settings, tls=bool(_settings.tls_cert)), file=sys.stderr, flush=True)


def child_exit(server, worker):
    """A worker is gone: its gauges (requests in flight) no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)


if _settings.tls_cert:
    certfile, keyfile = _settings.tls_cert, _settings.tls_key
