#!/usr/bin/env bash
# Prepare a fresh machine: a virtualenv with Yimen and its pinned dependencies,
# the front-end assets (bpmn-js from npm), and a running PostgreSQL for the test
# suite (if this machine has one).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
bash scripts/vendor.sh

ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 || return 0
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 30); do
      pg_isready -h 127.0.0.1 -p 5432 -q && break
      sleep 1
    done
  fi
}
if [ "${YIMEN_SKIP_POSTGRES:-0}" != "1" ]; then
  ensure_postgres
fi
