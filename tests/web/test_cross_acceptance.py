"""互为受理 (issue 16): any window of the centre accepts any item; the case goes to the competent office, and the
case and the acceptance notice name both the accepting window's office and the competent office."""
from __future__ import annotations

from engine.demo import DEMO_PASSWORD

from .test_api import apply, client
from .test_pages import signed_in


def _window_of_health(app):
    app.extensions["yimen"].add_user("sun", roles=["window"], groups=["window"], department="WJ",
                                     display_name="孙窗口", password=DEMO_PASSWORD)


def test_a_window_of_another_office_accepts_and_both_offices_are_named(app):
    _window_of_health(app)
    case = apply(client(app, "zhang"))  # 330100-XK-001, competent office SJ (市市场监督管理局)
    sun = client(app, "sun")
    accepted = sun.post(f"/api/cases/{case}/accept", json={"opinion": "齐全"})
    assert accepted.status_code == 200, accepted.json
    shown = client(app, "zhang").get(f"/api/cases/{case}").json
    assert (shown["status"], shown["accepting_office"], shown["competent_office"]) == ("under_review", "WJ", "SJ")
    assert (shown["accepting_office_name"], shown["competent_office_name"]) == ("市卫生健康委员会", "市市场监督管理局")
    (notice,) = [n for n in shown["notices"] if n["kind"] == "acceptance"]
    content = notice["content"]
    assert (content["accepting_office"], content["accepting_office_name"]) == ("WJ", "市卫生健康委员会")
    assert (content["competent_office_code"], content["office"]) == ("SJ", "市市场监督管理局")
    # the case still goes to the competent office: its reviewer sees the next step, the accepting office's does not
    assert any(t["case"]["id"] == case for t in client(app, "li").get("/api/tasks").json["items"])
    assert not any(t["case"]["id"] == case for t in client(app, "zhou").get("/api/tasks").json["items"])

    page = signed_in(app, "zhang").get(f"/cases/{case}").get_data(as_text=True)
    assert "收件窗口" in page and "办理机关" in page
    assert "市卫生健康委员会" in page and "市市场监督管理局" in page
    assert ">WJ<" not in page and ">SJ<" not in page and "WJ" not in page.split("收件窗口", 1)[1][:200]


def test_the_competent_office_own_window_is_not_named_twice(app):
    app.extensions["yimen"].add_user("qian", roles=["window"], groups=["window"], department="SJ",
                                     display_name="钱窗口", password=DEMO_PASSWORD)
    case = apply(client(app, "zhang"))
    assert client(app, "qian").post(f"/api/cases/{case}/accept", json={"opinion": "齐全"}).status_code == 200
    shown = client(app, "zhang").get(f"/api/cases/{case}").json
    assert shown["accepting_office"] == shown["competent_office"] == "SJ"
    page = signed_in(app, "zhang").get(f"/cases/{case}").get_data(as_text=True)
    assert "收件窗口" not in page and "市市场监督管理局" in page
