"""Issue 15: decisions, licences, delivery, the application checks and 告知承诺 — through the pages, the API and
Chromium (desktop and a 390 px phone), on SQLite and PostgreSQL.

The applicant applies (every problem of a wrong application listed at once), the case is approved, she downloads
the decision's PDF, the window issues the licence (制证), anyone verifies it by its QR page, the result is posted
and received; 补正 corrects the ID number and her note reaches the window; she signs a commitment online and the
window records a walk-in applicant's paper one; the licence's e-mail arrives on an SMTP server on loopback.
"""
from __future__ import annotations

import base64
import io
import os
import re
import socket
import subprocess

import pytest

from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)
from tests.web.test_pages import csrf, post, signed_in

STANDARD, COMMIT = "330100-XK-001", "330100-XK-004"
ID_NO = "33010019900101001X"
browser_test = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


def _files(app, code, skip_tolerable=False):
    materials = app.extensions["yimen"].item(code)["materials"]
    return {f"material_{i}": (io.BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i, m in enumerate(materials)
            if not (skip_tolerable and m.get("tolerable"))}


def _apply(app, client, code=STANDARD, **fields):
    page = client.get(f"/apply/{code}").data
    data = {"name": "张三", "id_no": ID_NO, "phone": "13800138000", "csrf_token": csrf(page), **_files(app, code),
            **fields}
    response = client.post(f"/apply/{code}", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:3000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _approve(app, case_id, approved=True):
    y = app.extensions["yimen"]
    y.accept(case_id, user="wang")
    for user in ("li", "zhao"):
        (task,) = y.tasks(instance=y.case(case_id)["instance"])
        y.decide(task["id"], approved, "符合条件，同意" if approved else "经营场所不符合卫生要求", user=user)


def _api(app, user):
    client = app.test_client()
    token = app.extensions["yimen"].create_token(user, "test", user=user)["token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                                  text=True).stdout.split())


def test_a_wrong_application_lists_every_problem_at_once_in_chinese(app):
    """A wrong ID number, a wrong phone and the missing required materials: one answer naming all, nothing kept."""
    applicant = signed_in(app, "zhang")
    page = applicant.get(f"/apply/{STANDARD}").data
    response = applicant.post(f"/apply/{STANDARD}", data={
        "name": "张三", "id_no": "330100199001010011", "phone": "12345", "csrf_token": csrf(page)},
        content_type="multipart/form-data")
    assert response.status_code == 400
    text = response.data.decode()
    assert "申请未提交" in text and "身份证号码有误：最后一位校验码不符" in text and "联系电话无效" in text
    required = [m["name"] for m in app.extensions["yimen"].item(STANDARD)["materials"]
                if m.get("required") and not m.get("tolerable")]
    assert all(f"缺少必需材料“{name}”" in text for name in required)
    assert "id_card_check_digit" not in text and "invalid_input" not in text
    assert app.extensions["yimen"].case_list({"id": "zhang", "roles": ["applicant"]})["total"] == 0


def test_decision_pdf_licence_and_public_verification(app, tmp_path):
    """准予: her decision as a print page and a PDF; 制证 at the window; the public verification page and QR."""
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    _approve(app, case_id)
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert "准予行政许可决定书" in page and 'data-stage="licence" data-state="current"' in page
    printed = applicant.get(f"/cases/{case_id}/decision").data.decode()
    assert "准予行政许可决定书" in printed and "documents.css" in printed
    pdf = applicant.get(f"/cases/{case_id}/decision.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert _pdf_text(pdf.data, tmp_path).startswith("准予行政许可决定书")
    assert signed_in(app, "xu").get(f"/cases/{case_id}/decision.pdf").status_code == 404  # not her department
    window = signed_in(app, "wang")
    assert post(applicant, f"/cases/{case_id}/licence/issue", {}, f"/cases/{case_id}").status_code == 403
    post(window, f"/cases/{case_id}/licence/issue", {"scope": "预包装食品销售"}, f"/cases/{case_id}")
    licence = app.extensions["yimen"].case(case_id)["licence"]
    assert licence["status"] == "issued"
    anonymous = app.test_client()
    shown = anonymous.get(f"/verify/{licence['number']}").data.decode()
    assert "核验通过" in shown and "预包装食品销售" in shown and ID_NO not in shown
    qr = anonymous.get(f"/verify/{licence['number']}/qr.png")
    assert qr.status_code == 200 and qr.data.startswith(b"\x89PNG")
    assert anonymous.get(f"/verify?number={licence['number']}").status_code == 302
    assert anonymous.get("/verify/SJ-XK-2099-999999").status_code == 404
    assert "licence-link" in applicant.get(f"/cases/{case_id}").data.decode()
    licence_pdf = applicant.get(f"/cases/{case_id}/licence.pdf")
    assert "行政许可证件" in _pdf_text(licence_pdf.data, tmp_path)


def test_the_api_serves_the_decision_verifies_and_delivers(app, tmp_path):
    """The same verbs for other systems: the decision as JSON and PDF, verification, the delivery's steps."""
    applicant = _api(app, "zhang")
    answer = applicant.post("/api/cases", json={"item": STANDARD, "check": True,
                                                "applicant": {"name": "张三", "id_no": "123"}})
    assert answer.status_code == 400 and answer.json["error"]["details"]["refusal"] == "application_invalid"
    materials = [{"name": m["name"], "filename": "a.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}
                 for m in app.extensions["yimen"].item(STANDARD)["materials"]]
    case_id = applicant.post("/api/cases", json={"item": STANDARD, "check": True, "materials": materials,
                                                 "applicant": {"name": "张三", "id_no": ID_NO}}).json["case"]
    _approve(app, case_id, approved=False)
    decision = applicant.get(f"/api/cases/{case_id}/decision").json
    assert decision["title"] == "不予行政许可决定书" and "行政复议" in decision["appeal_rights"]
    pdf = applicant.get(f"/api/cases/{case_id}/decision.pdf")
    assert pdf.mimetype == "application/pdf" and "经营场所不符合卫生要求" in _pdf_text(pdf.data, tmp_path)
    assert applicant.post(f"/api/cases/{case_id}/issue-licence", json={}).status_code == 403
    window = _api(app, "wang")
    assert window.post(f"/api/cases/{case_id}/issue-licence", json={}).json["error"]["code"] == "invalid_state"
    chosen = applicant.post(f"/api/cases/{case_id}/delivery", json={"method": "post", "address": "杭州市文三路 1 号",
                                                                    "phone": "13800138000"})
    assert chosen.status_code == 200 and chosen.json["status"] == "chosen"
    assert window.post(f"/api/cases/{case_id}/dispatch", json={}).json["error"]["details"]["field"] == "tracking_no"
    assert window.post(f"/api/cases/{case_id}/dispatch", json={"tracking_no": "SF100200300"}).json["status"] == \
        "dispatched"
    assert window.post(f"/api/cases/{case_id}/delivered", json={}).json["status"] == "delivered"
    assert applicant.post(f"/api/cases/{case_id}/received", json={}).json["status"] == "received"
    shown = applicant.get(f"/api/cases/{case_id}").json
    assert [s["state"] for s in shown["progress"] if s["stage"] in ("licence", "delivered")] == ["skipped", "done"]
    assert applicant.get("/api/licences/SJ-XK-2099-999999").status_code == 404


def test_correction_changes_the_id_number_and_the_note_reaches_the_window(app):
    """补正 on the page: the ID number is corrected (a wrong one refused, translated); the window reads her note."""
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    y.request_correction(case_id, [{"problem": "身份证号码与营业执照不一致"}], user="wang")
    response = post(applicant, f"/cases/{case_id}/resubmit", {"applicant_id_no": "110105194912310021",
                                                              "note": "已更正"}, f"/cases/{case_id}")
    assert "身份证号码有误" in applicant.get(response.headers["Location"]).data.decode()
    assert y.case(case_id)["status"] == "correction_requested"
    post(applicant, f"/cases/{case_id}/resubmit", {"applicant_id_no": "11010519491231002X",
                                                   "note": "身份证号码已更正为营业执照上的号码"}, f"/cases/{case_id}")
    shown = y.case(case_id)
    assert shown["applicant"]["id_no"] == "11010519491231002X" and shown["status"] == "submitted"
    (task,) = y.tasks(instance=shown["instance"])
    page = signed_in(app, "wang").get(f"/tasks/{task['id']}").data.decode()
    assert "申请人补正说明" in page and "身份证号码已更正为营业执照上的号码" in page


def test_commitment_page_for_the_applicant_and_paper_for_the_window(app):
    """告知承诺: she opens the commitment page (no 403) and signs; a walk-in's paper commitment comes by the API."""
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant, COMMIT, name="李四")
    assert "commitment-link" in applicant.get(f"/cases/{case_id}").data.decode()
    page = applicant.get(f"/cases/{case_id}/commitment")
    assert page.status_code == 200 and "虚假承诺" in page.data.decode()
    post(applicant, f"/cases/{case_id}/commitment", {"agree": "yes", "signer_name": "李四"},
         f"/cases/{case_id}/commitment")
    assert y.case(case_id)["commitment"]["signed"]["mode"] == "online"
    walk_in = y.submit(COMMIT, {"name": "王五", "id_no": ID_NO}, [
        {"name": m["name"], "filename": "c.pdf", "content": b"c"} for m in y.item(COMMIT)["materials"]],
        user="wang")["case"]
    window = _api(app, "wang")
    refused = window.post(f"/api/cases/{walk_in}/paper-commitment", json={"signer_name": "王五", "scan_base64": ""})
    assert refused.status_code == 400 and refused.json["error"]["details"]["field"] == "scan"
    done = window.post(f"/api/cases/{walk_in}/paper-commitment", json={
        "signer_name": "王五", "filename": "scan.pdf", "scan_base64": base64.b64encode(b"%PDF-1.4 signed").decode()})
    assert done.status_code == 200 and y.case(walk_in)["commitment"]["signed"]["scan"] == "scan.pdf"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_licence_notice_arrives_by_email(app, monkeypatch):
    """The licence notice reaches her mailbox: the outbox sends it to an SMTP server on loopback."""
    from aiosmtpd.controller import Controller

    from tests.engine.test_outbox import Mailbox

    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    _approve(app, case_id)
    handler, port = Mailbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("YIMEN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("YIMEN_SMTP_PORT", str(port))
        y.dispatch_outbox()
        handler.raw.clear()
        number = y.issue_licence(case_id, user="wang")["number"]
        y.dispatch_outbox()
    finally:
        controller.stop()
    mails = [m for m in handler.parsed() if "zhang@" in str(m["To"])]
    assert mails and "证照已制发" in str(mails[0]["Subject"]) and number in mails[0].get_content()


# --- in Chromium -------------------------------------------------------------------------------

@browser_test
def test_browser_applicant_downloads_the_decision_and_verifies_the_licence_by_its_qr_page(open_as, app, tmp_path):
    y = app.extensions["yimen"]
    applicant = open_as("zhang")
    applicant.goto(f"/apply/{STANDARD}")
    applicant.fill("input[name=name]", "张三")
    applicant.fill("input[name=id_no]", ID_NO)
    applicant.fill("input[name=phone]", "13800138000")
    for field in applicant.locator("#application input[type=file]").all():
        field.set_input_files(files=[{"name": "m.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    applicant.click("#application button")
    applicant.wait_for_url("**/cases/*")
    case_id = int(applicant.url.rsplit("/", 1)[1])
    _approve(app, case_id)
    window = open_as("wang")
    window.goto(f"/cases/{case_id}")
    window.fill("#issue-licence input[name=scope]", "预包装食品销售")
    window.click("#issue-licence button")
    window.wait_for_selector(".licence-doc[data-status=issued]")
    applicant.goto(f"/cases/{case_id}")
    with applicant.expect_download() as download:
        applicant.click("#decision-pdf")
    saved = tmp_path / "decision.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-") and _pdf_text(saved.read_bytes(), tmp_path).startswith(
        "准予行政许可决定书")
    applicant.click("#licence-link")
    applicant.wait_for_load_state("load")  # the load event waits for the page's images (the strict CSP forbids polling)
    assert applicant.evaluate("document.querySelector('.qr img').naturalWidth") > 0  # the QR image was served
    target = re.search(r"https?://\S+/verify/\S+", applicant.inner_text(".qr")).group(0)
    visitor = open_as("li", phone=True)  # anyone with the QR code: the page needs no role
    visitor.goto(target)
    assert "核验通过" in visitor.inner_text("main") and "预包装食品销售" in visitor.inner_text("main")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 392


@browser_test
def test_browser_applicant_signs_the_commitment_on_a_phone(open_as, app):
    y = app.extensions["yimen"]
    applicant_page = signed_in(app, "zhang")
    case_id = _apply(app, applicant_page, COMMIT, name="李四")
    applicant = open_as("zhang", phone=True)
    applicant.goto(f"/cases/{case_id}")
    applicant.click("#commitment-link")
    assert "虚假承诺" in applicant.inner_text("#commitment-text")
    applicant.check("#sign-commitment input[name=agree]")
    applicant.fill("#sign-commitment input[name=signer_name]", "李四")
    applicant.click("#sign-commitment button")
    applicant.wait_for_url(f"**/cases/{case_id}")
    assert y.case(case_id)["commitment"]["signed"]["mode"] == "online"
    assert applicant.evaluate("document.documentElement.scrollWidth") <= 392


@browser_test
def test_browser_window_records_a_paper_commitment_with_its_scan(open_as, app):
    y = app.extensions["yimen"]
    walk_in = y.submit(COMMIT, {"name": "王五", "id_no": ID_NO}, [
        {"name": m["name"], "filename": "c.pdf", "content": b"c"} for m in y.item(COMMIT)["materials"]],
        user="wang")["case"]
    window = open_as("wang")
    window.goto(f"/cases/{walk_in}")
    window.click("#commitment-link")
    window.set_input_files("#paper-commitment input[name=scan]", files=[
        {"name": "signed.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 signed"}])
    window.click("#paper-commitment button")
    window.wait_for_url(f"**/cases/{walk_in}")
    signed = y.case(walk_in)["commitment"]["signed"]
    assert (signed["mode"], signed["signer_name"], signed["scan"]) == ("paper", "王五", "signed.pdf")
    (task,) = y.tasks(instance=y.case(walk_in)["instance"])
    assert task["element_id"] == "decide_on_the_spot"


def test_the_timeline_shows_the_current_step_under_the_stage_the_case_is_at(app):
    """GET /api/cases/<id> at each point of the food licence (食品经营许可): the stage being worked on is current and
    holds the open step; the stages before are done, those after pending."""
    y = app.extensions["yimen"]
    applicant = _api(app, "zhang")
    case_id = _apply(app, signed_in(app, "zhang"))

    def timeline():
        progress = applicant.get(f"/api/cases/{case_id}").json["progress"]
        return ({s["stage"]: s["state"] for s in progress},
                {s["stage"]: [step["name"] for step in s["steps"]] for s in progress if s.get("steps")})

    def states(current):
        order = ["submitted", "accepted", "review", "decision", "licence", "delivered"]
        at = order.index(current) if current else len(order)
        return {s: "done" if i < at else "current" if i == at else "pending" for i, s in enumerate(order)}

    assert timeline()[0] == states("accepted")
    y.accept(case_id, user="wang")
    for user in ("li", "zhao"):
        (task,) = y.tasks(instance=y.case(case_id)["instance"])
        assert timeline() == (states("review"), {"review": [task["name"]]}), user
        y.decide(task["id"], True, "符合条件，同意", user=user)
    assert timeline() == (states("licence"), {})
    y.issue_licence(case_id, user="wang")
    assert timeline() == (states("delivered"), {})
    y.dispatch_result(case_id, user="wang")
    y.confirm_delivered(case_id, user="wang")
    assert timeline() == (states(None), {})
    page = signed_in(app, "zhang").get(f"/cases/{case_id}").data.decode()
    labels = re.findall(r'data-stage="(\w+)"[^>]*>\s*<strong>([^<]+)</strong>', page)
    assert dict(labels) == {"submitted": "提交申请", "accepted": "已受理", "review": "审查", "decision": "作出决定",
                            "licence": "证照", "delivered": "送达结果"}  # a stage done is not "审查中"
