"""停用/启用 from the administration page's list of people (issue 13), on SQLite and PostgreSQL."""
from __future__ import annotations

import re

from tests.web.test_pages import csrf, signed_in


def _row(page: str, user_id: str) -> str:
    return re.search(rf'<tr data-user="{user_id}">.*?</tr>', page, flags=re.S).group(0)


def _button(row: str) -> str:
    (text,) = re.findall(r"<button[^>]*>(.*?)</button>", row, flags=re.S)
    return text.strip()


def test_the_administrator_deactivates_and_reactivates_a_person_from_the_list(app):
    li = signed_in(app, "li")
    admin = signed_in(app, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    row = _row(page, "li")
    assert 'action="/admin/users/li/active"' in row and "data-confirm=" in row and _button(row) == "停用"
    assert "/admin/users/admin/active" not in _row(page, "admin")  # not one's own account
    done = admin.post("/admin/users/li/active", data={"active": "no", "back": "list", "csrf_token": csrf(page.encode())})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/users")
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert '<p class="flash ok">账号已停用。</p>' in listed
    assert not app.extensions["yimen"].user("li")["active"]
    assert li.get("/inbox").status_code in (302, 401, 403)  # signed out everywhere
    row = _row(listed, "li")
    assert _button(row) == "启用" and 'name="active" value="yes"' in row and "data-confirm=" not in row
    again = admin.post("/admin/users/li/active", data={"active": "yes", "back": "list", "csrf_token": csrf(listed.encode())})
    assert again.status_code == 302 and again.headers["Location"].endswith("/admin/users")
    assert app.extensions["yimen"].user("li")["active"]


def test_others_may_not_deactivate_anyone(app):
    for user in ("wang", "zhang"):
        client = signed_in(app, user)
        token = csrf(client.get("/my" if user == "zhang" else "/inbox").data)
        assert client.post("/admin/users/li/active", data={"active": "no", "back": "list",
                                                           "csrf_token": token}).status_code == 403
    assert app.extensions["yimen"].user("li")["active"]
