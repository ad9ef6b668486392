"""Settings, read from the environment with safe development defaults.

`load_config()` returns a plain dict for `app.config`. In production (`SURVEY_ENV`
other than `development` or `testing`) a missing `SECRET_KEY` refuses start-up: a
guessable key would let anyone forge a pupil's or a teacher's session.
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


def load_config(instance_path: str) -> dict:
    """Return the app settings from the environment.

    Refuses (ConfigError) a production start without SECRET_KEY.
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
        # Enough connections kept open for every thread of a worker (8): with fewer, the
        # pool opened and closed extra connections on every busy second, a new server
        # process each time. Still at most 15 per worker.
        pool_size = int(os.environ.get("DATABASE_POOL_SIZE", 10))
        engine_options["pool_size"] = pool_size
        engine_options["max_overflow"] = max(0, 15 - pool_size)
    return {
        "SURVEY_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
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
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
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
        "BENCHMARK_ENDPOINTS": _flag("BENCHMARK_ENDPOINTS", False),
    }
