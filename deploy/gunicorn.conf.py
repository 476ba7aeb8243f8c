"""gunicorn's settings for the web processes (deploy/start web), in the image and on a plain
host alike. From the environment (README, "Configuration"): WEB_BIND, WEB_CONCURRENCY and
WEB_TIMEOUT. Command-line arguments to deploy/start web override any of these."""

import os
from math import ceil
from pathlib import Path


def available_cpus() -> int:
    """The CPUs this process may use: its CPU affinity, capped by a cgroup's CPU quota (a
    container started with --cpus sees every CPU of the machine, but gets only its share)."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except (OSError, ValueError):
        return cpus
    if quota == "max":
        return cpus
    return max(1, min(cpus, ceil(int(quota) / int(period))))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"Environment variable {name} must be a positive whole number.")
    return int(value)


TRUE_VALUES = {"1", "true", "yes", "on"}

wsgi_app = "msp.wsgi:application"
bind = [os.environ.get("WEB_BIND") or "0.0.0.0:8000"]

# Synchronous workers, two per CPU, as README's "Sizing" has them (4 on 2 cores); each holds one
# database connection and about 150 MB.
workers = _env_int("WEB_CONCURRENCY", 2 * available_cpus())
# A worker silent for this long is killed and replaced: a request that slow is stuck.
timeout = _env_int("WEB_TIMEOUT", 60)
# On SIGTERM (a deploy, systemctl stop) requests in flight get this long to finish.
graceful_timeout = 30
# Idle keep-alive connections from the reverse proxy (threaded workers; sync workers close).
keepalive = 5
# Workers' heartbeat files on tmpfs: a slow or overlay disk cannot stall them.
worker_tmp_dir = "/dev/shm"  # noqa: S108

# Logs to standard output (the container's log, or journald under systemd). The app writes one
# JSON line per request itself (LOG_REQUESTS, on in production), with the user, the client and
# secrets in the URL redacted, so gunicorn's own access log is only for LOG_REQUESTS=false; its
# line gives the path without the query string, and the request's id.
errorlog = "-"
accesslog = None if os.environ.get("LOG_REQUESTS", "true").lower() in TRUE_VALUES else "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'

# gunicorn 25's control socket (gunicornc) goes in $HOME, which the app's user may not have, and
# two servers of one user would share it; systemd and Docker control the processes here.
control_socket_disable = True
