#!/usr/bin/env bash
# Start Yimen on this machine: SQLite under ./instance, demo data (departments,
# one account per role, the shipped processes and items, the working-day
# calendar), the web pages on http://127.0.0.1:5000/ and the scheduler inside.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/yimen serve --demo "$@"
