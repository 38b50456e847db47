"""The supervision dashboard: figures aggregated in SQL over a period, checked against a hand count of seeded
cases; its CSV (and the case list's) parses back to the same figures; the page draws ECharts charts.

The seeded case clocks (March 2026 has no public holiday; 2026-04-06 is 清明 but no clock reaches it):

==  ====  ======  ========================  ========================  =============  ======  ==============
id  dept  item    accepted (Beijing time)   decided                   promised by    paused  working days
==  ====  ======  ========================  ========================  =============  ======  ==============
A   SJ    XK-001  Mon 03-02 09:00           Fri 03-06 15:00           03-10          0       4 (on time)
B   SJ    XK-001  Mon 03-02 09:00           Mon 03-16 11:00           03-12          2       10 - 2 = 8 (late)
C   WJ    XK-002  Tue 03-03 09:00           Thu 03-05 16:00           03-10          0       2 (on time)
E   WJ    XK-002  Mon 03-30 09:00           Wed 04-01 00:30 (UTC 03-31) 04-03        0       2 (on time)
==  ====  ======  ========================  ========================  =============  ======  ==============

Running: SJ XK-001 red accepted 03-05, SJ XK-001 normal accepted 03-20, WJ XK-002 yellow accepted 02-20.
Cards: two yellow (SJ) on 03-10, one withdrawn yellow on 03-10 (not counted), one red (WJ) on 03-12, one red
(WJ) on 04-01.
"""
from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bench.lists import build_volume
from engine.models.deadlines import DeadlineWatch
from engine.models.supervision import IssuedCard

from tests.web.browser_fixtures import browser, open_as, server  # noqa: F401  (fixtures)

from .test_api import client
from .test_pages import signed_in

BEIJING = ZoneInfo("Asia/Shanghai")
SJ_ITEM, WJ_ITEM = "330100-XK-001", "330100-XK-002"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING).astimezone(timezone.utc)


CLOCKS = [  # department, item, accepted, decided (None: running), promised, paused, state
    ("SJ", SJ_ITEM, "2026-03-02 09:00", "2026-03-06 15:00", "2026-03-10 23:59", 0, "normal"),
    ("SJ", SJ_ITEM, "2026-03-02 09:00", "2026-03-16 11:00", "2026-03-12 23:59", 2, "yellow"),
    ("WJ", WJ_ITEM, "2026-03-03 09:00", "2026-03-05 16:00", "2026-03-10 23:59", 0, "normal"),
    ("WJ", WJ_ITEM, "2026-03-30 09:00", "2026-04-01 00:30", "2026-04-03 23:59", 0, "normal"),
    ("SJ", SJ_ITEM, "2026-03-05 09:00", None, "2026-03-20 23:59", 0, "red"),
    ("SJ", SJ_ITEM, "2026-03-20 09:00", None, "2026-04-10 23:59", 0, "normal"),
    ("WJ", WJ_ITEM, "2026-02-20 09:00", None, "2026-03-01 23:59", 0, "yellow"),
]
CARDS = [("SJ", "yellow", "issued", "2026-03-10 10:00"), ("SJ", "yellow", "appealed", "2026-03-10 11:00"),
         ("SJ", "yellow", "withdrawn", "2026-03-10 12:00"), ("WJ", "red", "issued", "2026-03-12 10:00"),
         ("WJ", "red", "issued", "2026-04-01 10:00")]


@pytest.fixture
def seeded(app):
    y = app.extensions["yimen"]
    with y.session() as s:
        watches = []
        for n, (dept, item, started, stopped, promised, paused, state) in enumerate(CLOCKS):
            w = DeadlineWatch(kind="case", case_id=None, instance_id=900_000 + n, department=dept, item_code=item,
                              started_at=at(started), promised_days=10, legal_days=20, paused_days=paused,
                              promised_due=at(promised), state=state, active=stopped is None,
                              stopped_at=at(stopped) if stopped else None, escalation=[])
            s.add(w)
            watches.append(w)
        s.flush()
        for dept, color, status, issued in CARDS:
            s.add(IssuedCard(watch_id=watches[0].id, case_id=None, color=color, status=status, department=dept,
                             reason="超期", issued_at=at(issued)))
        s.commit()
    return y


MARCH = "from=2026-03-01&to=2026-03-31"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}  # the API speaks English unless asked


def test_the_dashboard_over_a_period_matches_the_hand_count(seeded, app):
    sun = client(app, "sun")
    march = sun.get(f"/api/supervision/overview?{MARCH}").json
    assert march["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert march["by_department"] == {"SJ": {"normal": 1, "warning": 0, "yellow": 0, "red": 1}}
    assert march["by_item"] == {SJ_ITEM: {"normal": 1, "warning": 0, "yellow": 0, "red": 1}}
    assert march["performance"]["department"] == {
        "SJ": {"decided": 2, "on_time": 1, "on_time_rate": 0.5, "average_working_days": 6.0},
        "WJ": {"decided": 1, "on_time": 1, "on_time_rate": 1.0, "average_working_days": 2.0}}
    assert march["performance"]["item"][WJ_ITEM]["decided"] == 1  # E was decided on April 1st, Beijing time
    assert march["totals"] == {"running": 2, "decided": 3, "on_time": 2, "on_time_rate": 0.6667,
                               "average_working_days": 4.67}
    assert march["cards_over_time"] == {"unit": "day", "series": [
        {"period": "2026-03-10", "yellow": 2, "red": 0}, {"period": "2026-03-12", "yellow": 0, "red": 1}]}

    everything = sun.get("/api/supervision/overview").json
    assert everything["by_department"]["WJ"] == {"normal": 0, "warning": 0, "yellow": 1, "red": 0}
    assert everything["performance"]["department"]["WJ"] == {"decided": 2, "on_time": 2, "on_time_rate": 1.0,
                                                              "average_working_days": 2.0}
    assert everything["cards_over_time"] == {"unit": "month", "series": [
        {"period": "2026-03", "yellow": 2, "red": 1}, {"period": "2026-04", "yellow": 0, "red": 1}]}

    sj = sun.get(f"/api/supervision/overview?{MARCH}&department=SJ").json
    assert set(sj["performance"]["department"]) == {"SJ"} and sj["totals"]["decided"] == 2
    assert sj["cards_over_time"]["series"] == [{"period": "2026-03-10", "yellow": 2, "red": 0}]
    wj_item = sun.get(f"/api/supervision/overview?{MARCH}&item={WJ_ITEM}").json
    assert wj_item["totals"]["decided"] == 1 and wj_item["cards_over_time"]["series"] == []  # cards of no case

    # The page shows the same figures, and the chart's data.
    page = signed_in(app, "sun").get(f"/supervision?{MARCH}").data.decode()
    assert 'data-running="2" data-decided="3"' in page
    chart = json.loads(page.split('id="dashboard-data">', 1)[1].split("</script>", 1)[0])
    assert [(r["rate"], r["days"]) for r in chart["department"]] == [(50.0, 6.0), (100.0, 2.0)]
    assert chart["cards"] == march["cards_over_time"]["series"]


def test_a_bad_period_is_refused_and_only_supervisors_read_the_dashboard(seeded, app):
    sun = client(app, "sun")
    for query in ("from=yesterday", "from=2026-03-31&to=2026-03-01", "from=2026-02-30"):
        answer = sun.get(f"/api/supervision/overview?{query}")
        assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_input", query
    assert client(app, "li").get("/api/supervision/overview").status_code == 403
    assert client(app, "li").get("/api/supervision/overview.csv").status_code == 403
    page = signed_in(app, "sun").get("/supervision?from=2026-03-31&to=2026-03-01")
    assert page.status_code == 200 and 'value="2026-03-31"' not in page.data.decode()  # told, then everything


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_the_dashboard_csv_parses_back_to_the_same_figures(seeded, app):
    sun = client(app, "sun")
    for query in (MARCH, ""):
        figures = sun.get(f"/api/supervision/overview?{query}").json
        for source in (sun.get(f"/api/supervision/overview.csv?{query}", headers=ZH),
                       signed_in(app, "sun").get(f"/supervision/dashboard.csv?{query}")):
            header, *rows = _csv(source)
            assert header[:3] == ["类型", "代码", "名称"] and len(header) == 11
            by_key = {(r[0], r[1]): r for r in rows}
            for kind, label in (("department", "部门"), ("item", "事项")):
                running = figures[f"by_{kind}"]
                perf = figures["performance"][kind]
                assert {k for (lab, k) in by_key if lab == label} == set(running) | set(perf)
                for key in set(running) | set(perf):
                    row = by_key[label, key]
                    assert [int(v) for v in row[3:7]] == [running.get(key, {}).get(s, 0)
                                                         for s in ("normal", "warning", "yellow", "red")]
                    p = perf.get(key)
                    assert int(row[7]) == (p["decided"] if p else 0) and int(row[8]) == (p["on_time"] if p else 0)
                    if p:
                        assert float(row[9]) == p["on_time_rate"] and float(row[10]) == p["average_working_days"]
            series = [{"period": r[1], "yellow": int(r[5]), "red": int(r[6])} for r in rows if r[0] == "逐期红黄牌"]
            assert series == figures["cards_over_time"]["series"]
    department_names = [r[2] for r in _csv(sun.get(f"/api/supervision/overview.csv?{MARCH}", headers=ZH))[1:]
                        if r[0] == "部门"]
    assert department_names and all(name not in ("SJ", "WJ") for name in department_names)  # names, not codes


def test_the_case_list_csv_holds_the_readers_list(app):
    y = app.extensions["yimen"]
    build_volume(y, 90, 15)
    for who in ("zhou", "sun"):
        listed = client(app, who).get("/api/cases?limit=500").json
        header, *rows = _csv(client(app, who).get("/api/cases.csv", headers=ZH))
        assert header[0] == "办件编号" and [r[0] for r in rows] == [c["number"] for c in listed["items"]]
        assert len(rows) == listed["total"]
    narrowed = client(app, "sun").get(f"/api/cases.csv?item={SJ_ITEM}&status=submitted")
    assert _csv(narrowed)[0][0] == "Case number"  # English by default
    numbers = [r[0] for r in _csv(narrowed)[1:]]
    assert numbers == [c["number"] for c in client(app, "sun").get(
        f"/api/cases?item={SJ_ITEM}&status=submitted&limit=500").json["items"]] and numbers
    page = signed_in(app, "zhou").get("/cases/export.csv")
    assert [r[0] for r in _csv(page)[1:]] == [c["number"] for c in client(app, "zhou").get(
        "/api/cases?limit=500").json["items"]]
    assert signed_in(app, "zhang").get("/cases/export.csv").status_code == 403  # applicants: their own list only


@pytest.mark.skipif(os.environ.get("YIMEN_SKIP_BROWSER") == "1", reason="YIMEN_SKIP_BROWSER=1")
def test_the_supervision_page_draws_its_charts_on_a_phone_in_chinese(seeded, app, open_as):
    problems: list[str] = []
    page = open_as("sun", phone=True)
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"/supervision?{MARCH}")
    for kind in ("department", "item", "cards"):
        page.wait_for_selector(f'[data-chart="{kind}"][data-drawn="yes"] canvas')
        box = page.locator(f'[data-chart="{kind}"]').bounding_box()
        assert box and 0 < box["width"] <= 390 and box["height"] > 100, kind
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert problems == []
