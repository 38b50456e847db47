#!/usr/bin/env bash
# Front-end assets from the npm registry (package.json / package-lock.json):
# install them exactly as locked and copy what the pages serve into
# web/static/vendor (not in git): Bootstrap (the pages' layout), bpmn-js, ECharts. Pages
# work without them (plain styles), minus the diagram and
# the supervision charts (their figures stay in the tables).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "vendor.sh: npm not found; diagrams and charts will not be drawn (install Node.js and rerun scripts/setup.sh)" >&2
  exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
target=web/static/vendor/bpmn-js
mkdir -p "$target"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$target/"
cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css "$target/"
cp node_modules/bpmn-js/LICENSE "$target/" 2>/dev/null || true
charts=web/static/vendor/echarts
mkdir -p "$charts"
cp node_modules/echarts/dist/echarts.common.min.js "$charts/"
cp node_modules/echarts/LICENSE "$charts/" 2>/dev/null || true
ui=web/static/vendor/bootstrap
mkdir -p "$ui"
cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$ui/"
cp node_modules/bootstrap/LICENSE "$ui/" 2>/dev/null || true
