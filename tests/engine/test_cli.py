"""The command-line contract: JSON out, JSON errors with a non-zero exit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDARD = str(ROOT / "processes" / "standard_approval.bpmn")


@pytest.fixture
def cli(database_url, tmp_path):
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path))

    def run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--json"], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert (proc.returncode == 0) == ok, (proc.returncode, proc.stdout, proc.stderr)
        return out

    run("db", "upgrade")
    return run


def test_walk_a_case_through_the_cli(cli, tmp_path):
    """deploy, start, tasks, claim, complete, show and audit verify, all as JSON."""
    deployed = cli("deploy", STANDARD)
    assert deployed["deployed"][0]["key"] == "standard_approval" and deployed["warnings"] == []
    cli("users", "add", "wang", "--groups", "window")
    started = cli("start", "standard_approval", "--data", '{"applicant": "zhang"}', "--business-key", "CLI-1")
    instance = started["instance"]
    assert started["status"] == "running"
    tasks = cli("tasks", "--instance", str(instance))
    assert set(tasks[0]) >= {"id", "instance", "element_id", "name", "lane", "assignee", "candidate_users",
                             "candidate_groups", "due"}
    assert cli("tasks", "--user", "wang")[0]["id"] == tasks[0]["id"]
    cli("claim", tasks[0]["id"], "--user", "wang")
    cli("complete", tasks[0]["id"], "--user", "wang", "--data", '{"acceptance": "not_accepted"}')
    shown = cli("show", str(instance))
    assert shown["status"] == "completed" and shown["completed_elements"][-1] == "not_accepted"
    assert set(shown) >= {"id", "key", "version", "status", "data", "completed_elements", "incidents"}
    assert cli("audit", "verify")["ok"] is True
    assert cli("timers", "fire", "--until", "2030-01-01T00:00:00Z") == {"fired": 0}
    assert cli("signal", "nobody-listens") == {"delivered": []}


def test_errors_are_json_with_a_code_and_non_zero_exit(cli):
    """Unknown process, bad JSON, a message nobody waits for, a task that is not open."""
    assert cli("start", "nope", ok=False)["error"]["code"] == "not_found"
    assert cli("start", "nope", "--data", "{bad", ok=False)["error"]["code"] == "invalid_input"
    assert cli("message", "paid", ok=False)["error"]["code"] == "not_found"
    assert cli("complete", "00000000-0000-0000-0000-000000000000", ok=False)["error"]["code"] == "not_found"
    assert cli("deploy", "missing.bpmn", ok=False)["error"]["code"] == "invalid_input"


def test_the_applicant_resubmits_and_rates_from_the_command_line(cli, tmp_path):
    """Issue 12, finding 11: the CLI lacked `cases resubmit` and `cases rate`."""
    help_text = subprocess.run([sys.executable, "-m", "engine.cli", "cases", "--help"], capture_output=True,
                               text=True, cwd=ROOT, timeout=60).stdout
    assert "resubmit" in help_text and "rate" in help_text
    error = cli("cases", "rate", "999", "5", ok=False)  # reaches the engine's rating verb
    assert error["error"]["code"] == "not_found" and "999" in error["error"]["message"]
    error = cli("cases", "resubmit", "999", "--note", "已更正", ok=False)
    assert error["error"]["code"] == "not_found"


def test_deactivate_and_activate_an_account_from_the_cli(cli):
    """停用/启用 (issue 13): the administrator deactivates an account, its token is revoked; others are refused."""
    cli("users", "add", "sun", "--groups", "window")
    cli("users", "add", "wang", "--groups", "window")
    cli("users", "token", "sun")
    off = cli("user", "deactivate", "sun")
    assert off == {"user": "sun", "active": False, "tokens_revoked": 1}
    refused = cli("users", "activate", "sun", "--user", "wang", ok=False)
    assert refused["error"]["code"] == "permission_denied"
    assert cli("users", "activate", "sun") == {"user": "sun", "active": True, "tokens_revoked": 0}
    assert cli("user", "deactivate", "nobody", ok=False)["error"]["code"] == "not_found"
