"""Health check, error pages, security headers and configuration."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import InternalServerError

from survey_app import create_app
from survey_app.config import ConfigError, load_config
from tests.conftest import make_test_app


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable():
    app = make_test_app("postgresql+psycopg://nobody@127.0.0.1:1/none",
                        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["database"] != "ok"


def test_pages_answer_503_with_a_friendly_message_when_database_down():
    app = make_test_app("postgresql+psycopg://nobody@127.0.0.1:1/none",
                        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    client = app.test_client()
    page = client.get("/")
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    resp = client.post("/", data={"code": "ABCD-EFGH", "csrf_token": token})
    assert resp.status_code == 503
    assert "Your saved answers are safe" in resp.text and "Traceback" not in resp.text


def test_error_pages_never_show_a_traceback(client, app):
    @app.get("/boom-test")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/abort-test")
    def abort_test():
        raise InternalServerError()

    for path, status in [("/no-such-page", 404), ("/boom-test", 500), ("/abort-test", 500)]:
        resp = client.get(path)
        assert resp.status_code == status
        assert "Traceback" not in resp.text and "secret internals" not in resp.text
        assert "<h1" in resp.text and 'href="/static/css/app.css"' in resp.text
    assert client.post("/healthz").status_code == 405
    assert client.get("/no-such", headers={"Accept": "application/json"}).json["status"] == 404


def test_security_headers_on_every_response(client):
    for path in ["/", "/healthz", "/nope", "/static/css/app.css"]:
        resp = client.get(path)
        headers = resp.headers
        resp.close()
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(client):
    html = client.get("/").text
    assert "<script>" not in html and "onclick" not in html


def test_secret_key_required_outside_development(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path))
    with pytest.raises(ConfigError):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True


def test_database_url_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
