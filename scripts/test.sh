#!/usr/bin/env bash
# The README's test command: install the Python dependencies, start PostgreSQL on 127.0.0.1, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system.sh
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
if [ -z "${REDRAFT_TEST_POSTGRES_URL:-}" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    REDRAFT_TEST_POSTGRES_URL=$(bash .ci/start_postgres.sh | tail -1)
    export REDRAFT_TEST_POSTGRES_URL
  else
    echo "note: not root, so PostgreSQL is not started here; set REDRAFT_TEST_POSTGRES_URL to test on it" >&2
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
ruff check .
mypy core
# layers hold: pages > ui > cli > services > domain > decisions > ... ; core never imports streamlit
lint-imports
# the review component's state logic, in plain JavaScript
node --test tests/js/
# models and migrations must never drift, on either database
python scripts/check_migrations.py "${REDRAFT_TEST_POSTGRES_URL:-}"
python -m pytest "$@"
