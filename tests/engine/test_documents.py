"""Decisions (Arts. 38-39), licences (Art. 44), delivery (统一出件) and 告知承诺 signatures, on both databases."""
from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timedelta

import pytest

from engine.errors import InvalidState, PermissionDenied, ValidationError
from tests.conftest import CASE_TIME, PROCESSES, read

STANDARD, COMMIT = "330100-XK-001", "330100-XK-004"
ID_NO = "33010019900101001X"  # a valid 18-digit number (GB 11643 check character X)


@pytest.fixture
def office(yimen, calendar_ready, departments):
    for name in ("standard_approval", "parallel_approval", "notify_commit", "extension"):
        yimen.deploy([read(f"{name}.bpmn")])
    yimen.import_items((PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8"))
    for user, groups in (("wang", ["window"]), ("li", ["reviewer"]), ("zhao", ["approver"]), ("zhang", []),
                         ("sun", ["supervision", "supervisor"]), ("other", [])):
        yimen.add_user(user, groups=groups, email=f"{user}@example.invalid")
    return yimen


def materials(yimen, code):
    return [{"name": m["name"], "filename": f"{i}.pdf", "content": b"%PDF-1.4 x"}
            for i, m in enumerate(yimen.item(code)["materials"])]


def tasks(yimen, case):
    return yimen.tasks(instance=yimen.case(case)["instance"])


def concluded(yimen, approved=True):
    case = yimen.submit(STANDARD, {"name": "张三", "kind": "person", "user": "zhang", "id_no": ID_NO},
                        materials(yimen, STANDARD), user="zhang")["case"]
    yimen.accept(case, user="wang")
    (review,) = tasks(yimen, case)
    yimen.decide(review["id"], True, "符合条件", user="li")
    (conclude,) = tasks(yimen, case)
    yimen.decide(conclude["id"], approved, "同意" if approved else "场所布局不符合食品安全要求", user="zhao")
    return case


def test_approval_writes_a_numbered_decision_and_a_pending_licence_on_its_own_clock(office):
    """准予: a decision numbered per office and year; the licence waits for 制证 with a 10-working-day watch."""
    first, second = concluded(office), concluded(office)
    shown = office.case(first)
    decision = shown["decision"]
    assert decision["approved"] and decision["title"] == "准予行政许可决定书"
    assert decision["number"] == "SJ-JD-2026-00001"
    assert office.case(second)["decision"]["number"] == "SJ-JD-2026-00002"
    notice = [n for n in shown["notices"] if n["kind"] == "decision"][0]
    assert notice["content"]["decision_number"] == decision["number"]
    licence = shown["licence"]
    assert (licence["status"], licence["number"]) == ("pending", None)
    due = office.working_calendar().deadline(datetime.fromisoformat(CASE_TIME), 10)
    assert licence["due"] == due.isoformat()
    watches = office.watches(kind="licence")["items"]
    assert any(w["kind"] == "licence" and w["case"] == first and w["promised_due"] == due.isoformat()
               for w in watches)
    stages = {s["stage"]: s for s in shown["progress"]}
    assert stages["decision"]["state"] == "done" and stages["licence"]["state"] == "current"
    assert stages["licence"]["promised"] == due.isoformat()


def test_refusal_gives_reasons_legal_basis_and_appeal_rights_and_no_licence(office):
    """不予: the reviewer's reasons, the item's legal basis, 60 days / 6 months; no licence is opened."""
    shown = office.case(concluded(office, approved=False))
    decision = shown["decision"]
    assert decision["title"] == "不予行政许可决定书" and not decision["approved"]
    assert decision["reasons"] == "场所布局不符合食品安全要求"
    assert decision["legal_basis"] == office.item(STANDARD)["legal_basis"]
    assert "60日内" in decision["appeal_rights"] and "6个月内" in decision["appeal_rights"]
    assert "行政复议" in decision["appeal_rights"] and "行政诉讼" in decision["appeal_rights"]
    assert shown["licence"] is None
    assert {s["stage"]: s["state"] for s in shown["progress"]}["licence"] == "skipped"


def test_decision_pdf_is_a_pdf_whose_text_has_the_chinese_title(office, tmp_path):
    """The PDF embeds a CJK font: pdftotext reads the title, the number and the reasons back."""
    from engine import documents

    case = concluded(office, approved=False)
    pdf = documents.decision_pdf(office.decision_document(case))
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "decision.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    flat = "".join(text.split())
    assert flat.startswith("不予行政许可决定书") and "场所布局不符合食品安全要求" in flat and "SJ-JD-2026-00001" in flat


def test_a_missing_font_is_a_clear_refusal(office, monkeypatch):
    """No CJK font: font_missing naming the Debian package, not a PDF of empty boxes."""
    from engine import documents

    case = concluded(office)
    monkeypatch.setenv("YIMEN_CJK_FONT", "/nonexistent/font.ttf")
    with pytest.raises(documents.FontMissing) as err:
        documents.decision_pdf(office.decision_document(case))
    assert err.value.code == "font_missing" and "fonts-wqy-zenhei" in str(err.value)


def test_window_issues_the_licence_and_anyone_verifies_it(office):
    """制证 by the window: number, holder, scope, validity, office; the public verification masks the ID number."""
    case = concluded(office)
    with pytest.raises(PermissionDenied):
        office.issue_licence(case, user="zhang")
    issued = office.issue_licence(case, scope="预包装食品销售", user="wang")
    assert issued["status"] == "issued" and issued["number"] == "SJ-XK-2026-000001"
    assert issued["valid_from"] == "2026-03-02" and issued["valid_until"] == "2031-03-01"
    with pytest.raises(InvalidState):
        office.issue_licence(case, user="wang")
    public = office.verify_licence(issued["number"].lower())
    assert (public["status"], public["holder"], public["scope"]) == ("issued", "张三", "预包装食品销售")
    assert public["office"] == office.item(STANDARD)["competent_office"]
    assert "holder_id_no" not in public and public["masked_id_no"].endswith("001X")
    assert not [w for w in office.watches(kind="licence")["items"] if w["case"] == case]
    notices = office.case(case)["notices"]
    assert [n["kind"] for n in notices][-1] == "licence"
    assert any("证照已制发" in n["subject"] for n in office.notifications("zhang"))


def test_licence_late_warns_the_window_then_cards(office):
    """The licence clock warns the window 2 working days ahead; past the 10 working days of Art. 44 a red card."""
    case = concluded(office)
    due = datetime.fromisoformat(office.case(case)["licence"]["due"])
    warning = datetime.fromisoformat(office.watches(kind="licence")["items"][0]["warning_at"])
    office.advance_deadlines(until=warning + timedelta(minutes=1))
    assert any("预警" in n["subject"] for n in office.notifications("wang"))
    assert not office.cards()["items"]
    office.advance_deadlines(until=due + timedelta(minutes=1))
    cards = office.cards()["items"]
    assert [c["color"] for c in cards if c["case"] == case] == ["red"]


def test_issuing_waits_for_materials_that_were_allowed_to_follow(office):
    """容缺: the decision, and so the licence, waits for the materials that were allowed to follow."""
    given = materials(office, STANDARD)
    tolerable = [m["name"] for m in office.item(STANDARD)["materials"] if m.get("tolerable")]
    case = office.submit(STANDARD, {"name": "张三", "user": "zhang"},
                         [m for m in given if m["name"] not in tolerable], user="zhang")["case"]
    office.accept_with_missing(case, user="wang")
    (review,) = tasks(office, case)
    office.decide(review["id"], True, "符合条件", user="li")
    (conclude,) = tasks(office, case)
    office.decide(conclude["id"], True, "同意", user="zhao")
    with pytest.raises(InvalidState) as err:
        office.issue_licence(case, user="wang")
    assert err.value.details["refusal"] == "no_licence"
    office.supplement(case, [m for m in given if m["name"] in tolerable], user="zhang")
    assert office.issue_licence(case, user="wang")["status"] == "issued"


def test_decision_numbers_are_taken_without_a_race(office, database_url):
    """Two decisions concluded at once on PostgreSQL each get their own number."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers")
    cases = []
    for _ in range(2):
        case = office.submit(STANDARD, {"name": "张三", "user": "zhang"}, materials(office, STANDARD),
                             user="zhang")["case"]
        office.accept(case, user="wang")
        office.decide(tasks(office, case)[0]["id"], True, "符合条件", user="li")
        cases.append(case)
    barrier, errors = threading.Barrier(2), []

    def conclude(case):
        try:
            task_id = tasks(office, case)[0]["id"]
            barrier.wait()
            office.decide(task_id, True, "同意", user="zhao")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=conclude, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(office.case(c)["decision"]["number"] for c in cases) == ["SJ-JD-2026-00001",
                                                                          "SJ-JD-2026-00002"]


def test_delivery_by_post_dispatched_delivered_received_each_told(office):
    """统一出件 by post: her choice, the tracking number, delivered, received — each a notice; in order only."""
    case = concluded(office)
    with pytest.raises(ValidationError) as err:
        office.choose_delivery(case, "post", user="zhang")
    assert {p["field"] for p in err.value.details["problems"]} == {"address", "phone"}
    office.choose_delivery(case, "post", "杭州市西湖区文三路 1 号", phone="13800138000", user="zhang")
    with pytest.raises(InvalidState):  # the licence leaves with the decision
        office.dispatch_result(case, "SF123", user="wang")
    office.issue_licence(case, user="wang")
    with pytest.raises(ValidationError):
        office.dispatch_result(case, user="wang")
    with pytest.raises(PermissionDenied):
        office.dispatch_result(case, "SF123", user="zhang")
    office.dispatch_result(case, "SF1234567890", "顺丰速运", user="wang")
    with pytest.raises(InvalidState):
        office.choose_delivery(case, "pickup", user="zhang")
    office.confirm_delivered(case, user="wang")
    with pytest.raises(PermissionDenied):
        office.confirm_received(case, user="wang")
    delivery = office.confirm_received(case, user="zhang")
    assert (delivery["status"], delivery["tracking_no"]) == ("received", "SF1234567890")
    shown = office.case(case)
    assert [n["kind"] for n in shown["notices"]][-3:] == ["dispatched", "delivered", "received"]
    assert {s["stage"]: s["state"] for s in shown["progress"]}["delivered"] == "done"
    mails = [m for m in office.outbox() if m["channel"] == "email" and m["recipient"] == "zhang@example.invalid"]
    assert any("SF1234567890" in m["body"] for m in mails)


def test_walk_in_result_waits_at_the_window(office):
    """No choice made: the result is ready for pickup at the window, then handed over."""
    case = concluded(office, approved=False)
    assert office.dispatch_result(case, user="wang")["status"] == "ready"
    assert office.confirm_delivered(case, user="wang")["status"] == "delivered"


def commitment_case(office, user="zhang"):
    applicant = {"name": "李四", "user": user, "id_no": ID_NO} if user else {"name": "李四", "id_no": ID_NO}
    return office.submit(COMMIT, applicant, materials(office, COMMIT), user=user or "wang")["case"]


def test_applicant_signs_the_commitment_online(office):
    """告知承诺: she reads the text and signs with her name; the step completes and the window decides."""
    case = commitment_case(office)
    waiting = office.case(case)["commitment"]
    assert waiting["waiting"] and "虚假承诺" in waiting["text"]
    with pytest.raises(PermissionDenied):
        office.sign_commitment(case, True, "李四", user="other")
    with pytest.raises(ValidationError):
        office.sign_commitment(case, False, "李四", user="zhang")
    with pytest.raises(ValidationError) as err:
        office.sign_commitment(case, True, "王五", user="zhang")
    assert err.value.details["refusal"] == "signer_mismatch"
    office.sign_commitment(case, True, "李四", user="zhang")
    signed = office.case(case)["commitment"]
    assert not signed["waiting"] and signed["signed"]["mode"] == "online"
    (decide,) = tasks(office, case)
    assert decide["element_id"] == "decide_on_the_spot"
    with pytest.raises(InvalidState):
        office.sign_commitment(case, True, "李四", user="zhang")


def test_window_records_a_paper_commitment_with_its_scan(office):
    """A walk-in applicant without an account: the window records her signed paper commitment and scan."""
    case = commitment_case(office, user=None)
    with pytest.raises(ValidationError):
        office.record_paper_commitment(case, "李四", "scan.pdf", b"", user="wang")
    with pytest.raises(PermissionDenied):
        office.record_paper_commitment(case, "李四", "scan.pdf", b"%PDF", user="li")
    office.record_paper_commitment(case, "李四", "scan.pdf", b"%PDF-1.4 signed", user="wang")
    signed = office.case(case)["commitment"]["signed"]
    assert (signed["mode"], signed["scan"]) == ("paper", "scan.pdf")
    assert tasks(office, case)[0]["element_id"] == "decide_on_the_spot"


def test_false_commitment_revokes_the_licence_and_verification_says_so(office):
    """核查 finds the commitment false: the decision's licence is revoked and the public page shows it."""
    case = commitment_case(office)
    office.sign_commitment(case, True, "李四", user="zhang")
    (decide,) = tasks(office, case)
    office.decide(decide["id"], True, "当场准予", user="wang")
    number = office.issue_licence(case, user="wang")["number"]
    assert office.verify_licence(number)["status"] == "issued"
    (verify,) = tasks(office, case)
    office.verify_commitment(verify["id"], False, "现场与承诺不符", user="sun")
    public = office.verify_licence(number)
    assert (public["status"], public["revoked_reason"]) == ("revoked", "现场与承诺不符")
    assert office.case(case)["notices"][-1]["kind"] == "licence_revoked"


def test_resubmission_corrects_every_field_and_its_note_reaches_the_window(office):
    """补正: name, ID number and form fields change; a wrong ID number is refused; the note is an opinion."""
    case = office.submit(STANDARD, {"name": "张 三", "user": "zhang", "id_no": "123"}, [], user="zhang")["case"]
    office.request_correction(case, [{"problem": "身份证号码有误"}], user="wang")
    with pytest.raises(ValidationError) as err:
        office.resubmit(case, materials(office, STANDARD), "改了", user="zhang", applicant={"id_no": "330100199001010011"})
    assert err.value.details["problems"] == [{"field": "id_no", "refusal": "id_card_check_digit"}]
    assert office.case(case)["applicant"]["id_no"] == "123"
    result = office.resubmit(case, materials(office, STANDARD), "已更正身份证号码和姓名", user="zhang",
                             applicant={"name": "张三", "id_no": ID_NO}, form={"shop": "小张面馆"})
    assert set(result["corrected"]) == {"name", "id_no", "form.shop"}
    shown = office.case(case)
    assert (shown["applicant"]["name"], shown["applicant"]["id_no"]) == ("张三", ID_NO)
    assert shown["form"]["shop"] == "小张面馆"
    assert shown["opinions"][-1]["decision"] == "resubmitted"
    assert shown["opinions"][-1]["text"] == "已更正身份证号码和姓名"
    assert tasks(office, case)[0]["element_id"] == "accept"


def test_audit_events_name_the_new_verbs(office):
    """Each verb writes its own audit event."""
    case = concluded(office)
    office.issue_licence(case, user="wang")
    office.dispatch_result(case, user="wang")
    actions = [e["action"] for e in office.audit_trail(office.case(case)["instance"])]
    assert "licence.issue" in actions and "delivery.dispatch" in actions
    assert json.dumps(office.verify_audit())  # the chain still verifies as a whole
