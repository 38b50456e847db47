"""Issue 13, finding 8: the first case of a day per office could fail with ``conflict`` when two applications
arrived together (both created the day's counter row). Barrier-synchronised submissions on PostgreSQL: every
one is taken, with distinct consecutive numbers.
"""
from __future__ import annotations

import threading

import pytest

from engine import demo
from engine.service import Yimen

MATERIALS = ["食品经营许可申请书", "营业执照", "食品安全管理制度"]


@pytest.mark.parametrize("round_", range(3))
def test_the_first_cases_of_a_day_arriving_together_all_get_numbers(database_url, monkeypatch, round_):
    if not database_url.startswith("postgresql"):
        pytest.skip("several writers at once: PostgreSQL")
    monkeypatch.setenv("YIMEN_NOW", f"2026-03-0{2 + round_}T02:00:00+00:00")
    setup = Yimen(database_url)
    demo.install(setup)
    setup.close()
    clients = [Yimen(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    results, errors = [], []

    def submit(y):
        barrier.wait()
        try:
            results.append(y.submit("330100-XK-001", {"name": "张三", "user": "zhang"},
                                    [{"name": n, "filename": "a.pdf", "content": b"%PDF"} for n in MATERIALS],
                                    user="zhang")["number"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(y,)) for y in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for y in clients:
        y.close()
    assert errors == [] and len(set(results)) == len(clients)
    assert sorted(int(n.rsplit("-", 1)[1]) for n in results) == list(range(1, len(clients) + 1))
