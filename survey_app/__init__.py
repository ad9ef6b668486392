"""The pupil attitude survey app: create_app() wires config, extensions, blueprints,
error pages and CLI. Nothing else: it never creates tables, migrates or prompts."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import check_production, load_config
from .db import db
from .extensions import babel, csrf, limiter, migrate
from .routing import IdConverter


def create_app(config: dict | None = None) -> Flask:
    """Return the configured app; `config` overrides the environment (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter  # ids past a column's range are 404, not 500
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    check_production(app.config)  # (after the overrides: they may name other stores)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    proxies = int(os.environ.get("TRUSTED_PROXIES", "0"))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True, compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    from .sessions import init_sessions

    init_sessions(app)
    from .jobs import init_jobs

    init_jobs(app)

    from . import models  # noqa: F401  (registers the tables with the metadata)
    from .accounts import bp as accounts_bp
    from .accounts.access import enforce_staff_session_limits, login_manager
    from .cohort import bp as cohort_bp
    from .data import bp as data_bp
    from .errors import register_error_handlers
    from .flags import bp as flags_bp
    from .groups import bp as groups_bp
    from .health import bp as health_bp
    from .instruments import bp as instruments_bp
    from .jobs.routes import bp as jobs_bp
    from .profiles import bp as profiles_bp
    from .pupil import bp as pupil_bp
    from .pupil.language import select_locale
    from .reviews import bp as reviews_bp
    from .rounds import bp as rounds_bp
    from .schools import bp as schools_bp
    from .security import register_input_checks, register_security_headers
    from .staff import bp as staff_bp
    from .templating import register_templating
    from .tracking import bp as tracking_bp

    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(enforce_staff_session_limits)
    register_templating(app)
    for blueprint in (health_bp, pupil_bp, accounts_bp, staff_bp, schools_bp, groups_bp, rounds_bp,
                      data_bp, profiles_bp, flags_bp, cohort_bp, jobs_bp, tracking_bp, reviews_bp,
                      instruments_bp):
        app.register_blueprint(blueprint)
    from .authority import admin_bp as authority_admin_bp
    from .authority import bp as authority_bp
    from .db import init_reports

    app.register_blueprint(authority_bp)
    app.register_blueprint(authority_admin_bp)
    init_reports(app)
    if app.config.get("BENCHMARK_ENDPOINTS"):
        from .health import bench_bp

        app.register_blueprint(bench_bp)
    register_error_handlers(app)
    register_security_headers(app)
    register_input_checks(app)

    from .cli import register_cli

    register_cli(app)
    return app
