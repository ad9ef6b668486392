#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the pinned requirements (skipped when unchanged).
# Usage: scripts/setup.sh [requirements file]   (default requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
reqs="${1:-requirements.txt}"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$reqs")"
digest=$(cat requirements*.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "==> Installing $reqs"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$reqs"
  echo "$digest" > "$stamp"
fi
