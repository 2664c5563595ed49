#!/usr/bin/env bash
# Starts Debian's PostgreSQL on 127.0.0.1:5432 and creates the test role and database.
# Prints the DATABASE_URL to use for tests.
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$ver" main start -- -o "-c listen_addresses=127.0.0.1" >/dev/null 2>&1 || pg_ctlcluster "$ver" main start
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 1
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='redraft'\" | grep -q 1 || psql -q -c \"CREATE ROLE redraft LOGIN SUPERUSER PASSWORD 'redraft'\""
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='redraft_test'\" | grep -q 1 || createdb -O redraft redraft_test"
echo "postgresql://redraft:redraft@127.0.0.1:5432/redraft_test"
