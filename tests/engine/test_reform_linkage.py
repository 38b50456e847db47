"""审管联动 (issue 16): pushes at acceptance and conclusion, the supervision inbox, feedback into credit."""
from __future__ import annotations

import json
import logging

import pytest

from engine.errors import InvalidState, PermissionDenied, ValidationError
from tests.engine.reform_fixtures import (COMMIT, COMMITMENT, FOOD, FORM, ID_NO, LICENCE, apply_food, conclude,
                                          files, office)  # noqa: F401


def test_a_case_is_pushed_at_acceptance_and_conclusion_and_feedback_blocks_the_next_commitment(office, caplog):
    """Push = claim; SMS to the liaison through the outbox; a credit finding closes 告知承诺 for the applicant."""
    case = apply_food(office)
    assert office.pushes(case_id=case)["total"] == 0
    office.accept(case, user="wang")
    (first,) = office.pushes(department="JG")["items"]
    assert first["stage"] == "acceptance" and first["received_at"] == first["pushed_at"] and not first["opened"]
    assert first["record"]["applicant"]["id_no"] == ID_NO and first["record"]["address"] == "江干区 1 号"
    shown = conclude(office, case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    pushes = office.pushes(department="JG")["items"]
    assert [p["stage"] for p in pushes] == ["conclusion", "acceptance"]
    conclusion = pushes[0]["record"]
    assert conclusion["decision"] == "approved" and conclusion["licence"] == office.item(FOOD)["result"]["name"]
    assert conclusion["document"].startswith(shown["number"])
    (report,) = office.unopened_pushes()
    assert (report["department"], report["total"], report["within_1_day"]) == ("JG", 2, 2)
    # an SMS to the receiving liaison for each push, through the outbox and the logging gateway
    sms = [m for m in office.outbox() if m["channel"] == "sms" and m["recipient"] == "13800000001"]
    assert len(sms) == 2
    caplog.set_level(logging.INFO, logger="yimen.sms")
    office.dispatch_outbox()
    lines = [r.getMessage() for r in caplog.records if r.name == "yimen.sms"]
    assert sum(shown["number"] in line and "138****0001" in line for line in lines) == 2
    assert any("审管联动推送" in n["subject"] for n in office.notifications("qian"))
    # the department opens it; another department may not
    with pytest.raises(PermissionDenied):
        office.open_push(pushes[0]["id"], user="li")
    assert office.open_push(pushes[0]["id"], user="qian")["opened_by"] == "qian"
    assert office.unopened_pushes()[0]["total"] == 1
    # feedback: to the approving office's staff, the case history and the credit record
    office.feed_back(case, "credit_finding", "经营场所与承诺不符，责令整改", measures="责令限期整改", user="qian")
    history = office.case(case)["opinions"][-1]
    assert (history["decision"], history["user"]) == ("supervision_credit_finding", "qian")
    assert any("监管反馈" in n["subject"] for n in office.notifications("li"))
    profile = office.credit_profile(ID_NO)
    assert profile["level"] == "bad" and profile["entries"][0]["kind"] == "supervision_finding"
    assert profile["entries"][0]["source"].startswith("市市场监管综合执法支队")
    assert office.supervision_feedback(office="SJ")["total"] == 1
    with pytest.raises(InvalidState):
        office.submit(COMMIT, {"name": "张三", "user": "zhang", "id_no": ID_NO}, files(COMMITMENT), user="zhang")
    # and 容缺受理 is closed for the next application at the window
    again = apply_food(office, FORM, LICENCE)
    with pytest.raises(InvalidState):
        office.accept_with_missing(again, user="wang")


def test_feedback_comes_only_from_a_department_the_case_was_pushed_to(office):
    case = apply_food(office)
    office.accept(case, user="wang")
    with pytest.raises(PermissionDenied):
        office.feed_back(case, "inspection", "现场检查发现问题", user="xu")
    with pytest.raises(ValidationError):
        office.feed_back(case, "rumour", "x", user="qian")
    with pytest.raises(ValidationError):
        office.feed_back(case, "inspection", "  ", user="qian")
    office.feed_back(case, "inspection", "检查发现台账不全", user="qian")
    assert office.credit_profile(ID_NO)["level"] == "normal"  # an inspection result is not a credit finding


def test_the_linkage_list_round_trips_and_bad_rows_change_nothing(office):
    exported = office.export_linkage("csv")
    assert exported.splitlines()[0] == "item_code,department,push_liaison,receive_liaison,pushed"
    before = office.linkage_list()
    with pytest.raises(ValidationError) as refused:
        office.import_linkage(json.dumps([{"item_code": "NOPE", "department": "JG"},
                                          {"item_code": FOOD, "department": "ZZ", "receive_liaison": "ghost"}]))
    assert len(refused.value.details["problems"]) == 3
    assert office.linkage_list() == before
    with pytest.raises(PermissionDenied):
        office.import_linkage(exported, "csv", user="qian")
    assert office.import_linkage(exported, "csv")["imported"] == len(before)
    assert [r["department"] for r in office.linkage_list(FOOD)] == ["JG"]
    # the same list with the Chinese headings an office's spreadsheet has
    chinese = exported.replace("item_code,department,push_liaison,receive_liaison,pushed",
                               "事项编码,监管部门,推送联络人,接收联络人,推送内容", 1)
    assert office.import_linkage(chinese, "csv")["imported"] == len(before)
    assert office.linkage_list() == [{**r, "id": a["id"]} for r, a in zip(before, office.linkage_list())]
