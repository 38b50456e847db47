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

# Decisions and licences are PDFs in Chinese: fpdf2 embeds a CJK TrueType font (engine/documents.py),
# Debian's fonts-wqy-zenhei; the tests read PDFs back with pdftotext (poppler-utils).
ensure_pdf_packages() {
  if [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && command -v pdftotext >/dev/null 2>&1; then
    return 0
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei poppler-utils >/dev/null
  else
    echo "Install the Debian packages fonts-wqy-zenhei and poppler-utils (or set YIMEN_CJK_FONT to a CJK .ttf/.ttc font): decision and licence PDFs need a Chinese font." >&2
  fi
}
ensure_pdf_packages

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
