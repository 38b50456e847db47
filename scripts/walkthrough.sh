#!/usr/bin/env bash
# A first walk through Yimen on the command line (SQLite under ./instance):
# deploy the standard approval, add demo staff, and take one case from the
# window to its conclusion.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
Y=".venv/bin/yimen"
J() { .venv/bin/python -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

$Y db upgrade --json
$Y users add wang --groups window --name "王窗口 (window staff)" --json
$Y users add li --groups reviewer --name "李审查 (reviewer)" --json
$Y users add zhao --groups approver --name "赵科长 (approver)" --json
$Y deploy processes/standard_approval.bpmn --json
CASE=$($Y start standard_approval --business-key "DEMO-$(date +%s)" --data '{"applicant": "zhang", "item": "food-licence"}' --json | J 'd["instance"]')
echo "case instance $CASE started"
step() {  # step USER DATA
  TASK=$($Y tasks --instance "$CASE" --json | J 'd[0]["id"]')
  $Y claim "$TASK" --user "$1" --json
  $Y complete "$TASK" --user "$1" --data "$2" --json
}
step wang '{"acceptance": "accepted"}'
step li '{"review_opinion": "材料齐全，符合条件 (materials complete)"}'
step zhao '{"approved": true}'
$Y show "$CASE"
$Y audit verify --json
