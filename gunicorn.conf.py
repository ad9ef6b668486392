"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py` (see docs/production.md).

Every value can be set from the environment; the defaults suit a 2 to 4 core server
behind nginx on the same machine. Workers hold no state of their own (sessions are
signed cookies, rate limits are in Redis, everything else is in PostgreSQL), so a worker
can be killed or recycled at any moment and the others carry on.
"""

from __future__ import annotations

import os
import re

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


wsgi_app = "wsgi:app"
bind = os.environ.get("BIND", "127.0.0.1:8000")

# Threads, not processes, wait on the database; keep-alive connections wait in the
# worker's poller at no cost (benchmarks/autosave.py: gthread x8 took five times the
# saves per second of sync workers).
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
threads = _int("GUNICORN_THREADS", 8)

# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On reload or stop, requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Longer than the pause between a pupil's answers, shorter than nginx's upstream keep-alive.
keepalive = _int("GUNICORN_KEEPALIVE", 10)
# Recycle each worker after this many requests (with jitter so they do not all restart
# together): a slow leak can never grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
backlog = _int("GUNICORN_BACKLOG", 2048)

# Each worker imports and builds the app itself: no state is made before the fork, and
# each worker opens its own database connections.
preload_app = False
# The heartbeat file on tmpfs, so a slow disk never makes the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn itself trusts X-Forwarded-Proto only from these addresses (the app's own
# proxy handling is TRUSTED_PROXIES; see docs/production.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicornc's control socket only when asked for: several instances on one machine would
# otherwise share ~/.gunicorn/gunicorn.ctl.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address as nginx saw it, request, status, bytes, time taken (ms), worker pid.
access_log_format = '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %(p)s'

_SECRET_PATHS = re.compile(r"(/reset/)[^/?\s]+")


class RedactingLogger(Logger):
    """The access log without one-time secrets: password-reset links carry their token in
    the path, and a log line must not be a way to take over an account."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _SECRET_PATHS.sub(r"\1[redacted]", atoms[key])
        return atoms


logger_class = RedactingLogger


def post_fork(server, worker):
    """Fewer malloc arenas per worker: with eight threads, glibc kept up to sixteen, each
    holding memory freed after a cohort report, and workers grew in steps (see
    survey_app/memory.py and benchmarks/load.py --soak). Four, not two: with two, the
    eight threads queued for the allocator (benchmarks/autosave.py, SQLite, saturated:
    800-840 answers/s with two arenas, 933 with four, 968-979 with eight), and a 15-minute
    soak with four kept every worker within +12 MB after its warm-up."""
    from survey_app.memory import tune_malloc

    tune_malloc(arenas=int(os.environ.get("MALLOC_ARENA_MAX", 4)))


def on_starting(server):
    """Libraries of the heavy staff pages, imported once before the fork and shared by
    every worker (only libraries: see survey_app/memory.py)."""
    from survey_app.memory import preload_libraries

    preload_libraries()


def post_worker_init(worker):
    """The app's own heavy modules and plotly.js, loaded as each worker starts."""
    from survey_app.memory import warm_worker

    warm_worker(worker.wsgi)
