#!/usr/bin/env bash
# Start the app in production: check the settings, bring the database schema up to date,
# then hand over to gunicorn (gunicorn.conf.py). See docs/production.md.
#
#   SECRET_KEY=... DATABASE_URL=postgresql://survey@127.0.0.1/survey \
#   REDIS_URL=redis://127.0.0.1:6379/0 TRUSTED_PROXIES=1 scripts/serve-production.sh
#
# SKIP_DB_UPGRADE=1 skips the upgrade (when several app servers start at once, let the
# deploy step or one server run it). VENV names the virtualenv (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export SURVEY_ENV="${SURVEY_ENV:-production}"
venv="${VENV:-.venv}"

fail() { echo "serve-production: $*" >&2; exit 1; }
[ -n "${SECRET_KEY:-}" ] || fail "SECRET_KEY is not set (make one with: python -c 'import secrets; print(secrets.token_hex(32))')"
[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL is not set (e.g. postgresql://survey@127.0.0.1/survey)"
case "$DATABASE_URL" in
  postgres://*|postgresql://*|postgresql+psycopg://*) ;;
  *) echo "serve-production: warning: DATABASE_URL is not PostgreSQL; several workers share one SQLite file" >&2 ;;
esac
if [ -z "${REDIS_URL:-}" ] && [ -z "${SESSION_REDIS_URL:-}" ]; then
  fail "REDIS_URL is not set: sessions and rate limits must be shared by every worker (e.g. redis://127.0.0.1:6379/0)"
fi
[ -x "$venv/bin/gunicorn" ] || fail "$venv/bin/gunicorn not found (run scripts/setup.sh first)"

if [ "${SKIP_DB_UPGRADE:-0}" != "1" ]; then
  echo "==> flask db upgrade"
  "$venv/bin/flask" --app survey_app db upgrade
fi
echo "==> gunicorn on ${BIND:-127.0.0.1:8000} with ${WEB_CONCURRENCY:-2 per CPU} workers"
exec "$venv/bin/gunicorn" -c gunicorn.conf.py
