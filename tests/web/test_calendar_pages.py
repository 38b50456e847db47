"""The working-day calendar pages and API (issue 11): years official or provisional, the year view, changes, refusals.

On SQLite and PostgreSQL with the demo data (2004-2026 entered from
``chinesecalendar``). The browser half applies and accepts a 45-working-day
case at the end of 2026 in Chromium, imports the test 2027 schedule on the
calendar page and reads the moved legal limit on the case page.
"""
from __future__ import annotations

import html
import io
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import demo
from tests.conftest import DATA
from tests.web.test_pages import csrf, signed_in

SCHEDULE = DATA / "clock" / "test_schedule_2027.csv"
JOINT = "330100-XK-003"  # 开办餐馆一件事: 45 working days
JOINT_MATERIAL = "联合申请表"
END_OF_2026 = "2026-12-20T02:00:00+00:00"
BEIJING = ZoneInfo("Asia/Shanghai")
# Words the Chinese page may show in Latin letters: file formats, and the demo users' own names (data, not UI).
ALLOWED_LATIN = {"CSV", "JSON", "UTF", "MB", "ADMINISTRATOR"}


def main_text(page: bytes) -> str:
    """The visible text of <main>, without the file syntax in <code> (holiday, workday: what a file says)."""
    body = page.decode().split("<main>", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def latin_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[A-Za-z_]{2,}", text) if word.upper() not in ALLOWED_LATIN}


def post_form(client, url, data, page_url="/calendar", **kwargs):
    return client.post(url, data={**data, "csrf_token": csrf(client.get(page_url).data)}, **kwargs)


def upload(client, content: bytes, filename="schedule.csv", fmt="auto"):
    return post_form(client, "/calendar/import", {"format": fmt, "file": (io.BytesIO(content), filename)},
                     content_type="multipart/form-data")


def flashes(client, response) -> str:
    assert response.status_code == 302, response.data[:500]
    page = client.get(response.headers["Location"]).data.decode()
    return html.unescape(" ".join(re.findall(r'<p class="flash [a-z]+">(.*?)</p>', page, flags=re.S)))


def status_of(app, year: int) -> str:
    return next(y["status"] for y in app.extensions["yimen"].calendar_overview() if y["year"] == year)


def provisional_case(app, monkeypatch) -> int:
    """A 45-working-day case accepted on 2026-12-20: its legal limit counts into provisional 2027."""
    monkeypatch.setenv("YIMEN_NOW", END_OF_2026)
    y = app.extensions["yimen"]
    case = y.submit(JOINT, {"name": "小张面馆", "kind": "organisation", "user": "zhang"},
                    [{"name": JOINT_MATERIAL, "filename": "a.pdf", "content": b"%PDF-1.4"}], {}, user="zhang")["case"]
    y.accept(case, user="wang")
    assert y.case(case)["clock"]["case"]["provisional"] is True
    return case


def legal_day(app, case_id: int) -> str:
    due = datetime.fromisoformat(app.extensions["yimen"].case(case_id)["clock"]["case"]["legal_due"])
    return due.astimezone(BEIJING).date().isoformat()


# --- pages ---------------------------------------------------------------------------------

def test_the_overview_shows_official_years_and_2027_provisional_in_chinese(app):
    admin = signed_in(app, "admin")
    page = admin.get("/calendar").data
    text = main_text(page)
    row_2027 = re.search(rb'<tr data-year="2027" data-status="provisional".*?</tr>', page, flags=re.S).group(0)
    assert "暂定".encode() in row_2027 and "按法定节假日推算".encode() in row_2027
    row_2026 = re.search(rb'<tr data-year="2026" data-status="official".*?</tr>', page, flags=re.S).group(0)
    assert "正式".encode() in row_2026 and "内置节假日数据".encode() in row_2026
    assert "工作日历" in text and "导入节假日安排" in text
    assert not latin_words(text), latin_words(text)
    assert "工作日历".encode() in admin.get("/inbox").data.split(b"</nav>")[0]  # the nav link for administrators
    assert "工作日历".encode() not in signed_in(app, "sun").get("/supervision").data.split(b"</nav>")[0]
    admin.get("/lang/en")
    assert b"Provisional" in admin.get("/calendar").data


def test_the_year_view_shows_twelve_monday_first_months_with_marks_readable_without_colour(app):
    admin = signed_in(app, "admin")
    page = admin.get("/calendar/2027").data
    text = main_text(page)
    assert page.count(b'<section class="cal-month"') == 12
    assert re.search(r"<tr><th[^>]*>一</th><th[^>]*>二</th>.*?<th[^>]*>日</th></tr>", page.decode())
    january = page.decode().split('data-month="1"', 1)[1].split("</section>", 1)[0]
    first_week = re.search(r"<tr>(<td.*?)</tr>", january, flags=re.S).group(1)
    assert first_week.count('class="cal-empty"') == 4  # 2027-01-01 is a Friday: the fifth column
    eve = re.search(r'<td class="([^"]*)" data-date="2027-02-05" data-kind="holiday" title="([^"]*)">(.*?)</td>',
                    page.decode(), flags=re.S)
    assert "cal-prov" in eve.group(1) and "法定节假日" in eve.group(2) and "暂定" in eve.group(2)
    assert '<span class="m">休</span>' in eve.group(3)  # the letter, not only the colour
    assert "农历除夕" in text and "春节" in text and "暂定" in text and "254" in text  # working days of 2027
    assert not latin_words(text), latin_words(text)

    official = admin.get("/calendar/2026").data.decode()
    worked = re.search(r'<td class="[^"]*" data-date="2026-01-04" data-kind="workday" title="([^"]*)">(.*?)</td>',
                       official, flags=re.S)
    assert '<span class="m">班</span>' in worked.group(2) and "调休上班" in worked.group(1) and "元旦" in worked.group(1)
    assert "暂定" not in main_text(official.encode()) and not latin_words(main_text(official.encode()))
    chosen = admin.get("/calendar/2026?day=2026-01-04").data.decode()
    form = chosen.split('id="set-day"', 1)[1]
    assert 'value="2026-01-04"' in form and '<option value="workday" selected>' in form and 'value="元旦"' in form
    assert admin.get("/calendar/2100").status_code == 404 and admin.get("/calendar/x").status_code == 404


def test_an_administrator_marks_a_day_and_the_flash_says_how_many_cases_moved(app, monkeypatch):
    case = provisional_case(app, monkeypatch)
    before = legal_day(app, case)
    admin = signed_in(app, "admin")
    response = post_form(admin, "/calendar/days", {"day": "2027-01-04", "kind": "holiday", "name": "测试假日"},
                         "/calendar/2027")
    assert response.headers["Location"].endswith("/calendar/2027")
    told = flashes(admin, response)
    assert "2027-01-04 已设为法定节假日" in told and "重新计算了 1 件办件的期限" in told, told
    assert legal_day(app, case) > before and status_of(app, 2027) == "official"
    page = admin.get("/calendar/2027").data.decode()
    assert re.search(r'data-date="2027-01-04" data-kind="holiday" title="[^"]*测试假日', page)
    assert "暂定" not in main_text(page.encode())
    back = post_form(admin, "/calendar/days", {"day": "2027-01-04", "kind": "normal", "name": ""}, "/calendar/2027")
    assert "已设为正常" in flashes(admin, back) and legal_day(app, case) == before


def test_a_refused_day_change_is_told_in_chinese_and_changes_nothing(app):
    admin = signed_in(app, "admin")
    for data, expected in (({"day": "2027-02-30", "kind": "holiday"}, "不是日期"),
                           ({"day": "2027-02-01", "kind": "weekend"}, "请选择法定节假日、调休上班或正常"),
                           ({"day": "2100-01-04", "kind": "holiday"}, "1950 年至 2099 年"),
                           ({"day": "2027-02-01", "kind": "holiday", "name": "节" * 101}, "名称最多 100 个字")):
        told = flashes(admin, post_form(admin, "/calendar/days", data, "/calendar/2027"))
        assert expected in told and not latin_words(told), told
    assert status_of(app, 2027) == "provisional"


def test_people_who_are_not_administrators_get_403_and_change_nothing(app):
    y = app.extensions["yimen"]
    before = y.calendar_year_view(2027)
    for user in ("wang", "sun", "zhang", "chen"):
        client = signed_in(app, user)
        assert client.get("/calendar").status_code == 403
        assert client.get("/calendar/2027").status_code == 403
        token = csrf(client.get("/my").data)
        assert client.post("/calendar/days", data={"day": "2027-01-04", "kind": "holiday",
                                                   "csrf_token": token}).status_code == 403
        assert client.post("/calendar/import", content_type="multipart/form-data", data={
            "file": (io.BytesIO(SCHEDULE.read_bytes()), "s.csv"), "csrf_token": token}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/calendar").status_code == 302  # to the sign-in page
    assert y.calendar_year_view(2027) == before and status_of(app, 2027) == "provisional"
    admin = signed_in(app, "admin")
    assert admin.post("/calendar/days", data={"day": "2027-01-04", "kind": "holiday"}).status_code == 400  # no CSRF


def test_a_bad_file_is_refused_in_chinese_line_by_line_and_changes_nothing(app):
    admin = signed_in(app, "admin")
    cases = (
        (b"date,kind,name\n2027-13-01,holiday,x\n2027-02-08,rest,\n2027-02-08,holiday,\n2027-02-08,holiday,\n",
         "schedule.csv", ("日历文件有误，未作任何更改", "第 2 行", "2027-13-01", "第 3 行", "第 5 行", "重复")),
        (b'[{"date": "2027-02-08", "kind": "holiday"', "schedule.json", ("不是有效的 JSON",)),
        (b'{"date": "2027-02-08"}', "schedule.json", ("列表",)),
        (b"# nothing\n", "schedule.csv", ("没有列出任何日期",)),
        (b"\x00\xff\xfe\x89PNG" * 50, "picture.csv", ("日历文件有误",)),
        (b"x" * (1024 * 1024 + 1), "big.csv", ("超过 1 MB",)),
    )
    for content, filename, expected in cases:
        told = flashes(admin, upload(admin, content, filename))
        assert all(e in told for e in expected), (filename, told)
        assert "invalid_input" not in told and "error" not in told.lower(), told
    told = flashes(admin, post_form(admin, "/calendar/import", {"format": "csv"}))
    assert "请选择日历文件" in told
    assert status_of(app, 2027) == "provisional" and app.extensions["yimen"].calendar(2027) == []


def test_importing_the_schedule_recomputes_and_says_how_many_cases(app, monkeypatch):
    case = provisional_case(app, monkeypatch)
    before = legal_day(app, case)
    admin = signed_in(app, "admin")
    response = upload(admin, SCHEDULE.read_bytes(), "test_schedule_2027.csv")
    assert response.headers["Location"].endswith("/calendar/2027")
    told = flashes(admin, response)
    assert "已导入 2027 年" in told and "重新计算了 1 件办件的期限" in told, told
    assert legal_day(app, case) != before and status_of(app, 2027) == "official"
    page = admin.get("/calendar/2027").data.decode()
    assert re.search(r'data-date="2027-02-20" data-kind="workday"', page) and "暂定" not in main_text(page.encode())
    row = re.search(r'<tr data-year="2027" data-status="official".*?</tr>', admin.get("/calendar").data.decode(),
                    flags=re.S).group(0)
    assert "正式" in row and "文件导入" in row and "系统管理员" in row


def test_a_gb18030_csv_from_a_spreadsheet_is_read(app):
    admin = signed_in(app, "admin")
    content = "日期,类型,名称\n2027-02-08,holiday,春节\n".encode("gb18030")
    assert "已导入 2027 年" in flashes(admin, upload(admin, content, "假日.csv"))
    assert app.extensions["yimen"].calendar(2027) == [{"date": "2027-02-08", "kind": "holiday", "name": "春节"}]


def test_the_chinese_page_writes_kinds_as_休_and_班_and_a_file_in_those_words_is_read(app):
    admin = signed_in(app, "admin")
    page = admin.get("/calendar").data.decode()
    assert "<code>休</code>" in page and "<code>班</code>" in page and "<code>holiday</code>" not in page
    content = "日期,类型,名称\n2027-02-08,休,春节\n2027-02-07,班,春节调休\n".encode("gb18030")
    assert "已导入 2027 年" in flashes(admin, upload(admin, content, "假日.csv"))
    assert app.extensions["yimen"].calendar(2027) == [
        {"date": "2027-02-07", "kind": "workday", "name": "春节调休"},
        {"date": "2027-02-08", "kind": "holiday", "name": "春节"}]
    told = flashes(admin, upload(admin, "2027-02-09,歇,x\n".encode(), "x.csv"))
    assert "日历文件有误" in told and "歇" in told


# --- API -----------------------------------------------------------------------------------

def api(app, user):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.extensions['yimen'].create_token(user, 't')['token']}"
    return client


def test_the_calendar_api_reads_for_everyone_and_changes_for_administrators(app, monkeypatch):
    case = provisional_case(app, monkeypatch)
    applicant = api(app, "zhang")
    years = applicant.get("/api/calendar").json
    assert {"year": 2027, "status": "provisional"}.items() <= next(y for y in years if y["year"] == 2027).items()
    view = applicant.get("/api/calendar/2027").json
    assert view["status"] == "provisional" and len(view["days"]) == 365
    assert view["days"][35] == {"date": "2027-02-05", "weekday": 4, "kind": "holiday", "name": "农历除夕",
                                "working": False}
    assert applicant.get("/api/cases/%d" % case).json["clock"]["case"]["provisional"] is True
    assert applicant.get("/api/calendar/2100").json["error"]["code"] == "invalid_input"
    assert applicant.get("/api/calendar/x").status_code == 404

    for client in (applicant, api(app, "wang")):
        refused = client.post("/api/calendar/import", json={"text": SCHEDULE.read_text(), "format": "csv"})
        assert refused.status_code == 403 and refused.json["error"]["code"] == "permission_denied"
        refused = client.put("/api/calendar/days/2027-01-04", json={"kind": "holiday"})
        assert refused.status_code == 403 and refused.json["error"]["code"] == "permission_denied"
    assert status_of(app, 2027) == "provisional"

    admin = api(app, "admin")
    for method, url, body in (
            ("put", "/api/calendar/days/2027-01-04", {"kind": "weekend"}),
            ("put", "/api/calendar/days/2027-02-30", {"kind": "holiday"}),
            ("put", "/api/calendar/days/yesterday", {"kind": "holiday"}),
            ("put", "/api/calendar/days/2027-01-04", {}),
            ("put", "/api/calendar/days/2027-01-04", {"kind": 3}),
            ("put", "/api/calendar/days/2027-01-04", ["holiday"]),
            ("put", "/api/calendar/days/2027-01-04", {"kind": "holiday", "name": "节" * 101}),
            ("post", "/api/calendar/import", {"text": "2027-02-08,rest\n", "format": "csv"}),
            ("post", "/api/calendar/import", {"text": "[{", "format": "json"}),
            ("post", "/api/calendar/import", {"text": SCHEDULE.read_text(), "format": "xlsx"}),
            ("post", "/api/calendar/import", {"format": "csv"})):
        refused = getattr(admin, method)(url, json=body)
        assert refused.status_code == 400, (url, body, refused.json)
        assert refused.json["error"]["code"] == "invalid_input", (url, body, refused.json)
    assert admin.post("/api/calendar/import", json={"text": "2027-02-08,rest\n"}).json["error"]["details"][
        "problems"] == ["line 1: kind 'rest' is not one of holiday, workday, normal"]
    far = admin.put("/api/calendar/days/2100-01-04", json={"kind": "holiday"})
    assert far.status_code == 400 and far.json["error"]["details"] == {"year": 2100}
    assert status_of(app, 2027) == "provisional"

    before = legal_day(app, case)
    imported = admin.post("/api/calendar/import", json={"text": SCHEDULE.read_text(), "format": "csv"})
    assert imported.status_code == 200, imported.json
    assert imported.json["imported"] == [2027] and imported.json["recomputed"]["cases"] == 1
    assert legal_day(app, case) != before and applicant.get("/api/calendar/2027").json["status"] == "official"
    changed = admin.put("/api/calendar/days/2027-03-01", json={"kind": "holiday", "name": "测试"})
    assert changed.status_code == 200 and changed.json["kind"] == "holiday" and "recomputed" in changed.json


def test_the_calendar_endpoints_are_in_the_openapi_document(app):
    paths = app.test_client().get("/api/openapi.json").json["paths"]
    assert set(paths["/api/calendar"]) == {"get"} and set(paths["/api/calendar/{year}"]) == {"get"}
    assert set(paths["/api/calendar/import"]) == {"post"} and set(paths["/api/calendar/days/{day}"]) == {"put"}
    body = paths["/api/calendar/days/{day}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["kind"]["enum"] == ["holiday", "workday", "normal"]


# --- in the browser -------------------------------------------------------------------------
# The server, browser and sign-in fixtures as in test_browser.py (that module skips itself as a whole).

SHOTS = os.environ.get("YIMEN_SCREENSHOTS")
browser_test = pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")


from tests.web.browser_fixtures import CHROMIUM, browser, open_as, server  # noqa: E402,F401  (fixtures)


def shot(page, name: str, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def local_minute(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


@browser_test
def test_a_provisional_deadline_moves_when_the_administrator_imports_the_year_on_the_page(open_as, app, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", END_OF_2026)  # the server thread reads the same clock
    y = app.extensions["yimen"]
    applicant = open_as("zhang", phone=True)
    applicant.goto(f"/apply/{JOINT}")
    applicant.fill("input[name=name]", "小张面馆")
    applicant.fill("input[name=id_no]", "33010019900101001X")  # an online application is checked in full
    assert JOINT_MATERIAL in applicant.inner_text("#application")
    applicant.set_input_files("input[name=material_0]", files=[
        {"name": "joint.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    applicant.click("form[enctype] button")
    applicant.wait_for_url("**/cases/*")
    case_id = int(applicant.url.rsplit("/", 1)[1])

    window = open_as("wang")
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    window.goto(f"/tasks/{task['id']}")
    window.fill("form[data-action=accept] input[name=opinion]", "材料齐全，予以受理")
    window.click("form[data-action=accept] button")
    window.wait_for_load_state()
    clock = y.case(case_id)["clock"]["case"]
    assert clock["provisional"] is True  # counted through 2027, which nobody has entered
    window.goto(f"/cases/{case_id}")
    line = window.locator("p.clock").first.inner_text()
    assert local_minute(clock["legal_due"]) in line and "暂定" in line, line
    shot(window, "calendar-case-provisional")

    admin = open_as("admin")
    admin.click("header nav a:has-text('工作日历')")
    row = admin.locator("tr[data-year='2027']")
    assert "暂定" in row.inner_text()
    shot(admin, "calendar-overview")
    admin.set_input_files("#calendar-import input[type=file]", str(SCHEDULE))
    admin.click("#calendar-import button")
    admin.wait_for_url("**/calendar/2027")
    told = admin.inner_text("p.flash.ok")
    assert "已导入 2027 年" in told and "重新计算了 1 件办件的期限" in told, told
    assert admin.locator("h1 [data-status=official]").count() == 1
    assert admin.locator("td[data-date='2027-02-20'] .m").inner_text() == "班"
    shot(admin, "calendar-year-official")

    moved = y.case(case_id)["clock"]["case"]
    assert moved["legal_due"] != clock["legal_due"] and moved["provisional"] is False
    window.reload()
    line = window.locator("p.clock").first.inner_text()
    assert local_minute(moved["legal_due"]) in line and local_minute(clock["legal_due"]) not in line, line
    assert "暂定" not in " ".join(window.locator("p.clock").all_inner_texts())  # the notice keeps what it said then
    shot(window, "calendar-case-official")

    applicant.reload()
    assert local_minute(moved["legal_due"]) in applicant.locator("p.clock").first.inner_text()


@browser_test
def test_the_calendar_pages_on_a_desktop_and_a_phone(open_as, app):
    for phone in (False, True):
        admin = open_as("admin", phone=phone)
        suffix = "phone" if phone else "desktop"
        admin.goto("/calendar")
        shot(admin, f"calendar-overview-{suffix}")
        admin.goto("/calendar/2027?day=2027-02-05")
        width = admin.evaluate("document.documentElement.scrollWidth")
        assert width <= admin.viewport_size["width"], f"the page scrolls sideways on a {suffix}: {width}px"
        months = admin.locator("section.cal-month").all()
        assert len(months) == 12
        first, second = months[0].bounding_box(), months[1].bounding_box()
        if phone:
            assert second["y"] > first["y"]  # one month under the other
        else:
            assert second["y"] == first["y"]  # side by side
        cell = admin.locator("td[data-date='2027-02-05']")
        assert cell.bounding_box()["width"] >= 30 and "休" in cell.inner_text()
        shot(admin, f"calendar-year-{suffix}")
        if phone:
            shot(admin, "calendar-year-phone-screen", full_page=False)
            admin.locator("#set-day").scroll_into_view_if_needed()
            shot(admin, "calendar-year-phone-form", full_page=False)
        admin.goto("/lang/en")
        admin.goto("/calendar/2027")
        assert "Provisional" in admin.inner_text("h1")
        assert "Off" in admin.locator("td[data-date='2027-02-05']").inner_text()
        if not phone:
            shot(admin, "calendar-year-desktop-en")
