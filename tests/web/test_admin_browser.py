"""The administrator's journey in Chromium, at desktop width and at 390 px: a department, then an account with
roles and groups, then its backup person (AB角) while its holder is away.

Set ``YIMEN_SCREENSHOTS=docs/screenshots`` to keep the screenshots; ``YIMEN_SKIP_BROWSER=1`` skips the module.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHOTS = os.environ.get("YIMEN_SCREENSHOTS")

if os.environ.get("YIMEN_SKIP_BROWSER") == "1":
    pytest.skip("YIMEN_SKIP_BROWSER=1", allow_module_level=True)

from tests.web.browser_fixtures import CHROMIUM, browser, open_as, server  # noqa: E402,F401  (fixtures)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def menu(page, text: str, phone: bool) -> None:
    """Open a page from the main menu (on a phone the menu is collapsed behind its button first)."""
    if phone:
        assert not page.is_visible("#site-nav a:has-text('系统管理')")
        page.click("button.navbar-toggler")
    page.click(f"#site-nav a:has-text('{text}')")
    page.wait_for_load_state()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_admin_creates_a_department_and_an_account_with_a_backup(open_as, app, phone):
    y = app.extensions["yimen"]
    suffix = "p" if phone else "d"
    page = open_as("admin", phone=phone)
    menu(page, "系统管理", phone)
    assert page.url.endswith("/admin")
    page.click("a.card:has-text('部门管理')")
    page.fill("#department-form input[name=id]", f"XC{suffix}")
    page.fill("#department-form input[name=name]", "西城区市场监督管理局")
    page.select_option("#department-form select[name=level]", "county")
    page.select_option("#department-form select[name=parent]", "SJ")
    page.click("#department-form button:has-text('保存')")
    assert "已保存" in page.inner_text("p.flash.ok")
    assert "西城区市场监督管理局" in page.inner_text(f"tr[data-department=XC{suffix}]")
    shot(page, f"admin-departments{'-phone' if phone else ''}")
    assert next(d for d in y.departments() if d["id"] == f"XC{suffix}")["parent"] == "SJ"

    page.click("ol.breadcrumb a:has-text('系统管理')")
    page.click("a.card:has-text('人员管理')")
    page.click("a:has-text('新建账号')")
    page.fill("#user-form input[name=id]", f"xiao{suffix}")
    page.fill("#user-form input[name=name]", "肖审查")
    page.select_option("#user-form select[name=department]", f"XC{suffix}")
    page.check("#user-form input[name=roles][value=reviewer]")
    page.fill("#user-form input[name=groups]", f"reviewer, XC{suffix}")
    page.fill("#user-form input[name=password]", "xiao-first-pass")
    page.click("#user-form button:has-text('保存')")
    assert "已保存" in page.inner_text("p.flash.ok")
    # 李审查 stands in for the new colleague, who is away from today
    page.select_option("#backup-form select[name=backup]", "li")
    page.check("#backup-form input[name=absent]")
    page.click("#backup-form button")
    assert "AB角已保存" in page.inner_text("p.flash.ok")
    made = y.user(f"xiao{suffix}")
    assert (made["roles"], made["groups"], made["department"]) == (["reviewer"], sorted(["reviewer", f"XC{suffix}"]),
                                                                   f"XC{suffix}")
    assert (made["backup"], made["absent"]) == ("li", True)
    shot(page, f"admin-user{'-phone' if phone else ''}")
    page.click("ol.breadcrumb a:has-text('人员管理')")
    row = page.inner_text(f"tr[data-user=xiao{suffix}]")
    assert "肖审查" in row and "李审查" in row and "不在岗" in row
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width  # nothing wider than the screen
    shot(page, f"admin-users{'-phone' if phone else ''}")


def test_closing_a_service_item_asks_first_and_cancelling_changes_nothing(open_as, app):
    y = app.extensions["yimen"]
    page = open_as("admin")
    page.goto("/admin/items/330100-XK-001")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#enabled-form button")
    assert y.item("330100-XK-001")["enabled"] is True
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#enabled-form button")
    page.wait_for_selector("p.flash.ok")
    assert y.item("330100-XK-001")["enabled"] is False
    shot(page, "admin-item")
