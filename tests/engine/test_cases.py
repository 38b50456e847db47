"""Cases (办件) on the standard approval: apply, the window's decisions, opinions, notices, status."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import Conflict, InvalidState, PermissionDenied, ValidationError
from tests.conftest import CASE_TIME, read

FORM, LICENCE, HYGIENE = "申请书 Application form", "营业执照", "卫生管理制度 Hygiene rules"

ITEM = {
    "code": "TEST-XK-001",
    "name": "食品经营许可 Food business licence",
    "item_type": "administrative_licensing",
    "legal_basis": "《中华人民共和国食品安全法》第三十五条",
    "competent_office": "市市场监督管理局 City market regulation bureau",
    "office_code": "SJ",
    "level": "city",
    "acceptance_conditions": "在本市从事食品经营活动",
    "materials": [
        {"name": FORM, "form": "original", "copies": 1, "required": True, "tolerable": False, "key": True},
        {"name": LICENCE, "form": "copy", "copies": 1, "required": True, "tolerable": False, "key": True},
        {"name": HYGIENE, "form": "original", "copies": 1, "required": True, "tolerable": True, "key": False},
    ],
    "legal_limit_days": 20,
    "promised_limit_days": 10,
    "process_key": "standard_approval",
    "tolerance_allowed": True,
    "supplement_days": 5,
}


def files(*names):
    return [{"name": n, "filename": f"{i}.pdf", "content": f"%PDF {n}".encode()} for i, n in enumerate(names)]


@pytest.fixture
def office(yimen, calendar_ready, departments):
    yimen.deploy([read("standard_approval.bpmn")])
    for user, groups in (("wang", ["window"]), ("chen", ["window"]), ("li", ["reviewer"]), ("zhao", ["approver"]),
                         ("zhang", []), ("agent", [])):
        yimen.add_user(user, groups=groups)
    yimen.save_item(dict(ITEM))
    return yimen


def apply(yimen, *materials, credit="normal"):
    return yimen.submit(ITEM["code"], {"name": "张三 Zhang San", "kind": "person", "user": "zhang",
                                       "credit": credit}, files(*materials), form={"shop": "小张面馆"},
                        user="zhang")


def task(yimen, case, element=None):
    tasks = yimen.tasks(instance=yimen.case(case)["instance"])
    return [t for t in tasks if element is None or t["element_id"] == element][0]


def test_application_gets_a_readable_number_and_its_materials(office):
    """A submitted case has OFFICE-YYYYMMDD-NNNNN, its materials with checksums, and waits at the window."""
    first = apply(office, FORM, LICENCE, HYGIENE)
    second = apply(office, FORM)
    assert first["number"].startswith("SJ-") and first["number"].endswith("-00001")
    assert second["number"].endswith("-00002")
    case = office.case(first["case"])
    assert case["status"] == "submitted"
    assert all(m["status"] == "received" and len(m["sha256"]) == 64 for m in case["materials"])
    missing = {m["name"] for m in office.case(second["case"])["materials"] if m["status"] == "missing"}
    assert missing == {LICENCE, HYGIENE}
    assert task(office, first["case"])["element_id"] == "accept"


def test_unknown_material_is_refused_and_nothing_is_stored(office):
    """Materials must be those of the item: invalid_input, no case."""
    with pytest.raises(ValidationError):
        office.submit(ITEM["code"], {"name": "x"}, files("not a material"))
    assert apply(office, FORM)["number"].endswith("-00001")


def test_accept_review_conclude_with_opinions_and_notice(office):
    """受理 issues an acceptance notice; opinions are kept per step; the case concludes approved."""
    case = apply(office, FORM, LICENCE, HYGIENE)["case"]
    accepted = office.accept(case, opinion="材料齐全", user="wang")
    assert office.case(case)["status"] == "under_review"
    office.decide(task(office, case)["id"], True, "符合条件 meets the conditions", user="li")
    office.decide(task(office, case)["id"], True, "同意 approved", user="zhao")
    shown = office.case(case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert [o["decision"] for o in shown["opinions"]] == ["accepted", "approved", "approved"]
    notice, decision = shown["notices"]
    assert notice["kind"] == "acceptance" and notice["number"] == accepted["notice"]
    assert notice["content"]["office"] == ITEM["competent_office"]
    # Arts. 38-39: the conclusion is a written decision, and every notice reached the applicant
    assert decision["kind"] == "decision" and decision["content"]["decision"] == "approved"
    subjects = [n["subject"] for n in office.notifications("zhang")]
    assert any("收件回执" in t for t in subjects) and any("受理通知书" in t for t in subjects)
    assert any("行政许可决定书" in t for t in subjects)


def test_accept_with_required_material_missing_is_refused(office):
    """受理 needs every required material; otherwise correction or 容缺."""
    case = apply(office, FORM)["case"]
    with pytest.raises(InvalidState) as err:
        office.accept(case, user="wang")
    assert LICENCE in str(err.value)
    assert office.case(case)["status"] == "submitted"


def test_not_accepted_with_reason_and_appeal_rights(office):
    """不予受理 ends the case with a written notice: reason, competent office, appeal rights."""
    case = apply(office, FORM)["case"]
    with pytest.raises(ValidationError):
        office.not_accept(case, reason=" ", user="wang")
    office.not_accept(case, reason="不属于本机关职权范围", competent_office="区卫健委", user="wang")
    shown = office.case(case)
    assert shown["status"] == "not_accepted"
    content = shown["notices"][0]["content"]
    assert content["competent_office"] == "区卫健委" and "行政复议" in content["appeal_rights"]


def test_correction_lists_everything_and_resubmission_returns_to_the_window(office):
    """补正: one notice with every problem; the applicant resubmits; the window decides again."""
    case = apply(office, FORM)["case"]
    problems = [{"material": LICENCE, "problem": "缺少营业执照 missing"},
                {"material": HYGIENE, "problem": "缺少卫生管理制度 missing"}]
    office.request_correction(case, problems, user="wang")
    shown = office.case(case)
    assert shown["status"] == "correction_requested"
    assert shown["notices"][0]["content"]["problems"] == problems
    correction = task(office, case)
    assert (correction["element_id"], correction["assignee"]) == ("correction", "zhang")
    with pytest.raises(PermissionDenied):
        office.supplement(case, files(LICENCE), user="li")
    office.supplement(case, files(LICENCE, HYGIENE), user="zhang")
    office.complete(correction["id"], {}, user="zhang")
    assert task(office, case)["element_id"] == "accept"
    office.accept(case, user="wang")
    assert office.case(case)["status"] == "under_review"


def test_tolerance_accepts_missing_non_key_material_and_waits_for_it(office):
    """容缺受理: accepted without the hygiene rules; the decision waits until they arrive, then concludes."""
    case = apply(office, FORM, LICENCE, credit="good")["case"]
    result = office.accept_with_missing(case, user="wang")
    assert office.case(case)["status"] == "under_review"
    assert office.case(case)["notices"][0]["content"]["missing"] == [HYGIENE]
    assert result["supplement_due"]
    office.decide(task(office, case)["id"], True, "ok", user="li")
    office.decide(task(office, case)["id"], True, "同意", user="zhao")
    shown = office.show(office.case(case)["instance"])
    assert shown["status"] == "running" and shown["completed_elements"][-1] == "materials_check"
    assert office.case(case)["status"] == "under_review"  # decided, but no certificate before the materials
    office.supplement(case, files(HYGIENE), user="zhang")
    assert office.case(case)["status"] == "concluded"


def test_tolerance_case_is_terminated_when_materials_never_arrive(office):
    """If the supplement deadline passes, the case ends terminated and no certificate is recorded."""
    case = apply(office, FORM, LICENCE)["case"]
    office.accept_with_missing(case, supplement_days=3, user="wang")
    office.decide(task(office, case)["id"], True, "ok", user="li")
    office.decide(task(office, case)["id"], True, "同意", user="zhao")
    office.fire_timers(until=datetime.now(timezone.utc) + timedelta(days=40))
    shown = office.case(case)
    assert shown["status"] == "terminated"
    assert "record_conclusion" not in office.show(shown["instance"])["completed_elements"]


def test_a_tolerance_case_ended_by_the_clock_tells_the_applicant_once(office):
    """容缺: when the supplement deadline passes during review, the clock ends the case and the applicant gets one
    termination notice (the written 终止办理告知书's), not a second untyped message beside it."""
    case = apply(office, FORM, LICENCE)["case"]
    office.accept_with_missing(case, supplement_days=3, user="wang")
    office.advance_deadlines(datetime.now(timezone.utc) + timedelta(days=30))
    assert office.case(case)["status"] == "terminated"
    told = [n for n in office.notifications("zhang") if "终止" in n["subject"]]
    assert [n["kind"] for n in told] == ["terminated"], told


def test_tolerance_refusals(office):
    """容缺 is refused for key materials and for applicants with bad credit."""
    key_missing = apply(office, FORM, HYGIENE)["case"]
    with pytest.raises(InvalidState):
        office.accept_with_missing(key_missing, user="wang")
    bad = apply(office, FORM, LICENCE, credit="bad")["case"]
    with pytest.raises(InvalidState):
        office.accept_with_missing(bad, user="wang")


def test_only_window_staff_decide_acceptance(office):
    """A reviewer cannot accept at the window."""
    case = apply(office, FORM, LICENCE, HYGIENE)["case"]
    with pytest.raises(PermissionDenied):
        office.accept(case, user="li")


def test_applicant_withdraws_before_acceptance_only(office):
    """撤回 by the applicant before acceptance; after acceptance it is refused."""
    case = apply(office, FORM)["case"]
    with pytest.raises(PermissionDenied):
        office.withdraw_application(case, user="li")
    office.withdraw_application(case, reason="changed my mind", user="zhang")
    assert office.case(case)["status"] == "withdrawn"
    assert office.tasks(instance=office.case(case)["instance"]) == []
    accepted = apply(office, FORM, LICENCE, HYGIENE)["case"]
    office.accept(accepted, user="wang")
    with pytest.raises(InvalidState):
        office.withdraw_application(accepted, user="zhang")


def test_terminate_case_with_reason(office):
    """Termination needs a reason and an administrator."""
    case = apply(office, FORM)["case"]
    with pytest.raises(PermissionDenied):
        office.terminate_case(case, "x", user="wang")
    office.terminate_case(case, "applicant deceased")
    assert office.case(case)["status"] == "terminated"
    with pytest.raises(InvalidState):
        office.terminate_case(case, "again")


def test_two_window_staff_accepting_at_once_one_wins(office):
    """Two concurrent acceptances of one case: one succeeds, the other is refused, one notice."""
    case = apply(office, FORM, LICENCE, HYGIENE)["case"]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(user):
        barrier.wait()
        try:
            office.accept(case, user=user)
            outcomes.append("ok")
        except (Conflict, InvalidState) as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in ("wang", "chen")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert len(office.case(case)["notices"]) == 1


@pytest.fixture
def demo(yimen, calendar_ready, departments):
    for name in ("standard_approval", "parallel_approval", "notify_commit", "extension"):
        yimen.deploy([read(f"{name}.bpmn")])
    yimen.import_items((read("items/demo_items.json")[1]).decode("utf-8"))
    for user, groups in (("wang", ["window"]), ("zhang", []), ("sun", ["supervision"]), ("head", ["office-head"]),
                         ("li", ["reviewer"]), ("zhao", ["approver"]), ("m", ["SJ"]), ("f", ["XF"]),
                         ("e", ["HB"])):
        yimen.add_user(user, groups=groups)
    return yimen


def test_joint_case_reviews_with_every_department_of_the_item(demo):
    """并联审批 case: the item's departments review at once; one rejection, the rest conclude the case."""
    case = demo.submit("330100-XK-003", {"name": "小张面馆", "kind": "organisation", "user": "zhang"},
                       [{"name": "联合申请表", "filename": "a.pdf", "content": b"x"}])["case"]
    demo.accept(case, user="wang")
    reviews = {t["candidate_groups"][0]: t for t in demo.tasks(instance=demo.case(case)["instance"])}
    assert set(reviews) == {"SJ", "XF", "HB"}
    demo.decide(reviews["XF"]["id"], False, "消防通道不畅", user="f")
    demo.decide(reviews["SJ"]["id"], True, "同意", user="m")
    demo.decide(reviews["HB"]["id"], True, "同意", user="e")
    (delivery,) = demo.tasks(instance=demo.case(case)["instance"])
    demo.complete(delivery["id"], {}, user="wang")
    shown = demo.case(case)
    assert (shown["status"], shown["outcome"]) == ("concluded", "approved")
    assert len(shown["opinions"]) == 4


def test_false_commitment_revokes_and_bars_the_next_commitment(demo):
    """告知承诺: a false commitment revokes the decision, writes a credit record, and closes the route."""
    applicant = {"name": "李四", "user": "zhang", "id_no": "330100199001010011"}
    commitment = [{"name": "告知承诺书", "filename": "c.pdf", "content": b"c"}]
    case = demo.submit("330100-XK-004", applicant, commitment, user="zhang")["case"]
    instance = demo.case(case)["instance"]
    (sign,) = demo.tasks(instance=instance)
    demo.complete(sign["id"], {"committed": True}, user="zhang")
    (decide,) = demo.tasks(instance=instance)
    demo.decide(decide["id"], True, "当场准予", user="wang")
    (verify,) = demo.tasks(instance=instance)
    assert demo.case(case)["status"] == "approved"
    # 核查 is due 30 working days after the decision (yimen.limitDays="${verification_days}").
    deadline = demo.working_calendar().deadline(datetime.fromisoformat(CASE_TIME), 30)
    assert verify["due"] == deadline.isoformat()
    assert demo.case(case)["clock"]["steps"][-1]["element_id"] == "verification"
    demo.verify_commitment(verify["id"], False, "现场与承诺不符", user="sun")
    assert (demo.case(case)["status"], demo.case(case)["outcome"]) == ("concluded", "revoked")
    with pytest.raises(InvalidState):
        demo.submit("330100-XK-004", applicant, commitment, user="zhang")


def test_extension_needs_the_head_and_is_told_to_the_applicant(demo):
    """延期: once per case; the head's approval adds 10 working days and a notice with the reason."""
    case = demo.submit("330100-XK-001", {"name": "张三", "user": "zhang"},
                       files(*[m for m in (FORM_D, LICENCE_D, RULES_D)]), user="zhang")["case"]
    with pytest.raises(InvalidState):
        demo.request_extension(case, "too early")
    demo.accept(case, user="wang")
    result = demo.request_extension(case, "需要组织专家评审", user="li")
    assert result["days"] == 10
    with pytest.raises(InvalidState):
        demo.request_extension(case, "again", user="li")
    (approval,) = demo.tasks(instance=result["instance"])
    demo.complete(approval["id"], {"approved": True}, user="head")
    notice = [n for n in demo.case(case)["notices"] if n["kind"] == "extension"][0]
    assert notice["content"]["reason"] == "需要组织专家评审" and notice["content"]["working_days"] == 10
    with pytest.raises(InvalidState):
        demo.request_extension(case, "a second time", user="li")


FORM_D, LICENCE_D, RULES_D = ("食品经营许可申请书", "营业执照",
                              "食品安全管理制度")
