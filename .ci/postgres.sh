#!/usr/bin/env bash
# Installs (if needed) and starts a PostgreSQL server on 127.0.0.1 for the sync tests, then prints
# the URL to use as PAX8_TEST_POSTGRES_URL. Debian packages only.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  pg_createcluster "$version" main >&2
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi
su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'pax8-ci'\"" >&2
echo "postgres://postgres:pax8-ci@127.0.0.1:$port/postgres"
