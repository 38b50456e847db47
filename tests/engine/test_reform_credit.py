"""Credit (信用, issue 16): entries per applicant, imported lists, the window's check, what credit opens."""
from __future__ import annotations

import pytest

from engine.errors import InvalidState, PermissionDenied, ValidationError
from tests.engine.reform_fixtures import (COMMIT, COMMITMENT, FOOD, FORM, ID_NO, LICENCE, apply_food, files,
                                          office)  # noqa: F401

GOOD_ID, LISTED_ID = "330100198801010022", "91330100MA2XXXXX1A"
LIST = ("id_no,name,subject_kind,level,reason,source,date,expires\n"
        f"{GOOD_ID},王守信,person,good,连续三年无违法记录,市信用办,2026-01-05,\n"
        f"{LISTED_ID},某某食品有限公司,organisation,blacklist,拒不履行法院判决,最高人民法院失信被执行人名单,2026-01-10,\n"
        f"330100197001010033,过期记录,person,bad,已过期的处罚,市场监管局,2024-01-01,2025-01-01\n")


def test_an_imported_list_sets_the_level_and_the_window_check_is_kept_in_the_case_file(office):
    """Good credit from a list opens 绿色通道: the shorter promised limit (5 of 10) on the notice and the clock."""
    assert office.import_credit_list(LIST, "2026 一季度名单")["imported"] == 3
    assert office.credit_profile(GOOD_ID)["level"] == "good"
    assert office.credit_profile(LISTED_ID)["level"] == "blacklist"
    assert office.credit_profile("330100197001010033")["level"] == "normal"  # its only entry has expired
    case = apply_food(office, id_no=GOOD_ID, name="王守信")
    office.accept(case, user="wang")
    shown = office.case(case)
    notice = next(n for n in shown["notices"] if n["kind"] == "acceptance")
    assert notice["content"]["promised_days"] == 5 and notice["content"]["green_channel"] is True
    assert shown["clock"]["case"]["promised_days"] == 5
    check = office.reform_of_case(case)["credit_check"]
    assert (check["by"], check["level"]) == ("wang", "good")
    assert check["opens"]["green_channel"] and check["opens"]["tolerance"] and check["opens"]["commitment"]
    assert check["entries"][0]["reason"] == "连续三年无违法记录"


def test_blacklisted_credit_closes_commitment_and_tolerance_with_the_reason(office):
    """失信联合惩戒 closes 告知承诺 at application and 容缺受理 at the window; staff are told why."""
    office.import_credit_list(LIST)
    with pytest.raises(InvalidState):
        office.submit(COMMIT, {"name": "某某食品有限公司", "kind": "organisation", "user": "zhang",
                               "id_no": LISTED_ID}, files(COMMITMENT), user="zhang")
    case = office.submit(FOOD, {"name": "某某食品有限公司", "kind": "organisation", "user": "zhang",
                                "id_no": LISTED_ID}, files(FORM, LICENCE), user="zhang")["case"]
    with pytest.raises(InvalidState) as refused:
        office.accept_with_missing(case, user="wang")
    assert "拒不履行法院判决" in str(refused.value) and refused.value.details["level"] == "blacklist"
    assert office.case(case)["status"] == "submitted"  # nothing changed
    assert office.reform_of_case(case)["credit_check"] is None
    office.credit_check(case, user="wang")  # the window's look is kept even before a decision
    check = office.reform_of_case(case)["credit_check"]
    assert check["level"] == "blacklist" and not check["opens"]["tolerance"] and "失信被执行人" in check["reason"]


def test_the_declared_level_is_not_the_source(office):
    """An applicant declaring good credit is normal without a record; the window cannot declare it either."""
    case = office.submit(FOOD, {"name": "张三", "user": "zhang", "id_no": ID_NO, "credit": "good"},
                         files(FORM, LICENCE), user="wang")["case"]
    assert office.case(case)["applicant"]["credit"] == "normal"


def test_a_credit_list_with_problems_is_refused_whole_and_only_administrators_import(office):
    bad = "id_no,name,level,reason\n,无号码,bad,x\n330100198801010022,名字,excellent,x\n"
    with pytest.raises(ValidationError) as refused:
        office.import_credit_list(bad)
    assert len(refused.value.details["problems"]) == 2
    assert office.credit_entries()["total"] == 0
    with pytest.raises(PermissionDenied):
        office.import_credit_list(LIST, user="wang")
    case = apply_food(office)
    with pytest.raises(PermissionDenied):
        office.credit_check(case, user="li")


def test_item_settings_refuse_a_green_channel_not_shorter_than_the_promised_limit(office):
    with pytest.raises(ValidationError):
        office.save_reform_settings(FOOD, green_channel_days=10)
    with pytest.raises(PermissionDenied):
        office.save_reform_settings(FOOD, green_channel_days=3, user="wang")
    assert office.save_reform_settings(FOOD, green_channel_days=3)["green_channel_days"] == 3


def test_the_command_line_imports_a_credit_list_and_shows_an_applicant(database_url, tmp_path):
    """``yimen credit import FILE`` (all or nothing) and ``yimen credit show ID``, JSON out."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, YIMEN_DATABASE_URL=database_url, YIMEN_INSTANCE_PATH=str(tmp_path))

    def run(*args, ok=True):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--json"], capture_output=True, text=True,
                              env=env, cwd=root, timeout=120)
        assert (proc.returncode == 0) == ok, (proc.stdout, proc.stderr)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    run("db", "upgrade")
    listed = tmp_path / "list.csv"
    listed.write_text(LIST, encoding="utf-8")
    assert run("credit", "import", str(listed))["imported"] == 3
    shown = run("credit", "show", LISTED_ID)
    assert shown["level"] == "blacklist" and shown["entries"][0]["source"] == "最高人民法院失信被执行人名单"
    broken = tmp_path / "broken.csv"
    broken.write_text("id_no,name\n1,x\n", encoding="utf-8")
    assert run("credit", "import", str(broken), ok=False)["error"]["code"] == "invalid_input"
