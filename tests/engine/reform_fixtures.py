"""The demo office for the reform tests (issue 16): shipped processes, items, users, the linkage list."""
from __future__ import annotations

import pytest

from engine import demo

FOOD = "330100-XK-001"          # 食品经营许可: standard approval at SJ, supervised by JG (demo linkage list)
COMMIT = "330100-XK-004"        # 告知承诺 item, supervised by JG

def _materials(code: str) -> list[str]:
    import json
    from pathlib import Path

    items = json.loads((Path(demo.PROCESSES) / "items" / "demo_items.json").read_text(encoding="utf-8"))
    return [m["name"] for m in next(i for i in items if i["code"] == code)["materials"]]


FORM, LICENCE, RULES = _materials(FOOD)  # application form, business licence, food safety rules (tolerable)
(COMMITMENT,) = _materials(COMMIT)
ID_NO = "330100199001010011"


@pytest.fixture
def office(yimen, calendar_ready):
    demo.install(yimen)
    return yimen


def files(*names):
    return [{"name": n, "filename": f"{i}.pdf", "content": f"%PDF {n}".encode()} for i, n in enumerate(names)]


def apply_food(yimen, *materials, id_no=ID_NO, name="张三", user="zhang"):
    materials = materials or (FORM, LICENCE, RULES)
    return yimen.submit(FOOD, {"name": name, "kind": "person", "user": user, "id_no": id_no}, files(*materials),
                        form={"shop": "小张面馆", "address": "江干区 1 号", "contact": "13900000000"},
                        user=user)["case"]


def step(yimen, case):
    (task,) = yimen.tasks(instance=yimen.case(case)["instance"])
    return task


def conclude(yimen, case, approved=True):
    """Accepted by the window; review by li, conclusion by zhao."""
    yimen.decide(step(yimen, case)["id"], True, "符合条件", user="li")
    yimen.decide(step(yimen, case)["id"], approved, "同意" if approved else "不符合条件：场所面积不足", user="zhao")
    return yimen.case(case)
