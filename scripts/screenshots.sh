#!/usr/bin/env bash
# Refresh the screenshots in docs/screenshots from the browser tests (SQLite, demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
YIMEN_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q tests/web/test_browser.py -k sqlite -p no:cacheprovider "$@"
