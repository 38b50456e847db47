"""Intake at the end of the year through the pages: nothing stops for a missing calendar; provisional marks shown.

Reproduces issue 11 on the pages people use: at 2026-12-01 (2027 not entered)
the window accepts 开办餐馆一件事 (45 working days) and the food licence (20),
an applicant submits on 2026-12-25, the dates reaching 2027 say 暂定 on the
case page, the inbox and the acceptance notice, and a calendar refusal reads
as a Chinese sentence. A sweep failing for one case is listed on the
supervisor's 异常 page in Chinese.
"""
from __future__ import annotations

import io

from engine.errors import CalendarMissing
from tests.web.test_pages import csrf, post, signed_in

JOINT = "330100-XK-003"
FOOD = "330100-XK-001"


def apply(client, code: str, files: int) -> int:
    page = client.get(f"/apply/{code}").data
    data = {f"material_{i}": (io.BytesIO(b"%PDF-1.4"), f"{i}.pdf") for i in range(files)}
    response = client.post(f"/apply/{code}", data={"name": "张三", "id_no": "33010019900101001X", "csrf_token": csrf(page), **data},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def window_task(app, case_id: int) -> str:
    y = app.extensions["yimen"]
    (task,) = y.tasks(instance=y.case(case_id)["instance"])
    return task["id"]


def test_window_accepts_in_december_and_every_date_into_2027_says_provisional(app, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-01T02:00:00+00:00")
    applicant, window = signed_in(app, "zhang"), signed_in(app, "wang")
    joint, food = apply(applicant, JOINT, 1), apply(applicant, FOOD, 3)
    for case_id in (joint, food):
        task = window_task(app, case_id)
        response = post(window, f"/tasks/{task}/accept", {"opinion": "材料齐全"}, f"/tasks/{task}")
        page = window.get(response.headers["Location"]).data.decode()
        assert "calendar_missing" not in page and "2027" not in page.split("flash")[0]
        assert app.extensions["yimen"].case(case_id)["status"] == "under_review"
    joint_page = applicant.get(f"/cases/{joint}").data.decode()
    assert 'data-provisional="1"' in joint_page and "暂定" in joint_page
    assert "承诺办结日期" in joint_page  # the acceptance notice tells the dates
    shown = app.extensions["yimen"].case(joint)
    assert shown["clock"]["case"]["provisional"] is True
    assert shown["notices"][-1]["content"]["provisional"] is True
    # the food licence: 20 working days from 2026-12-01 end in 2026, nothing provisional
    food_clock = app.extensions["yimen"].case(food)["clock"]
    assert food_clock["case"]["provisional"] is False
    # the API carries the same marks
    api = signed_in(app, "wang")
    assert api.get(f"/api/cases/{joint}").get_json()["clock"]["case"]["provisional"] is True


def test_an_application_on_christmas_day_is_taken_and_its_acceptance_window_is_provisional(app, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-25T02:00:00+00:00")
    applicant = signed_in(app, "zhang")
    case_id = apply(applicant, FOOD, 3)
    clock = app.extensions["yimen"].case(case_id)["clock"]
    assert clock["acceptance_due_provisional"] is True
    page = applicant.get(f"/cases/{case_id}").data.decode()
    assert "受理决定期限" in page and 'data-provisional="1"' in page
    inbox = signed_in(app, "wang").get("/inbox").data.decode()
    assert window_task(app, case_id) in inbox


def test_a_step_due_in_a_provisional_year_is_marked_in_the_inbox(app, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2026-12-28T02:00:00+00:00")
    case_id = apply(signed_in(app, "zhang"), FOOD, 3)
    step = window_task(app, case_id)   # the acceptance step has a 5-working-day limit: into 2027
    window = signed_in(app, "wang")
    row = next(t for t in app.extensions["yimen"].tasks(user="wang") if t["id"] == step)
    assert row["due_provisional"] is True
    listed = window.get("/api/tasks").get_json()["items"]
    assert next(t for t in listed if t["id"] == step)["due_provisional"] is True
    inbox = window.get("/inbox").data.decode()
    line = inbox[inbox.index(f'data-task="{step}"'):]
    assert 'data-provisional="1"' in line[:line.index("</tr>")]
    assert 'data-provisional="1"' in window.get(f"/tasks/{step}").data.decode()


def test_a_calendar_refusal_reads_as_a_chinese_sentence_and_changes_nothing(app, monkeypatch):
    monkeypatch.setenv("YIMEN_NOW", "2099-12-20T02:00:00+00:00")  # 45 working days reach 2100: beyond any table
    applicant, window = signed_in(app, "zhang"), signed_in(app, "wang")
    case_id = apply(applicant, JOINT, 1)
    task = window_task(app, case_id)
    response = post(window, f"/tasks/{task}/accept", {"opinion": "材料齐全"}, f"/tasks/{task}")
    page = window.get(response.headers["Location"]).data.decode()
    assert "工作日历暂时无法计算到 2100 年" in page and "calendar_missing" not in page
    assert app.extensions["yimen"].case(case_id)["status"] == "submitted"


def test_a_sweep_failing_for_one_case_is_listed_for_supervisors_in_chinese(app, monkeypatch):
    from engine.commands import deadlines

    monkeypatch.setenv("YIMEN_NOW", "2026-12-01T02:00:00+00:00")
    applicant = signed_in(app, "zhang")
    broken, fine = apply(applicant, FOOD, 3), apply(applicant, FOOD, 3)
    y = app.extensions["yimen"]
    broken_instance = y.case(broken)["instance"]
    real = deadlines._deemed_accepted

    def failing(ctx, watch):
        if watch.instance_id == broken_instance:
            raise CalendarMissing("no working-day calendar for 2100", year=2100)
        return real(ctx, watch)

    monkeypatch.setattr(deadlines, "_deemed_accepted", failing)
    monkeypatch.setenv("YIMEN_NOW", "2026-12-09T02:00:00+00:00")
    y.advance_deadlines()
    assert y.case(fine)["status"] == "under_review" and y.case(broken)["status"] == "submitted"
    page = signed_in(app, "sun").get("/supervision/incidents").data.decode()
    assert "暂无异常" not in page and "办件计时推进" in page and "工作日历无法计算 2100 年" in page
    assert "clock.advance" not in page
