"""The applicant's pages: notices, corrections, 容缺 supplements, downloads, ratings and applying as an agent."""
from __future__ import annotations

import io
import re
from pathlib import Path

from engine.models import CaseMaterial
from tests.web.test_pages import _apply, csrf, signed_in

ITEM = "330100-XK-001"


def _upload(client, url, files, page, **fields):
    data = {"csrf_token": csrf(client.get(page).data), **fields}
    data.update({name: (io.BytesIO(content), filename) for name, (filename, content) in files.items()})
    return client.post(url, data=data, content_type="multipart/form-data")


def test_correction_notice_and_resubmission(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    licence = next(m for m in y.case(case_id)["materials"] if "营业执照" in m["name"])
    y.request_correction(case_id, [{"problem": "营业执照已过期", "material": licence["name"]},
                                   {"problem": "申请书缺少签名"}], user="wang")
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert 'data-notice="correction"' in page and "营业执照已过期" in page and "申请书缺少签名" in page
    assert 'id="resubmit"' in page
    assert 'id="resubmit"' not in signed_in(app, "wang").get(f"/cases/{case_id}").data.decode()  # staff do not
    empty = _upload(applicant, f"/cases/{case_id}/resubmit", {}, f"/cases/{case_id}")
    assert 'class="flash error"' in applicant.get(empty.headers["Location"]).data.decode()
    assert y.case(case_id)["status"] == "correction_requested"
    done = _upload(applicant, f"/cases/{case_id}/resubmit", {f"material_{licence['id']}": ("new.pdf", b"%PDF-new")},
                   f"/cases/{case_id}", note="换了新执照")
    assert done.status_code == 302
    case = y.case(case_id)
    assert case["status"] == "submitted"  # back at the window
    assert [m["filename"] for m in case["materials"] if m["id"] == licence["id"]] == ["new.pdf"]
    (task,) = y.tasks(instance=case["instance"])
    assert task["element_id"] == "accept"


def test_tolerated_materials_are_handed_in_later(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(2)}  # the third may follow
    page = applicant.get(f"/apply/{ITEM}").data
    response = applicant.post(f"/apply/{ITEM}", data={"name": "张三", "id_no": "33010019900101001X", "csrf_token": csrf(page), **files},
                              content_type="multipart/form-data")
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    y.accept_with_missing(case_id, 5, "容缺受理", user="wang")
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert 'data-notice="tolerance"' in page and 'id="supplement"' in page
    missing = next(m for m in y.case(case_id)["materials"] if m["status"] == "missing")
    nothing = _upload(applicant, f"/cases/{case_id}/supplement", {}, f"/cases/{case_id}")
    assert nothing.status_code == 302 and y.case(case_id)["materials"][-1]["status"] == "missing"
    _upload(applicant, f"/cases/{case_id}/supplement", {f"material_{missing['id']}": ("rules.pdf", b"%PDF-rules")},
            f"/cases/{case_id}")
    assert all(m["status"] == "received" for m in y.case(case_id)["materials"])


def test_downloads_check_visibility_and_the_checksum(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    material = y.case(case_id)["materials"][0]
    url = f"/cases/{case_id}/materials/{material['id']}"
    got = applicant.get(url)
    assert got.status_code == 200 and got.data == b"%PDF-1.4" and "attachment" in got.headers["Content-Disposition"]
    assert signed_in(app, "wang").get(url).status_code == 200
    assert signed_in(app, "zhou").get(url).status_code == 404  # another department's case
    other = _apply(app, applicant)
    assert applicant.get(f"/cases/{other}/materials/{material['id']}").status_code == 404  # not that case's file
    with y.session() as s:
        path = Path(s.get(CaseMaterial, material["id"]).stored_path)
    path.write_bytes(b"tampered")
    assert applicant.get(url).status_code == 409


def test_refusal_notice_and_rating(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert 'id="rate"' not in page  # not ended yet
    y.not_accept(case_id, "不属于本机关职权范围", "区市场监管局", user="wang")
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert 'data-notice="not_accepted"' in page and "区市场监管局" in page and "行政复议" in page
    assert 'id="rate"' in page
    token = csrf(applicant.get(f"/cases/{case_id}").data)
    bad = applicant.post(f"/cases/{case_id}/rate", data={"score": "1", "csrf_token": token})
    assert 'class="flash error"' in applicant.get(bad.headers["Location"]).data.decode()  # a bad score needs a comment
    assert y.case(case_id)["rating"] is None
    applicant.post(f"/cases/{case_id}/rate", data={"score": "4", "comment": "说明清楚", "csrf_token": token})
    assert y.case(case_id)["rating"]["score"] == 4
    again = applicant.post(f"/cases/{case_id}/rate", data={"score": "5", "csrf_token": token})
    assert 'class="flash error"' in applicant.get(again.headers["Location"]).data.decode()
    assert "★★★★☆" in applicant.get(f"/cases/{case_id}").data.decode()


def test_applying_as_an_agent(app):
    y = app.extensions["yimen"]
    agent = signed_in(app, "zhang")
    files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(3)}
    page = agent.get(f"/apply/{ITEM}").data
    refused = agent.post(f"/apply/{ITEM}", data={"name": "某某餐饮有限公司", "kind": "organisation", "as_agent": "yes",
                                                 "id_no": "91350100M000100Y43", "csrf_token": csrf(page), **files},
                         content_type="multipart/form-data")
    assert refused.status_code == 400  # no authorisation (委托书) yet: nothing is made, and she is told why
    assert "没有该申请人就此事项的有效授权委托" in refused.data.decode()
    assert y.case_list({"id": "sun", "roles": ["supervisor"]}, limit=1)["total"] == 0
    # the company's signed paper authorisation, recorded by the window with its scan
    y.authorise_agent("zhang", {"name": "某某餐饮有限公司", "kind": "organisation", "id_no": "91350100M000100Y43"},
                      "2026-12-31", scan={"filename": "委托书.pdf", "content": b"%PDF"}, user="wang")
    files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(3)}
    assert "service guide" in page.decode().lower() or "办事指南" in page.decode()
    response = agent.post(f"/apply/{ITEM}", data={"name": "某某餐饮有限公司", "kind": "organisation", "as_agent": "yes",
                                                  "id_no": "91350100M000100Y43",
                                                  "csrf_token": csrf(page), **files},
                          content_type="multipart/form-data")
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case = y.case(case_id)
    assert case["applicant"]["name"] == "某某餐饮有限公司" and case["applicant"]["user"] is None
    assert case["agent"]["user"] == "zhang"
    assert re.search(r"某某餐饮有限公司", agent.get(f"/cases/{case_id}").data.decode())
    y.request_correction(case_id, [{"problem": "补充授权委托书"}], user="wang")
    (task,) = y.tasks(instance=case["instance"])
    assert task["assignee"] == "zhang"  # the agent follows the case


# --- each page: the normal path, someone else, no CSRF token, bad input ----------------------------------------------

def _another_applicant(app):
    from engine import demo

    app.extensions["yimen"].add_user("liu", display_name="刘四 Applicant", roles=["applicant"],
                                     password=demo.DEMO_PASSWORD)
    return signed_in(app, "liu")


def test_the_acceptance_notice_is_readable_and_my_cases_says_what_to_do(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    y.accept(case_id, user="wang")
    (notice,) = y.case(case_id)["notices"]
    page = applicant.get(f"/cases/{case_id}").data.decode()
    block = page.split('data-notice="acceptance"', 1)[1].split("</div>", 1)[0]
    assert "受理通知书" in block and notice["number"] in block
    assert notice["content"]["accepted_on"] in block and notice["content"]["office"] in block
    assert "{" not in block  # no raw JSON
    assert 'data-to-do' not in applicant.get("/my").data.decode()  # nothing to do while it is reviewed
    other = _apply(app, applicant)
    y.request_correction(other, [{"problem": "申请书缺少签名"}], user="wang")
    assert f'/cases/{other}#resubmit" data-to-do="correct"' in applicant.get("/my").data.decode()
    y.not_accept(_apply(app, applicant), "不属于本机关职权范围", user="wang")
    assert 'data-to-do="rate"' in applicant.get("/my").data.decode()
    assert 'data-to-do' not in signed_in(app, "wang").get("/my").data.decode()  # staff have nothing to hand in


def test_resubmission_needs_csrf_and_the_applicant(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    y.request_correction(case_id, [{"problem": "申请书缺少签名"}], user="wang")
    material = y.case(case_id)["materials"][0]
    field = {f"material_{material['id']}": (io.BytesIO(b"%PDF-signed"), "signed.pdf")}
    assert applicant.post(f"/cases/{case_id}/resubmit", data=field,
                          content_type="multipart/form-data").status_code == 400  # no CSRF token
    assert _upload(_another_applicant(app), f"/cases/{case_id}/resubmit", {}, "/my",
                   note="x").status_code == 404  # someone else's case
    window = signed_in(app, "wang")  # staff see the case but do not answer for the applicant
    refused = _upload(window, f"/cases/{case_id}/resubmit", {f"material_{material['id']}": ("w.pdf", b"%PDF-w")},
                      f"/cases/{case_id}")
    assert 'class="flash error"' in window.get(refused.headers["Location"]).data.decode()
    case = y.case(case_id)
    assert case["status"] == "correction_requested" and case["materials"][0]["filename"] == material["filename"]
    _upload(applicant, f"/cases/{case_id}/resubmit", {}, f"/cases/{case_id}", note="已签名")  # a note alone is enough
    assert y.case(case_id)["status"] == "submitted"


def test_supplements_need_csrf_files_and_the_applicant(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    files = {f"material_{i}": (io.BytesIO(b"%PDF"), f"{i}.pdf") for i in range(2)}
    page = applicant.get(f"/apply/{ITEM}").data
    response = applicant.post(f"/apply/{ITEM}", data={"name": "张三", "id_no": "33010019900101001X", "csrf_token": csrf(page), **files},
                              content_type="multipart/form-data")
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    y.accept_with_missing(case_id, 5, user="wang")
    block = applicant.get(f"/cases/{case_id}").data.decode().split('data-notice="tolerance"', 1)[1].split("</div>")[0]
    missing = next(m for m in y.case(case_id)["materials"] if m["status"] == "missing")
    assert missing["name"] in block and "2026-03-09" in block  # 5 working days from Monday 2 March
    assert 'data-to-do="supplement"' in applicant.get("/my").data.decode()
    field = {f"material_{missing['id']}": ("rules.pdf", b"%PDF-rules")}
    assert applicant.post(f"/cases/{case_id}/supplement",
                          data={f"material_{missing['id']}": (io.BytesIO(b"%PDF"), "r.pdf")},
                          content_type="multipart/form-data").status_code == 400  # no CSRF token
    nothing = _upload(applicant, f"/cases/{case_id}/supplement", {}, f"/cases/{case_id}")
    assert "请选择要补交的文件" in applicant.get(nothing.headers["Location"]).data.decode()
    assert _upload(_another_applicant(app), f"/cases/{case_id}/supplement", field, "/my").status_code == 404
    window = signed_in(app, "wang")
    refused = _upload(window, f"/cases/{case_id}/supplement", field, f"/cases/{case_id}")
    assert 'class="flash error"' in window.get(refused.headers["Location"]).data.decode()
    assert [m["status"] for m in y.case(case_id)["materials"] if m["id"] == missing["id"]] == ["missing"]
    _upload(applicant, f"/cases/{case_id}/supplement", field, f"/cases/{case_id}")
    assert [m["filename"] for m in y.case(case_id)["materials"] if m["id"] == missing["id"]] == ["rules.pdf"]
    assert 'id="supplement"' not in applicant.get(f"/cases/{case_id}").data.decode()


def test_ratings_need_csrf_a_whole_score_and_the_applicant(app):
    y = app.extensions["yimen"]
    applicant = signed_in(app, "zhang")
    case_id = _apply(app, applicant)
    token = csrf(applicant.get(f"/cases/{case_id}").data)
    early = applicant.post(f"/cases/{case_id}/rate", data={"score": "5", "csrf_token": token})
    assert 'class="flash error"' in applicant.get(early.headers["Location"]).data.decode()  # not ended yet
    y.not_accept(case_id, "材料不属实", user="wang")
    assert applicant.post(f"/cases/{case_id}/rate", data={"score": "5"}).status_code == 400  # no CSRF token
    for score in ("great", "9", ""):
        bad = applicant.post(f"/cases/{case_id}/rate", data={"score": score, "csrf_token": token})
        assert 'class="flash error"' in applicant.get(bad.headers["Location"]).data.decode()
    other = _another_applicant(app)
    assert other.post(f"/cases/{case_id}/rate", data={"score": "5", "csrf_token": csrf(other.get("/my").data)}
                      ).status_code == 404  # someone else's case
    window = signed_in(app, "wang")
    refused = window.post(f"/cases/{case_id}/rate", data={"score": "1", "comment": "差",
                                                           "csrf_token": csrf(window.get(f"/cases/{case_id}").data)})
    assert 'class="flash error"' in window.get(refused.headers["Location"]).data.decode()
    assert y.case(case_id)["rating"] is None
    applicant.post(f"/cases/{case_id}/rate", data={"score": "2", "comment": "等了很久", "csrf_token": token})
    assert y.case(case_id)["rating"] == {**y.case(case_id)["rating"], "score": 2, "comment": "等了很久", "by": "zhang"}
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert "★★☆☆☆ 等了很久" in page and 'id="rate"' not in page
    assert 'data-to-do="rate"' not in applicant.get("/my").data.decode()
