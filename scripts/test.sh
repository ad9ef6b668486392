#!/usr/bin/env bash
# Set up and run every test: lint, unit, SQLite + PostgreSQL, and browser tests.
# Installs Debian's chromium for the browser tests when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  echo "==> Installing Debian's chromium for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
echo "==> ruff"
.venv/bin/ruff check .
echo "==> pytest"
# Two test processes by default (pytest-xdist); a file's tests stay on one process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
