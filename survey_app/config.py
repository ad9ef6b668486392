"""Settings, read from the environment with safe development defaults.

`load_config()` returns a plain dict for `app.config`. In production (`SURVEY_ENV`
other than `development` or `testing`) start-up is refused without `SECRET_KEY` (a
guessable key would let anyone forge a pupil's or a teacher's cookie); `create_app()`
also refuses it without Redis for the sessions, or with rate limits counted in each
worker's memory (`check_production`).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

DEV_ENVS = {"development", "testing"}


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a safe configuration."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url(instance_path: str) -> str:
    """Return the SQLite URL of the zero-set-up database under `instance/`."""
    return "sqlite:///" + str(Path(instance_path) / "survey.sqlite3")


def normalise_database_url(url: str) -> str:
    """Return `url` with a PostgreSQL scheme pointed at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_production(config: dict) -> None:
    """Refuse (ConfigError) settings that are unsafe with several workers in production.

    Sessions must live in Redis: a signed-out or reissued session has to end on every
    worker at once. Rate limits counted in `memory://` are per worker, so four workers
    let four times the limit through: no limit at all against a patient guesser.
    Does nothing in development and testing.
    """
    env = config.get("SURVEY_ENV", "development")
    if env in DEV_ENVS:
        return
    if config.get("SESSION_TYPE") != "redis" or not config.get("SESSION_REDIS_URL"):
        raise ConfigError(
            "REDIS_URL is not set. Sessions are kept in Redis in production, so that signing "
            "out ends a session on every worker: set REDIS_URL (or SESSION_REDIS_URL), e.g. "
            f"redis://127.0.0.1:6379/0 (SURVEY_ENV={env})."
        )
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if config.get("RATELIMIT_ENABLED", True) and storage.startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI is memory://, which counts in each worker on its own, so "
            "the limits on wrong codes and passwords would be multiplied by the number of "
            "workers. Set REDIS_URL (or RATELIMIT_STORAGE_URI=redis://...) so every worker "
            f"shares one count (SURVEY_ENV={env})."
        )


def load_config(instance_path: str) -> dict:
    """Return the app settings from the environment.

    Refuses (ConfigError) a production start without SECRET_KEY. create_app() then
    refuses, with `check_production`, what the settings and its overrides make unsafe.
    """
    env = os.environ.get("SURVEY_ENV", "development").strip().lower()
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if env not in DEV_ENVS:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value before starting "
                f"in production (SURVEY_ENV={env})."
            )
        # A fresh key per process is safe in development: sessions just end on restart.
        secret = secrets.token_hex(32)
    production = env not in DEV_ENVS
    database_url = normalise_database_url(os.environ.get("DATABASE_URL") or default_database_url(instance_path))
    # Idle connections are tested before use by survey_app.db (not pool_pre_ping).
    engine_options: dict = {}
    if database_url.startswith("postgresql"):
        # A database host that vanishes without refusing connections fails in seconds (503),
        # instead of holding the request until the worker's timeout.
        engine_options["connect_args"] = {"connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", 5))}
        if os.environ.get("DATABASE_TRANSACTION_POOLING") == "1":
            # Behind PgBouncer's transaction pooling a connection is a different server
            # session at each transaction: psycopg must not prepare statements on it.
            engine_options["connect_args"]["prepare_threshold"] = None
        # Enough connections kept open for every thread of a worker (8): with fewer, the
        # pool opened and closed extra connections on every busy second, a new server
        # process each time. Still at most 15 per worker.
        pool_size = int(os.environ.get("DATABASE_POOL_SIZE", 10))
        engine_options["pool_size"] = pool_size
        engine_options["max_overflow"] = max(0, 15 - pool_size)
    session_redis = os.environ.get("SESSION_REDIS_URL") or os.environ.get("REDIS_URL") or ""
    staff_hours = int(os.environ.get("STAFF_SESSION_HOURS", 8))
    config = {
        "SURVEY_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A streaming replica the authority dashboard and its exports read from (survey_app.db).
        "REPORTS_DATABASE_URL": normalise_database_url(os.environ.get("REPORTS_DATABASE_URL", "")),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "QUESTIONNAIRE_DIR": os.environ.get(
            "QUESTIONNAIRE_DIR", str(Path(__file__).resolve().parent.parent / "questionnaires")
        ),
        # Rate limits: memory in one process; Redis when several workers share them
        # (in production REDIS_URL is used unless RATELIMIT_STORAGE_URI says otherwise).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or (production and os.environ.get("REDIS_URL")) or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "CODE_ATTEMPT_LIMIT": os.environ.get("CODE_ATTEMPT_LIMIT", "10 per minute;60 per hour"),
        # A whole class signs in behind one school address, so the limit per address
        # counts failed codes only.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 4 * 1024 * 1024)),
        "PUPIL_MAX_BODY": int(os.environ.get("PUPIL_MAX_BODY", 64 * 1024)),
        "PUPIL_IDLE_MINUTES": int(os.environ.get("PUPIL_IDLE_MINUTES", 20)),
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", 60)),
        # Staff are signed out this long after signing in, however busy (activity does
        # not extend it); the stored session and the cookie last as long, no longer.
        "STAFF_SESSION_HOURS": staff_hours,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=staff_hours),
        # Sessions live on the server (survey_app/sessions.py): in Redis in production
        # (or whenever SESSION_REDIS_URL is set), else in files under instance/sessions,
        # which every worker process on the machine shares. The cookie holds only the id.
        "SESSION_TYPE": "redis" if production or os.environ.get("SESSION_REDIS_URL") else "filesystem",
        "SESSION_REDIS_URL": session_redis,
        "SESSION_FILE_DIR": os.environ.get("SESSION_FILE_DIR") or str(Path(instance_path) / "sessions"),
        "SESSION_KEY_PREFIX": os.environ.get("SESSION_KEY_PREFIX", "survey-session:"),
        # A pupil's cookie ends with the browser; staff sessions are made permanent at sign-in.
        "SESSION_PERMANENT": False,
        # Stored only when it changes: the autosave path re-writes nothing it did not change.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "DEFAULT_TIMEZONE": os.environ.get("DEFAULT_TIMEZONE", "Europe/London"),
        # Data protection: pupils who left more than RETENTION_DAYS ago are erased by
        # `apply-retention` (730 days: two years after leaving, enough to follow a pupil
        # up after a programme ends). PSEUDONYM_KEY keeps research pseudonyms stable; when
        # empty one is derived from SECRET_KEY (so rotating that key changes them).
        "RETENTION_DAYS": int(os.environ.get("RETENTION_DAYS", 730)),
        "PSEUDONYM_KEY": os.environ.get("PSEUDONYM_KEY", ""),
        # Aggregates (and research exports) over fewer pupils than this are not shown.
        "SUPPRESSION_THRESHOLD": int(os.environ.get("SUPPRESSION_THRESHOLD", 5)),
        # A paper-answers CSV of more rows than this is refused as a whole (a year group
        # is a few hundred; a file of thousands is a mistake, and slow to check).
        "PAPER_IMPORT_MAX_ROWS": int(os.environ.get("PAPER_IMPORT_MAX_ROWS", 5000)),
        "BENCHMARK_ENDPOINTS": _flag("BENCHMARK_ENDPOINTS", False),
        # The job queue (survey_app/jobs/): Huey on a SQLite file under instance/ by
        # default, on Redis in production; `immediate` runs each job where it is queued
        # (tests only). A running job silent for JOB_LEASE_SECONDS lost its worker.
        "JOBS_QUEUE": os.environ.get("JOBS_QUEUE") or ("redis" if production else "sqlite"),
        "JOBS_QUEUE_NAME": os.environ.get("JOBS_QUEUE_NAME", "survey-jobs"),
        "JOBS_SQLITE_PATH": os.environ.get("JOBS_SQLITE_PATH") or str(Path(instance_path) / "jobs.sqlite3"),
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL") or os.environ.get("REDIS_URL") or session_redis,
        "JOB_LEASE_SECONDS": float(os.environ.get("JOB_LEASE_SECONDS", 60)),
        "JOB_RETRY_DELAY_SECONDS": float(os.environ.get("JOB_RETRY_DELAY_SECONDS", 5)),
        # Every night at NIGHTLY_JOBS_HOUR:15 (UTC) the worker queues a backup into
        # BACKUP_DIR (when set; the newest BACKUP_KEEP are kept) and, with
        # NIGHTLY_RETENTION on, the retention job.
        "NIGHTLY_JOBS_HOUR": int(os.environ.get("NIGHTLY_JOBS_HOUR", 2)),
        "BACKUP_DIR": os.environ.get("BACKUP_DIR", ""),
        "BACKUP_KEEP": int(os.environ.get("BACKUP_KEEP", 14)),
        "NIGHTLY_RETENTION": _flag("NIGHTLY_RETENTION", False),
        # A roster file of more rows than this is imported by the worker, not the request.
        "IMPORT_QUEUE_ROWS": int(os.environ.get("IMPORT_QUEUE_ROWS", 300)),
        # Recorded audio and sign-language video (survey_app/instruments/): where the files
        # live, and the largest file, unpacked upload and number of files one ZIP may bring.
        "MEDIA_DIR": os.environ.get("MEDIA_DIR") or str(Path(instance_path) / "media"),
        "MEDIA_MAX_FILE_BYTES": int(os.environ.get("MEDIA_MAX_FILE_BYTES", 25 * 1024 * 1024)),
        "MEDIA_MAX_ZIP_BYTES": int(os.environ.get("MEDIA_MAX_ZIP_BYTES", 300 * 1024 * 1024)),
        "MEDIA_MAX_FILES": int(os.environ.get("MEDIA_MAX_FILES", 400)),
    }
    return config
