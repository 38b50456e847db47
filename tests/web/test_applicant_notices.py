"""Issue 15 (notices reach people): every written notice reaches the applicant as a message, with what it says.

Through the pages: she applies, the window accepts, the reviewer rejects; her 消息 page then lists the
receipt (收件回执), the acceptance notice with its dates, and the 不予行政许可决定书 with the reason and her
rights; the case page shows the decision.
"""
from __future__ import annotations

from tests.web.test_pages import _apply, post, signed_in


def test_the_applicant_is_told_receipt_acceptance_and_a_refusal_with_reasons(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    window = signed_in(app, "wang")
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    post(window, f"/tasks/{task['id']}/accept", {"opinion": "材料齐全"}, f"/tasks/{task['id']}")
    (review,) = y.tasks(instance=y.case(case_id)["instance"])
    reviewer = signed_in(app, "li")
    post(reviewer, f"/tasks/{review['id']}/decide", {"approved": "no", "opinion": "经营场所不符合卫生要求"},
         f"/tasks/{review['id']}")
    (conclude,) = y.tasks(instance=y.case(case_id)["instance"])
    post(signed_in(app, "zhao"), f"/tasks/{conclude['id']}/decide",
         {"approved": "no", "opinion": "经营场所不符合卫生要求，不予许可"}, f"/tasks/{conclude['id']}")
    shown = y.case(case_id)
    assert (shown["status"], shown["outcome"]) == ("concluded", "not_approved")
    decision = shown["notices"][-1]
    assert decision["kind"] == "decision" and decision["content"]["decision"] == "not_approved"
    assert "不予许可" in decision["content"]["reasons"] and "行政复议" in decision["content"]["appeal_rights"]
    messages = applicant.get("/notifications").data.decode()
    for text in ("收件回执", "受理通知书", "承诺办结日期", "行政许可决定书", "不予行政许可", "经营场所不符合卫生要求",
                 "行政复议"):
        assert text in messages, text
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert "不予行政许可" in page and "行政许可决定书" in page
