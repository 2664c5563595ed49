#!/usr/bin/env bash
# Until the first release, the schema lives in one initial migration regenerated from core/models.py.
# After a release, add new revisions with `alembic revision --autogenerate -m ...` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial.py
DATABASE_URL="sqlite:///$tmp/empty.db" alembic revision --autogenerate --rev-id 0001 -m initial >/dev/null
mv migrations/versions/0001_initial.py migrations/versions/0001_initial.py 2>/dev/null || true
ruff format -q migrations/versions/ 2>/dev/null || true
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial.py"
