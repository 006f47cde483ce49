#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers; start the local cluster if it is down.
set -uo pipefail
host=${PGHOST:-127.0.0.1}
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h "$host" -t 3; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering; starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$host" && break; sleep 1; done
  fi
fi
exit 0
