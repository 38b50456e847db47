"""Demo data for a first look: departments, one account per role, the shipped processes and items.

``install(yimen)`` is idempotent (deploying identical diagrams returns the
existing version; users, departments and items are saved over), so
``yimen serve --demo`` may run it on every start. Every demo account has the
password ``DEMO_PASSWORD``; never use the demo data on a real service.
"""
from __future__ import annotations

from pathlib import Path

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
SHIPPED = ("standard_approval", "parallel_approval", "notify_commit", "extension")
DEMO_PASSWORD = "yimen-demo"
DEMO_BUNDLE = "330100-YJ-001"  # 一件事 (engine.commands.bundles)

DEPARTMENTS = (
    # id (office code), Chinese name, English name, level, parent
    ("ZJ", "省政务服务管理办公室", "Provincial Government Service Office", "province", None),
    ("SP", "市行政审批局", "City Administrative Approval Bureau", "city", "ZJ"),
    ("SJ", "市市场监督管理局", "City Market Regulation Bureau", "city", "ZJ"),
    ("WJ", "市卫生健康委员会", "City Health Commission", "city", "ZJ"),
    ("XF", "市消防救援支队", "City Fire and Rescue Detachment", "city", "ZJ"),
    ("HB", "市生态环境局", "City Ecology and Environment Bureau", "city", "ZJ"),
    ("JG", "市市场监管综合执法支队", "City Market Supervision Enforcement Detachment", "city", "ZJ"),  # 审管联动
)

# 放权 (engine.levels): two counties and a development zone under the city, their staff, and the city's approver
# of 审核转报 cases; the implementation list is processes/items/demo_levels.json
REGIONS = (
    ("XCQ", "西城区行政审批局", "Xicheng District Administrative Approval Bureau", "county", "SP"),
    ("DXX", "东县行政审批局", "Dong County Administrative Approval Bureau", "county", "SP"),
    ("KFQ", "经济技术开发区管委会行政审批局", "Economic Development Zone Approval Bureau", "zone", "SP"),
)
REGION_USERS = (
    ("lin", "林窗口", "Lin (window staff, Xicheng)", ["window"], "XCQ", ["window"]),
    ("gao", "高审查", "Gao (reviewer, Xicheng)", ["reviewer"], "XCQ", ["reviewer"]),
    ("ma", "马科长", "Ma (approver, Xicheng)", ["reviewer"], "XCQ", ["approver"]),
    ("dong", "董审查", "Dong (reviewer and approver, Dong County)", ["reviewer"], "DXX", ["reviewer", "approver"]),
    ("kai", "开审查", "Kai (reviewer and approver, development zone)", ["reviewer"], "KFQ", ["reviewer", "approver"]),
    ("qin", "秦科长", "Qin (city approver of reviewed-and-reported cases, health)", ["reviewer"], "WJ",
     ["approver", "WJ"]),
)

USERS = (
    # id, Chinese name, English name, roles, department, groups (task candidate groups)
    ("admin", "系统管理员", "Administrator", ["admin", "designer"], "SP", ["catalogue-admin"]),
    ("chen", "陈设计", "Chen (process designer)", ["designer"], "SP", ["process-designer"]),
    ("wang", "王窗口", "Wang (window staff)", ["window"], "SP", ["window"]),
    ("li", "李审查", "Li (reviewer, market)", ["reviewer"], "SJ", ["reviewer", "SJ"]),
    ("zhou", "周审查", "Zhou (reviewer, health)", ["reviewer"], "WJ", ["reviewer"]),
    ("zhao", "赵科长", "Zhao (approver, market)", ["reviewer"], "SJ", ["approver"]),
    ("xu", "徐审查", "Xu (reviewer, fire)", ["reviewer"], "XF", ["XF"]),
    ("he", "何审查", "He (reviewer, environment)", ["reviewer"], "HB", ["HB"]),
    ("head", "刘主任", "Liu (head of office)", ["reviewer"], "SP", ["office-head"]),
    ("sun", "孙督查", "Sun (supervisor)", ["supervisor"], "ZJ", ["supervisor", "supervision"]),
    ("zhang", "张三", "Zhang San", ["applicant"], None, []),
)


def install(yimen, password: str = DEMO_PASSWORD) -> dict:
    from . import calendar as working_calendar

    deployed = yimen.deploy([(f"{name}.bpmn", (PROCESSES / f"{name}.bpmn").read_bytes()) for name in SHIPPED],
                            name="shipped processes")["deployed"]
    seeded = working_calendar.ensure_seeded(yimen)
    for dept_id, name, name_en, level, parent in DEPARTMENTS:
        yimen.save_department(dept_id, name, level, parent, name_en=name_en)
    for dept_id, name, name_en, level, parent in REGIONS:
        yimen.save_department(dept_id, name, level, parent, name_en=name_en)
    for user_id, name, name_en, roles, dept, groups in USERS + REGION_USERS:
        yimen.add_user(user_id, groups=groups, display_name=name, display_name_en=name_en, roles=roles,
                       department=dept, admin="admin" in roles, email=f"{user_id}@demo.yimen.invalid", password=password)
    items = yimen.import_items((PROCESSES / "items" / "demo_items.json").read_text(encoding="utf-8"))
    # 审管联动: the supervising department's liaison (receives pushes by SMS) and the linkage list
    yimen.add_user("qian", groups=[], display_name="钱监管", roles=["reviewer"],
                   display_name_en="Qian (supervising department liaison)",
                   department="JG", email="qian@demo.yimen.invalid", phone="13800000001", password=password)
    yimen.import_implementations((PROCESSES / "items" / "demo_levels.json").read_text(encoding="utf-8"))  # 放权
    yimen.import_linkage((PROCESSES / "items" / "demo_linkage.json").read_text(encoding="utf-8"))
    yimen.save_reform_settings("330100-XK-001", green_channel_days=5, rectification_days=15)  # 绿色通道: 5 of 10
    # 代办: the centre's free 代办 service has an agent; zhang's identity was verified at the window (实名认证), so she
    # may authorise an agent online
    yimen.add_user("xiao", groups=["agent-service"], display_name="肖代办", roles=["applicant"],
                   email="xiao@demo.yimen.invalid", phone="13800000002", password=password)
    yimen.verify_identity("zhang", "person", "张三", "330102198505120042", user="wang")
    # 一件事: opening a small restaurant is one application for the food licence and the public-place hygiene
    # licence, accepted once and delivered together (both city-level items)
    yimen.save_bundle(DEMO_BUNDLE, "开办小餐馆一件事", ["330100-XK-001", "330100-XK-002"],
                      name_en="Opening a small restaurant (one application)")
    return {"deployed": deployed, "calendar": seeded, "departments": len(DEPARTMENTS), "users": len(USERS),
            "items": items}
