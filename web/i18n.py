"""The page language: Chinese by default, English on request (``/lang/en``).

Templates write English text inside ``_()``; this table gives the Chinese.
A text missing here shows in English, never an error.
"""
from __future__ import annotations

from flask import request, session

LANGUAGES = ("zh", "en")
ZH = {
    "Yimen": "一门", "Sign in": "登录", "Sign out": "退出", "User": "用户名", "Password": "密码",
    "Wrong user or password": "用户名或密码错误", "Inbox": "待办", "Supervision": "督查", "Apply": "办事",
    "My cases": "我的办件", "Notifications": "消息", "Task": "任务", "Case": "办件", "Item": "事项",
    "Status": "状态", "Due": "期限", "Applicant": "申请人", "Materials": "材料", "Opinions": "意见",
    "Notices": "告知书", "Clock": "计时", "Card": "牌", "Claim": "认领", "Give back": "退回认领",
    "Accept": "受理", "Not accept": "不予受理", "Request correction": "一次性告知补正", "Reason": "理由",
    "Problems (one per line)": "补正内容（每行一项）", "Approve": "同意", "Reject": "不同意", "Opinion": "意见",
    "Complete": "提交", "No open tasks": "暂无待办", "Promised limit": "承诺时限", "Legal limit": "法定时限",
    "Warning from": "预警时间", "Paused": "暂停计时", "normal": "正常", "warning": "预警", "yellow": "黄牌",
    "red": "红牌", "Running cases by department": "各部门在办件", "Department": "部门", "Cards": "亮牌",
    "On-time rate": "按期办结率", "Average working days": "平均工作日", "Service guide": "办事指南",
    "Legal basis": "设定依据", "Competent office": "实施机关", "Submit application": "提交申请",
    "required": "必需", "may follow (容缺)": "可容缺", "Rate this case": "评价", "Score": "评分",
    "Comment": "评语", "Done": "完成", "Forbidden": "无权访问", "Not found": "未找到",
    "Language": "语言", "Decided cases": "已办结", "Due within 2 working days": "两个工作日内到期",
    "Urge": "催办", "Transfer to": "转办给", "Transfer": "转办", "Legal and promised limits (working days)":
    "法定/承诺时限（工作日）", "Upload": "上传", "Submitted": "提交时间", "Number": "编号",
    "Acting as": "当前用户", "All": "全部", "Filter": "筛选", "Data (JSON)": "数据 (JSON)",
    "This step has no form of its own; give its data as JSON.": "此环节无专用表单，请以 JSON 填写数据。",
    "special procedure": "特别程序", "Start special procedure": "启动特别程序", "Expected working days": "预计工作日",
    "End special procedure": "结束特别程序", "Result": "结果", "Audit trail": "审计记录",
}
STATUS_ZH = {
    "submitted": "已提交", "accepted": "已受理", "not_accepted": "不予受理", "correction_requested": "待补正",
    "under_review": "审查中", "special_procedure": "特别程序", "approved": "准予", "not_approved": "不予许可",
    "concluded": "已办结", "withdrawn": "已撤回", "terminated": "已终止",
}


def language() -> str:
    lang = session.get("lang") or request.args.get("lang")
    return lang if lang in LANGUAGES else "zh"


def translate(text: str) -> str:
    if language() == "en":
        return text
    return ZH.get(text) or STATUS_ZH.get(text) or text


def init_app(app) -> None:
    app.jinja_env.globals.update(_=translate, language=language)
