"""Issue 15 (UI fixes), in Chromium, by the layout the browser computes (bounding boxes and computed styles,
never pixels): the applicant's progress timeline on a 390 px phone shows every label whole; the supervision
page's 红牌 column header is readable; the supervisor's menu fits one row at 1280 px. SQLite and PostgreSQL.

``YIMEN_SCREENSHOTS=docs/screenshots`` keeps the screenshots the docs show (``scripts/screenshots.sh``).
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)
from tests.web.test_licence_journey import _approve
from tests.web.test_pages import _apply, signed_in

SHOTS = os.environ.get("YIMEN_SCREENSHOTS")
pytestmark = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _rgb(text: str) -> tuple[float, ...]:
    r, g, b, *alpha = (float(v) for v in re.findall(r"[\d.]+", text))
    return r, g, b, (alpha[0] if alpha else 1.0)


def _luminance(rgb) -> float:
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _background(page, selector: str) -> tuple[float, ...]:
    """The background a reader sees behind an element: its own, else the nearest painted ancestor's."""
    return _rgb(page.evaluate("""(selector) => {
        for (let node = document.querySelector(selector); node; node = node.parentElement) {
            const colour = getComputedStyle(node).backgroundColor;
            if (colour && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(colour)) return colour;
        }
        return 'rgb(255, 255, 255)';
    }""", selector))


def test_the_progress_timeline_shows_every_label_whole_on_a_phone(open_as, app):
    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    _approve(app, case_id)
    y.issue_licence(case_id, user="wang")
    page = open_as("zhang", phone=True)
    page.goto(f"/cases/{case_id}")
    stages = page.locator("ol.case-progress > li")
    assert stages.count() == 6
    for index in range(stages.count()):
        stage = stages.nth(index)
        box = stage.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (index, box)
        overflow = stage.evaluate("el => [el.scrollWidth - el.clientWidth, el.scrollHeight - el.clientHeight]")
        assert overflow[0] <= 0 and overflow[1] <= 0, (index, overflow)  # nothing cut off inside the stage
        label = stage.locator("strong").bounding_box()
        assert label["x"] >= box["x"] - 0.5 and label["x"] + label["width"] <= box["x"] + box["width"] + 0.5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "applicant-progress-phone")


def test_the_red_card_column_header_is_readable(open_as, app, monkeypatch):
    from engine import clock

    y = app.extensions["yimen"]
    case_id = _apply(app, signed_in(app, "zhang"))
    y.accept(case_id, user="wang")
    legal = datetime.fromisoformat(y.case(case_id)["clock"]["case"]["legal_due"])
    monkeypatch.setenv("YIMEN_NOW", (legal + timedelta(hours=1)).isoformat())
    assert clock.now() > legal
    y.advance_deadlines()
    page = open_as("sun")
    page.goto("/supervision")
    headers = page.locator("th.red")
    assert headers.count() >= 1
    for state in ("normal", "warning", "yellow", "red"):
        selector = f"th.{state}"
        colour = _rgb(page.eval_on_selector(selector, "el => getComputedStyle(el).color"))
        assert _contrast(colour, _background(page, selector)) >= 4.5, state  # WCAG AA for normal text
    shot(page, "supervisor-dashboard")


@pytest.mark.parametrize("user", ["sun", "wang", "li", "admin"])
def test_the_staff_menu_fits_one_row_at_desktop_width(open_as, app, user):
    page = open_as(user)  # 1280 x 900
    page.goto("/")
    links = page.locator("#site-nav .nav-link")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, (user, sorted(tops))
    nav = page.locator("#site-nav").bounding_box()
    assert nav["x"] + nav["width"] <= 1280
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] < 80, header  # one row: the brand, the menu and who is signed in
    for path in ("/my", "/account"):  # the personal pages are under the person's name, not in the row
        assert page.locator(f"#site-nav .dropdown-menu a[href='{path}']").count() == 1, path
        assert page.locator(f"#site-nav .navbar-nav a[href='{path}']").count() == 0, path


def test_on_a_phone_the_personal_pages_and_signing_out_are_under_the_name(open_as, app):
    page = open_as("sun", phone=True)
    page.goto("/")
    page.click("button.navbar-toggler")
    page.click("#who-menu")
    page.click(".dropdown-menu a:has-text('我的账户')")
    page.wait_for_url("**/account")
    box = page.locator("#notice-prefs").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.click("button.navbar-toggler")
    page.click("#who-menu")
    page.click(".dropdown-menu button:has-text('退出')")
    page.wait_for_url("**/login")


def test_on_a_phone_every_value_of_a_list_is_shown_under_its_column_name(open_as, app):
    """A plain table's rows become cards on a phone and its header row is hidden: each value then carries its
    column's name (table-labels.js), or the applicant sees a number and a date without knowing which."""
    _apply(app, signed_in(app, "zhang"))
    page = open_as("zhang", phone=True)
    page.goto("/my")
    table = page.locator("main table").first
    header = [t.strip() for t in table.locator("tr").first.locator("th").all_inner_texts()]
    assert header and table.locator("tr").first.is_hidden()
    cells = table.locator("tr").nth(1).locator("td")
    shown = [cells.nth(i).evaluate("el => [el.textContent.trim(), getComputedStyle(el, '::before').content]")
             for i in range(cells.count())]
    assert len(shown) == len(header) and any(text for text, _ in shown)
    for name, (text, before) in zip(header, shown):  # an empty cell shows no name alone
        assert before == (f'"{name}"' if text else "none"), (name, text, before)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
