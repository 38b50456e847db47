#!/usr/bin/env bash
# Refresh the screenshots in docs/screenshots from the browser tests that keep them (SQLite, demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
YIMEN_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q tests/web/test_browser.py tests/web/test_admin_browser.py tests/web/test_ui_layout_browser.py -k sqlite -p no:cacheprovider "$@"
