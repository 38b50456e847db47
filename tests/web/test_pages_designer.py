"""Designer pages and the staff inbox/task page additions, through Flask's test client."""
from __future__ import annotations

import html
import io
import re

from tests.conftest import DATA
from tests.web.test_pages import _apply, _task, csrf, post, signed_in


def _upload(client, *paths, token_page="/designer"):
    token = csrf(client.get(token_page).data)
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in paths]
    return client.post("/designer/deploy", data={"csrf_token": token, "files": files},
                       content_type="multipart/form-data")


def test_a_designer_deploys_a_diagram_and_sees_its_version(app):
    designer = signed_in(app, "chen")
    response = _upload(designer, DATA / "bpmn_prep" / "approval_camunda.bpmn")
    assert response.status_code == 302, response.data
    page = designer.get(response.headers["Location"]).data
    assert b"approval_camunda" in page and b'id="diagram"' in page
    versions = {p["key"]: p["versions"] for p in app.extensions["yimen"].process_versions()}
    (version,) = versions["approval_camunda"]
    xml = designer.get(f"/diagrams/{version['id']}.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"BPMNShape" in xml.data
    assert b"approval_camunda" in designer.get("/designer").data


def test_a_broken_upload_lists_every_problem_and_stores_nothing(app):
    y = app.extensions["yimen"]
    before = y.process_versions()
    designer = signed_in(app, "chen")
    response = _upload(designer, DATA / "bpmn_prep" / "errors.bpmn", DATA / "bpmn_prep" / "approval_camunda.bpmn")
    assert response.status_code == 400
    page = response.data.decode()
    assert 'id="problems"' in page and "errors.bpmn" in page and "<code>review</code>" in page
    assert y.process_versions() == before  # the good file of the same upload was not stored either
    hostile = _upload(designer, DATA / "bpmn_prep" / "xxe.bpmn")
    assert hostile.status_code == 400 and "xxe.bpmn" in hostile.data.decode()
    assert y.process_versions() == before


def test_designer_pages_check_the_role_and_csrf(app):
    assert signed_in(app, "wang").get("/designer").status_code == 403
    assert signed_in(app, "zhang").get("/diagrams/1.bpmn").status_code == 403  # applicants do not see diagrams
    designer = signed_in(app, "chen")
    refused = designer.post("/designer/deploy", data={"files": [(io.BytesIO(b"<x/>"), "x.bpmn")]},
                            content_type="multipart/form-data")
    assert refused.status_code == 400  # no CSRF token
    assert designer.get("/designer/versions/999999").status_code == 404
    assert designer.get("/diagrams/999999.bpmn").status_code == 404


def test_binding_an_item_to_a_version(app):
    y = app.extensions["yimen"]
    designer = signed_in(app, "chen")
    item = y.items()[0]
    key = item["process_key"]
    version = y.process_versions()
    current = next(p for p in version if p["key"] == key)["versions"][0]["version"]
    post(designer, f"/designer/items/{item['code']}/bind", {"process_key": key, "process_version": str(current)},
         "/designer")
    assert y.item(item["code"])["process_version"] == current
    bad = post(designer, f"/designer/items/{item['code']}/bind", {"process_key": "no-such-process"}, "/designer")
    assert b'class="flash error"' in designer.get(bad.headers["Location"]).data
    assert y.item(item["code"])["process_key"] == key  # unchanged
    post(designer, f"/designer/items/{item['code']}/bind", {"process_key": key, "process_version": "x"}, "/designer")
    assert y.item(item["code"])["process_version"] == current
    window = signed_in(app, "wang")
    assert post(window, f"/designer/items/{item['code']}/bind", {"process_key": key}, "/inbox").status_code == 403


def test_the_inbox_filters_and_counts(app):
    case_id = _apply(app, signed_in(app, "zhang"))
    window = signed_in(app, "wang")
    task = _task(app, case_id)
    assert task.encode() in window.get("/inbox?scope=group").data
    assert task.encode() not in window.get("/inbox?scope=mine").data
    post(window, f"/tasks/{task}/claim", {"next": "inbox"}, "/inbox")
    assert app.extensions["yimen"].tasks(instance=app.extensions["yimen"].case(case_id)["instance"])[0][
        "assignee"] == "wang"
    assert task.encode() in window.get("/inbox?scope=mine").data
    assert task.encode() not in window.get("/inbox?status=concluded").data
    assert task.encode() in window.get("/inbox?status=submitted&card=normal").data
    assert task.encode() not in window.get("/inbox?card=red").data


def test_the_task_page_shows_the_diagram_with_the_active_step(app):
    case_id = _apply(app, signed_in(app, "zhang"))
    task = _task(app, case_id)
    y = app.extensions["yimen"]
    marks = y.instance_marks(y.case(case_id)["instance"])
    element = y.tasks(instance=y.case(case_id)["instance"])[0]["element_id"]
    assert marks["active"] == [element] and element not in marks["completed"]
    page = signed_in(app, "wang").get(f"/tasks/{task}").data.decode()
    assert f'/diagrams/{marks["definition"]}.bpmn' in page and element in page


def test_more_verbs_from_the_task_page(app):
    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    review = _task(app, case_id)
    reviewer = signed_in(app, "li")
    refused = post(reviewer, f"/tasks/{review}/add-signer", {"signer": "zhao"}, f"/tasks/{review}")
    assert b'class="flash error"' in reviewer.get(refused.headers["Location"]).data or \
        b'class="flash error"' in reviewer.get(refused.headers["Location"]).data
    post(reviewer, f"/tasks/{review}/urge", {"message": "请尽快"}, f"/tasks/{review}")
    post(reviewer, f"/tasks/{review}/transfer", {"to": "zhao", "reason": "休假"}, f"/tasks/{review}")
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    assert task["assignee"] == "zhao"


def test_the_language_switch_goes_back_only_to_this_site(app):
    client = signed_in(app, "wang")
    back = client.get("/lang/en", headers={"Referer": "http://localhost/inbox?scope=mine"})
    assert back.headers["Location"] == "/inbox?scope=mine"
    away = client.get("/lang/zh", headers={"Referer": "https://evil.example/phish"})
    assert away.headers["Location"] == "/"


def test_the_chinese_designer_pages_name_the_diagram_and_its_version_not_its_key(app, tmp_path):
    """A new version of 标准审批 and a diagram without a name: the pages (and the message after deploying) say
    the diagram's name and 第 N 版; the process key shows only in its 流程标识 field (<code class="key">)."""
    from tests.web.test_chinese_pages import latin_words

    designer = signed_in(app, "chen")
    response = _upload(designer, DATA.parent.parent / "processes" / "standard_approval.bpmn")
    assert response.status_code == 302, response.data
    page = designer.get(response.headers["Location"]).data.decode()
    assert latin_words(page) == [] and "已部署：标准审批（第 2 版）" in page
    assert '流程标识 <code class="key">standard_approval</code>' in page
    source = (DATA.parent.parent / "processes" / "standard_approval.bpmn").read_text(encoding="utf-8")
    untitled = tmp_path / "untitled.bpmn"
    untitled.write_text(source.replace(' name="标准审批"', "").replace("standard_approval", "untitled_check"),
                        encoding="utf-8")
    unnamed = _upload(designer, untitled)
    assert unnamed.status_code == 302, unnamed.data
    page = designer.get(unnamed.headers["Location"]).data.decode()
    assert latin_words(page) == [] and "未命名流程" in page
    listing = designer.get("/designer").data.decode()
    assert latin_words(listing) == [] and listing.count("流程标识") == len(app.extensions["yimen"].process_versions())


BPMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
             'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">')
SCRIPT = BPMN_HEAD + """<bpmn:process id="scripted" isExecutable="true"><bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="compute" scriptFormat="python"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
  <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end"/></bpmn:process></bpmn:definitions>"""


def _broken_uploads() -> dict[str, tuple[str, str, str]]:
    """File -> (content, a part of its problem's Chinese sentence, of its English one)."""
    from tests.engine.test_approval_verbs import COUNTERSIGN

    fee = (DATA / "bpmn_prep" / "decision.dmn").read_text(encoding="utf-8")
    return {
        "broken.bpmn": (BPMN_HEAD + "<bpmn:process id='p'>", "不是格式正确的", "not well-formed XML"),
        "script.bpmn": (SCRIPT, "脚本任务须经管理员为本次部署允许后才能部署", "script tasks are refused unless"),
        "mode.bpmn": (COUNTERSIGN.format(mode="most", sequential="false"), "不在可选值",
                      "yimen.approvalMode 'most' is not one of"),
        "fee.dmn": (fee.replace('hitPolicy="FIRST"', 'hitPolicy="SOMETIMES"'), "未知的命中策略",
                    "unknown hit policy 'SOMETIMES'"),
    }


def _problem_cells(page: str) -> list[str]:
    return re.findall(r'<td class="reason">(.*?)</td>', page, flags=re.S)


def test_deployment_problems_and_warnings_in_the_page_language(app, tmp_path):
    """Issue 15: each problem's sentence and each warning is Chinese on the Chinese page (ids, names and
    expressions from the diagram in <code>), English on the English one."""
    from tests.web.test_chinese_pages import latin_words

    broken = _broken_uploads()
    for name, (content, _, _) in broken.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    designer = signed_in(app, "chen")
    for language, column in (("zh", 1), ("en", 2)):
        if language == "en":
            designer.get("/lang/en")
        for name, sentences in broken.items():
            response = _upload(designer, tmp_path / name)
            assert response.status_code == 400, (name, response.data)
            cells = _problem_cells(response.data.decode())
            assert any(sentences[column] in html.unescape(re.sub(r"</?code>", "", cell)) for cell in cells), (name, cells)
            if language == "zh":
                assert all(latin_words(cell) == [] for cell in cells), (name, cells)
        deployed = _upload(designer, DATA / "bpmn_prep" / "not_executable.bpmn")
        assert deployed.status_code == 302, deployed.data
        page = designer.get(deployed.headers["Location"]).data.decode()
        (warning,) = re.findall(r'<p class="flash warning">(.*?)</p>', page, flags=re.S)
        assert "<code>office_process</code>" in warning
        if language == "zh":
            assert "被标为不可执行；一门仍会运行它" in warning and latin_words(warning) == []
        else:
            assert "is marked not executable; Yimen runs it anyway" in warning and "：" not in warning
