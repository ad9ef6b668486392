#!/usr/bin/env bash
# Set up and start the app on SQLite with demo data at http://127.0.0.1:5000, with the job
# queue's worker beside the development server; stopping this script (Ctrl-C, or SIGTERM
# to its process) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
mkdir -p instance
# A development secret kept in instance/, so pupils stay signed in across restarts.
[ -f instance/dev-secret-key ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > instance/dev-secret-key
export SECRET_KEY="${SECRET_KEY:-$(cat instance/dev-secret-key)}"
export SURVEY_ENV="${SURVEY_ENV:-development}"
flask() { .venv/bin/python -m flask --app survey_app "$@"; }
echo "==> Building the database (flask db upgrade)"
flask db upgrade
echo "==> Demo data"
flask demo-data --codes-csv instance/demo-codes.csv
echo
echo "Pupils: open http://127.0.0.1:${PORT:-5000} and type a code from instance/demo-codes.csv, e.g.:"
.venv/bin/python - <<'PY'
import csv
with open("instance/demo-codes.csv", newline="") as handle:
    for row in list(csv.DictReader(handle))[:5]:
        print(f"  {row['code'][:4]}-{row['code'][4:]}  {row['first_name']} {row['surname']}, Year {row['year_group']}, {row['school']}")
PY
echo
echo "==> Job queue worker (exports, large imports) and the development server"
pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
.venv/bin/python -m flask --app survey_app worker & pids+=($!)
.venv/bin/python -m flask --app survey_app run --host 127.0.0.1 --port "${PORT:-5000}" & pids+=($!)
# Whichever stops first (or this script being stopped) stops the other.
wait -n
