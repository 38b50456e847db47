"""Administration pages (系统管理), the head's extension approval, the reviewer's withdraw button and the designer's
empty upload, through Flask's test client on SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io
import re

import pytest

from tests.web.test_pages import _apply, csrf, post, signed_in


def flashes(page: bytes) -> str:
    return html.unescape(" ".join(re.findall(r'<p class="flash [a-z]+">(.*?)</p>', page.decode(), flags=re.S)))


def follow(client, response):
    assert response.status_code == 302, response.data
    return client.get(response.headers["Location"]).data


@pytest.fixture
def admin(app):
    return signed_in(app, "admin")


def test_non_administrators_are_refused_every_administration_page(app):
    for user in ("wang", "li", "zhang", "chen"):
        client = signed_in(app, user)
        for url in ("/admin", "/admin/departments", "/admin/users", "/admin/users/li", "/admin/items",
                    "/admin/items/330100-XK-001"):
            assert client.get(url).status_code == 403, (user, url)
    wang = signed_in(app, "wang")
    token = csrf(wang.get("/inbox").data)
    assert wang.post("/admin/departments", data={"id": "QX", "name": "区局", "level": "county",
                                                 "csrf_token": token}).status_code == 403
    assert not any(d["id"] == "QX" for d in app.extensions["yimen"].departments())


def test_admin_navigates_from_the_menu_to_every_section_and_the_calendar(admin):
    home = admin.get("/admin").data.decode()
    assert "系统管理" in home
    for url in ("/admin/departments", "/admin/users", "/admin/items", "/calendar"):
        assert f'href="{url}"' in home
        assert admin.get(url).status_code == 200


def test_admin_creates_and_edits_a_department_with_level_and_parent(app, admin):
    y = app.extensions["yimen"]
    page = follow(admin, post(admin, "/admin/departments", {"mode": "new", "id": "XC", "name": "西城区市场监管局",
                                                             "level": "county", "parent": "SJ"}, "/admin/departments"))
    assert "已保存" in flashes(page)
    created = next(d for d in y.departments() if d["id"] == "XC")
    assert (created["name"], created["level"], created["parent"]) == ("西城区市场监管局", "county", "SJ")
    listed = admin.get("/admin/departments").data.decode()
    assert "西城区市场监管局" in listed and "县级" in listed and "市市场监督管理局" in listed
    post(admin, "/admin/departments", {"mode": "edit", "id": "XC", "name": "西城区市场监督管理局", "level": "county",
                                       "parent": "ZJ"}, "/admin/departments?edit=XC")
    edited = next(d for d in y.departments() if d["id"] == "XC")
    assert (edited["name"], edited["parent"]) == ("西城区市场监督管理局", "ZJ")


@pytest.mark.parametrize("form, told", [
    ({"mode": "new", "id": "", "name": "区局", "level": "county"}, "代码"),
    ({"mode": "new", "id": "X C!", "name": "区局", "level": "county"}, "代码"),
    ({"mode": "new", "id": "SJ", "name": "重名", "level": "city"}, "已有"),
    ({"mode": "new", "id": "QX", "name": "", "level": "county"}, "名称"),
    ({"mode": "new", "id": "QX", "name": "区局", "level": "town"}, "层级"),
    ({"mode": "new", "id": "QX", "name": "区局", "level": "county", "parent": "NOPE"}, "上级部门"),
    ({"mode": "edit", "id": "SJ", "name": "市市场监督管理局", "level": "city", "parent": "SJ"}, "上级部门"),
])
def test_a_bad_department_is_refused_with_the_reason_and_nothing_changes(app, admin, form, told):
    before = app.extensions["yimen"].departments()
    page = follow(admin, post(admin, "/admin/departments", form, "/admin/departments"))
    message = flashes(page)
    assert "未保存" in message and told in message, message
    assert not re.search(r"[A-Za-z]{4,}", message), message  # no engine English in the Chinese page
    assert app.extensions["yimen"].departments() == before


def test_admin_creates_a_user_with_roles_groups_and_a_backup_and_the_backup_takes_the_steps(app, admin):
    y = app.extensions["yimen"]
    page = follow(admin, post(admin, "/admin/users", {
        "mode": "new", "id": "li3", "name": "李三", "department": "SJ", "roles": ["reviewer"],
        "groups": "reviewer，SJ", "password": "first-pass-1", "email": "li3@example.org"}, "/admin/users/new"))
    assert "已保存" in flashes(page)
    made = y.user("li3")
    assert (made["name"], made["roles"], made["groups"], made["department"]) == ("李三", ["reviewer"],
                                                                                 ["SJ", "reviewer"], "SJ")
    assert y.authenticate("li3", "first-pass-1") is not None
    # li's backup is the new colleague, and li goes away: li's steps come to li3
    review_case = _accepted_review(app)
    (step,) = [t for t in y.tasks(instance=y.case(review_case)["instance"])]
    y.claim(step["id"], user="li")
    page = follow(admin, post(admin, "/admin/users/li/backup", {"backup": "li3", "absent": "yes"}, "/admin/users/li"))
    assert "已转给" in flashes(page) or "1" in flashes(page)
    assert (y.user("li")["backup"], y.user("li")["absent"]) == ("li3", True)
    assert y.tasks(instance=y.case(review_case)["instance"])[0]["assignee"] == "li3"
    listed = admin.get("/admin/users").data.decode()
    row = re.search(r'<tr data-user="li">.*?</tr>', listed, flags=re.S).group(0)
    assert "李三" in row and "不在岗" in row
    li3 = app.test_client()
    token = csrf(li3.get("/login").data)
    assert li3.post("/login", data={"user": "li3", "password": "first-pass-1", "csrf_token": token}).status_code == 302
    assert step["id"] in li3.get("/inbox").data.decode()


def _accepted_review(app) -> int:
    y = app.extensions["yimen"]
    zhang = signed_in(app, "zhang")
    case = _apply(app, zhang)
    y.accept(case, "材料齐全", user="wang")
    return case


@pytest.mark.parametrize("form, told", [
    ({"mode": "new", "id": "", "name": "某人", "roles": ["window"], "password": "long-enough-1"}, "登录名"),
    ({"mode": "new", "id": "wang", "name": "重名", "roles": ["window"], "password": "long-enough-1"}, "已被占用"),
    ({"mode": "new", "id": "newbie", "name": "", "roles": ["window"], "password": "long-enough-1"}, "姓名"),
    ({"mode": "new", "id": "newbie", "name": "新人", "roles": [], "password": "long-enough-1"}, "角色"),
    ({"mode": "new", "id": "newbie", "name": "新人", "roles": ["wizard"], "password": "long-enough-1"}, "角色"),
    ({"mode": "new", "id": "newbie", "name": "新人", "roles": ["window"], "password": ""}, "密码"),
    ({"mode": "new", "id": "newbie", "name": "新人", "roles": ["window"], "password": "short"}, "密码"),
    ({"mode": "new", "id": "newbie", "name": "新人", "roles": ["window"], "password": "long-enough-1",
      "email": "no-at-sign"}, "电子邮箱"),
])
def test_a_bad_account_is_refused_with_the_reason_and_nothing_changes(app, admin, form, told):
    before = app.extensions["yimen"].users()
    page = follow(admin, post(admin, "/admin/users", form, "/admin/users/new"))
    message = flashes(page)
    assert "未保存" in message and told in message, message
    assert not re.search(r"[A-Za-z]{4,}", message.replace(form["id"], "")), message
    assert app.extensions["yimen"].users() == before


@pytest.mark.parametrize("form, told", [
    ({"backup": "li", "absent": "yes"}, "本人"),
    ({"backup": "zhang", "absent": "yes"}, "工作人员"),
    ({"backup": "", "absent": "yes"}, "AB角"),
])
def test_a_bad_backup_is_refused_with_the_reason_and_nothing_changes(app, admin, form, told):
    y = app.extensions["yimen"]
    page = follow(admin, post(admin, "/admin/users/li/backup", form, "/admin/users/li"))
    message = flashes(page)
    assert "未保存" in message and told in message, message
    assert (y.user("li")["backup"], y.user("li")["absent"]) == (None, False)


def test_admin_edits_closes_reopens_and_binds_a_service_item(app, admin):
    y = app.extensions["yimen"]
    code = "330100-XK-001"
    item = y.item(code)
    form = {"name": "食品经营许可（新办）", "name_en": item["name_en"] or "", "legal_basis": item["legal_basis"],
            "competent_office": item["competent_office"], "acceptance_conditions": item["acceptance_conditions"] or "",
            "place_hours": "", "consultation": "", "complaint": "", "legal_limit_days": "20",
            "promised_limit_days": "8", "warning_days": "2", "office_code": item["office_code"]}
    page = follow(admin, post(admin, f"/admin/items/{code}", form, f"/admin/items/{code}"))
    assert "已保存" in flashes(page)
    saved = y.item(code)
    assert (saved["name"], saved["promised_limit_days"], saved["warning_days"]) == ("食品经营许可（新办）", 8, 2)
    assert saved["materials"] == item["materials"]  # fields the form does not show are kept
    post(admin, f"/admin/items/{code}/enabled", {"enabled": "no"}, f"/admin/items/{code}")
    assert y.item(code)["enabled"] is False
    assert "暂停受理" in admin.get("/admin/items").data.decode() or "已停用" in admin.get("/admin/items").data.decode()
    post(admin, f"/admin/items/{code}/enabled", {"enabled": "yes"}, f"/admin/items/{code}")
    assert y.item(code)["enabled"] is True
    post(admin, f"/admin/items/{code}/bind", {"process_key": "standard_approval", "process_version": "1"},
         f"/admin/items/{code}")
    assert (y.item(code)["process_key"], y.item(code)["process_version"]) == ("standard_approval", 1)
    # closing asks first (confirm.js reads data-confirm; no inline script)
    assert "data-confirm=" in admin.get(f"/admin/items/{code}").data.decode()


@pytest.mark.parametrize("change, told", [
    ({"promised_limit_days": "30"}, "承诺时限"),
    ({"legal_limit_days": "二十"}, "整数"),
    ({"name": ""}, "名称"),
    ({"office_code": "NOPE"}, "部门"),
])
def test_a_bad_item_edit_is_refused_with_the_reason_and_nothing_changes(app, admin, change, told):
    y = app.extensions["yimen"]
    code = "330100-XK-001"
    item = y.item(code)
    form = {"name": item["name"], "name_en": item["name_en"] or "", "legal_basis": item["legal_basis"],
            "competent_office": item["competent_office"], "acceptance_conditions": item["acceptance_conditions"] or "",
            "legal_limit_days": str(item["legal_limit_days"]), "promised_limit_days": str(item["promised_limit_days"]),
            "warning_days": "", "office_code": item["office_code"], **change}
    page = follow(admin, post(admin, f"/admin/items/{code}", form, f"/admin/items/{code}"))
    message = flashes(page)
    assert "未保存" in message and told in message, message
    assert not re.search(r"[A-Za-z]{4,}", message), message
    assert y.item(code) == item


def test_binding_a_process_that_is_not_deployed_is_refused_and_nothing_changes(app, admin):
    y = app.extensions["yimen"]
    code = "330100-XK-001"
    before = y.item(code)
    page = follow(admin, post(admin, f"/admin/items/{code}/bind", {"process_key": "standard_approval",
                                                                   "process_version": "99"}, f"/admin/items/{code}"))
    assert flashes(page) and y.item(code) == before


def test_the_designer_is_told_to_choose_a_file_when_the_upload_is_empty(app):
    chen = signed_in(app, "chen")
    response = post(chen, "/designer/deploy", {"name": "空"}, "/designer")
    page = follow(chen, response)
    assert "未部署" in flashes(page) and "BPMN" in flashes(page)
    empty_file = chen.post("/designer/deploy", data={"csrf_token": csrf(chen.get("/designer").data),
                                                     "files": (io.BytesIO(b""), "")},
                           content_type="multipart/form-data")
    assert "未部署" in flashes(follow(chen, empty_file))


def test_the_head_of_office_sees_the_extension_request_with_its_reason_and_approves_it_on_the_task_page(app):
    y = app.extensions["yimen"]
    case = _accepted_review(app)
    y.request_extension(case, "需要现场核查，申请延长审查期限", user="wang")
    head = signed_in(app, "head")
    inbox = head.get("/inbox").data.decode()
    (task,) = [t for t in y.tasks(group="office-head")]
    assert f"/tasks/{task['id']}" in inbox
    page = head.get(f"/tasks/{task['id']}").data.decode()
    assert "需要现场核查，申请延长审查期限" in page and y.case(case)["number"] in page
    assert 'data-action="extension"' in page and "special" not in re.findall(r'data-action="([a-z-]+)"', page)
    done = post(head, f"/tasks/{task['id']}/extension", {"approved": "yes", "opinion": "同意延期"},
                f"/tasks/{task['id']}")
    assert done.status_code == 302
    assert "已批准" in flashes(head.get(done.headers["Location"]).data)
    assert y.case(case)["clock"]["case"]["extension_days"] == 10
    assert y.tasks(group="office-head") == []


def test_the_head_refuses_an_extension_and_the_limit_stays(app):
    y = app.extensions["yimen"]
    case = _accepted_review(app)
    y.request_extension(case, "材料较多", user="wang")
    (task,) = y.tasks(group="office-head")
    head = signed_in(app, "head")
    post(head, f"/tasks/{task['id']}/extension", {"approved": "no", "opinion": "理由不充分"}, f"/tasks/{task['id']}")
    assert not y.case(case)["clock"]["case"].get("extension_days")
    assert y.tasks(group="office-head") == []


def test_an_extension_decision_without_an_opinion_is_refused_and_nothing_changes(app):
    y = app.extensions["yimen"]
    case = _accepted_review(app)
    y.request_extension(case, "材料较多", user="wang")
    (task,) = y.tasks(group="office-head")
    head = signed_in(app, "head")
    page = follow(head, post(head, f"/tasks/{task['id']}/extension", {"approved": "yes", "opinion": " "},
                             f"/tasks/{task['id']}"))
    assert "意见" in flashes(page)
    assert [t["id"] for t in y.tasks(group="office-head")] == [task["id"]]


def test_the_reviewer_sees_withdraw_only_while_the_next_step_is_untouched_and_it_works(app):
    y = app.extensions["yimen"]
    case = _accepted_review(app)
    (review,) = y.tasks(instance=y.case(case)["instance"])
    li = signed_in(app, "li")
    assert 'data-action="withdraw"' not in li.get(f"/cases/{case}").data.decode()  # nothing done yet
    post(li, f"/tasks/{review['id']}/decide", {"approved": "yes", "opinion": "同意"}, f"/tasks/{review['id']}")
    page = li.get(f"/cases/{case}").data.decode()
    assert 'data-action="withdraw"' in page and "data-confirm=" in page
    follow(li, post(li, f"/tasks/{review['id']}/withdraw", {}, f"/cases/{case}"))
    (again,) = y.tasks(instance=y.case(case)["instance"])
    assert (again["element_id"], again["assignee"]) == ("review", "li")
    post(li, f"/tasks/{again['id']}/decide", {"approved": "yes", "opinion": "同意"}, f"/tasks/{again['id']}")
    (conclude,) = y.tasks(instance=y.case(case)["instance"])
    y.claim(conclude["id"], user="zhao")
    assert 'data-action="withdraw"' not in li.get(f"/cases/{case}").data.decode()
