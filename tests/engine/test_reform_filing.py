"""否定备案 (issue 16): every negative outcome is filed with its reason; the supervisor confirms or reopens it."""
from __future__ import annotations

import pytest

from engine.errors import InvalidState, PermissionDenied, ValidationError
from tests.engine.reform_fixtures import FORM, LICENCE, apply_food, conclude, office  # noqa: F401


def test_a_refusal_is_filed_and_reopened_as_a_new_case_at_the_window(office):
    case = apply_food(office)
    office.not_accept(case, "经营场所不在本市", user="wang")
    (filing,) = office.negative_filings(status="filed")["items"]
    assert (filing["case"], filing["outcome"], filing["reason"], filing["department"]) == (
        case, "not_accepted", "经营场所不在本市", "SJ")
    assert any("否定备案" in n["subject"] for n in office.notifications("sun"))
    with pytest.raises(PermissionDenied):
        office.reopen_filing(filing["id"], "理由不成立", user="wang")
    with pytest.raises(ValidationError):
        office.reopen_filing(filing["id"], " ", user="sun")
    reopened = office.reopen_filing(filing["id"], "经营场所在本市辖区内，不予受理理由不成立", user="sun")
    assert reopened["status"] == "reopened"
    again = office.case(reopened["reopened_case"])
    assert again["status"] == "submitted" and again["number"] != office.case(case)["number"]
    assert {m["name"] for m in again["materials"] if m["status"] == "received"} == {
        m["name"] for m in office.case(case)["materials"] if m["status"] == "received"}
    assert office.tasks(instance=again["instance"])[0]["element_id"] == "accept"
    assert any("否定备案复查" in n["subject"] for n in office.notifications("zhang"))
    with pytest.raises(InvalidState):
        office.confirm_filing(filing["id"], user="sun")
    office.accept(again["id"], user="wang")  # handled again, now accepted
    assert office.case(again["id"])["status"] == "under_review"


def test_a_refused_licence_and_a_withdrawal_at_staffs_suggestion_are_filed_a_plain_withdrawal_is_not(office):
    refused = apply_food(office)
    office.accept(refused, user="wang")
    conclude(office, refused, approved=False)
    withdrawn = apply_food(office, FORM, LICENCE, name="李四", id_no="330100199202020022")
    office.withdraw_application(withdrawn, "窗口建议补齐材料后再申请", user="zhang", staff_suggested=True)
    plain = apply_food(office, FORM, name="王五", id_no="330100199303030033")
    office.withdraw_application(plain, "不办了", user="zhang")
    filings = {f["case"]: f for f in office.negative_filings()["items"]}
    assert set(filings) == {refused, withdrawn}
    assert filings[refused]["outcome"] == "not_approved" and "场所面积不足" in filings[refused]["reason"]
    assert filings[withdrawn]["outcome"] == "withdrawn"
    confirmed = office.confirm_filing(filings[refused]["id"], "理由充分，依据明确", user="sun")
    assert (confirmed["status"], confirmed["decided_by"]) == ("confirmed", "sun")
    assert office.negative_filings(status="filed")["total"] == 1


def test_a_terminated_case_is_filed(office):
    case = apply_food(office)
    office.accept(case, user="wang")
    office.terminate_case(case, "申请人提供虚假材料")
    (filing,) = office.negative_filings()["items"]
    assert (filing["outcome"], filing["reason"]) == ("terminated", "申请人提供虚假材料")
