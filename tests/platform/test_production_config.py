"""The production profile: no start without SECRET_KEY, without Redis for the sessions or
with rate limits counted per worker (memory://), secure cookies, Redis for the rate limits
and the sessions, and a gunicorn configuration that keeps no state in its workers."""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from http.cookies import SimpleCookie

import pytest

from survey_app import create_app
from survey_app.config import ConfigError, load_config
from tests.conftest import ROOT

PRODUCTION_ENV = {
    "SURVEY_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    for name in ("SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES", "SESSION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "prod.sqlite3"))
    return tmp_path


def _clean_env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "SURVEY_ENV", "DATABASE_URL", "RATELIMIT_STORAGE_URI", "REDIS_URL",
                        "SESSION_REDIS_URL"}}
    for name, value in changes.items():
        if value is not None:
            env[name] = value
    return env


@pytest.mark.parametrize("command", [
    ["-m", "flask", "--app", "survey_app", "db", "upgrade"],
    ["-c", "import wsgi"],  # what each gunicorn worker does first
])
def test_production_without_secret_key_refuses_to_start(command, tmp_path):
    env = _clean_env(SURVEY_ENV="production", DATABASE_URL="sqlite:///" + str(tmp_path / "x.sqlite3"))
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    assert not (tmp_path / "x.sqlite3").exists()  # refused before touching the database


@pytest.mark.parametrize("settings, message", [
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI is memory://"),
    ({"REDIS_URL": None}, "REDIS_URL is not set. Sessions are kept in Redis"),
])
def test_production_refuses_limits_per_worker_and_sessions_without_redis(tmp_path, settings, message):
    """Both as gunicorn's workers and `flask db upgrade` start it: refused, in words, before
    anything touches the database."""
    env = _clean_env(SURVEY_ENV="production", SECRET_KEY="k" * 64, REDIS_URL="redis://127.0.0.1:6379/0",
                     DATABASE_URL="sqlite:///" + str(tmp_path / "x.sqlite3"))
    for name, value in settings.items():
        env.pop(name, None)
        if value is not None:
            env[name] = value
    for command in (["-c", "import wsgi"], ["-m", "flask", "--app", "survey_app", "db", "upgrade"]):
        done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                              text=True, timeout=60)
        assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "x.sqlite3").exists()


def test_production_refuses_memory_limits_given_to_create_app(production_env):
    with pytest.raises(ConfigError, match="memory://"):
        create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    # With the limits switched off there is nothing to count, and so nothing to refuse.
    create_app({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})


def test_production_keeps_sessions_in_redis(production_env, monkeypatch):
    from survey_app.sessions import RedisSessions

    config = load_config(str(production_env))
    assert config["SESSION_TYPE"] == "redis" and config["SESSION_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("SESSION_REDIS_URL", "redis://sessions.internal:6379/3")
    assert load_config(str(production_env))["SESSION_REDIS_URL"] == "redis://sessions.internal:6379/3"
    monkeypatch.delenv("SESSION_REDIS_URL")
    app = create_app()
    assert isinstance(app.session_interface, RedisSessions)


def test_every_env_but_development_and_testing_needs_the_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    for env in ("production", "staging", "Production "):
        monkeypatch.setenv("SURVEY_ENV", env)
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(ConfigError):
        load_config(str(tmp_path))


def test_production_settings(production_env):
    config = load_config(str(production_env))
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert config["PREFERRED_URL_SCHEME"] == "https"
    # Rate limits shared by every worker, in Redis.
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_rate_limit_storage_can_be_named_outright(production_env, monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6380/2")
    assert load_config(str(production_env))["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6380/2"


def test_development_keeps_plain_http_cookies_memory_limits_and_session_files(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_ENV", "development")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    for name in ("SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "SESSION_FILE_DIR", "SESSION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_TYPE"] == "filesystem"
    assert config["SESSION_FILE_DIR"] == str(tmp_path / "sessions")


def test_production_cookies_are_secure_httponly_samesite(production_env, monkeypatch):
    from tests.platform.test_security_sessions import REDIS_URL, redis_or_skip

    redis = redis_or_skip()  # the page's CSRF token is kept in the session, in Redis
    prefix = f"cookietest-{secrets.token_hex(6)}:"
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("SESSION_KEY_PREFIX", prefix)
    app = create_app({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})
    try:
        with app.test_client() as client:
            resp = client.get("/", base_url="https://survey.example.org")
            assert resp.status_code == 200
            raw = [value for name, value in resp.headers.items() if name == "Set-Cookie"]
    finally:
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
    assert raw, "the sign-in page should start a session (for its CSRF token)"
    for header in raw:
        cookie = SimpleCookie(header)
        assert cookie, header
        for morsel in cookie.values():
            assert morsel["secure"] is True, header
            assert morsel["httponly"] is True, header
            assert morsel["samesite"] == "Lax", header


def test_rate_limits_go_to_redis_in_production(production_env):
    from limits.storage import RedisStorage

    from survey_app.extensions import limiter

    app = create_app()
    with app.app_context():
        storage = limiter.storage
        assert isinstance(storage, RedisStorage)
        if not storage.check():
            pytest.skip("Redis not reachable at 127.0.0.1:6379")


def test_gunicorn_config_workers_hold_no_state(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == 3 and settings["threads"] == 6
    assert settings["worker_class"] == "gthread"
    assert settings["preload_app"] is False
    assert settings["wsgi_app"] == "wsgi:app"
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0
    assert settings["accesslog"] == "-"


def test_access_log_hides_password_reset_tokens():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logger = settings["RedactingLogger"](Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/staff/reset/SECRETTOKEN123?x=1",
               "PATH_INFO": "/staff/reset/SECRETTOKEN123", "SERVER_PROTOCOL": "HTTP/1.1"}
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    assert "SECRETTOKEN123" not in atoms["r"] and "SECRETTOKEN123" not in atoms["U"]
    assert atoms["U"] == "/staff/reset/[redacted]"
