#!/usr/bin/env bash
# Install the runtime dependencies and start Redraft on its embedded defaults (SQLite under data/,
# the built-in offline proposer). Extra arguments go to `streamlit run` (e.g. --server.port 8502).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -r requirements.txt
python -m core init-db
exec python -m streamlit run app.py "$@"
