"""Every English text a template writes inside _() has its Chinese in the catalogue."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
LITERAL = re.compile(r"""_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\)""")


def template_texts() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((WEB / "templates").glob("*.html")):
        for match in LITERAL.finditer(path.read_text(encoding="utf-8")):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            found.setdefault(text.replace("\\'", "'").replace('\\"', '"'), set()).add(path.name)
    return found


def catalogue():
    with (WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale="zh")


def test_every_template_text_has_chinese():
    translated = {m.id: m.string for m in catalogue() if m.id}
    missing = {text: sorted(files) for text, files in template_texts().items() if not translated.get(text)}
    assert not missing, f"add these to messages.po: {missing}"


def test_the_catalogue_has_no_duplicates():
    source = (WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"$', source, flags=re.M)  # (context, id): one entry each
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


# --- refusals in the page language (web/i18n.py refusal_message) ---------------------------

import base64  # noqa: E402

import pytest  # noqa: E402

from engine.errors import REFUSALS  # noqa: E402

ZH_TEXTS = {m.id: m.string for m in catalogue() if m.id}


def test_every_refusal_sub_code_has_a_sentence_and_each_sentence_its_chinese():
    """The sub-codes raisers may name (engine/errors.py) each have a sentence; each sentence is in the catalogue."""
    import web.pages  # noqa: F401  (page modules may add sentences of their own)
    from web.i18n import FIELDS, REFUSAL_TEXTS, THINGS

    missing = [f"{code}:{sub}" for code, subs in REFUSALS.items() for sub in subs
               if f"{code}:{sub}" not in REFUSAL_TEXTS]
    assert not missing, f"add sentences to web/i18n.py REFUSAL_TEXTS: {missing}"
    untranslated = [t for t in [*REFUSAL_TEXTS.values(), *FIELDS.values(), *THINGS.values()] if not ZH_TEXTS.get(t)]
    assert not untranslated, f"add these to messages.po: {untranslated}"


def _told(app, lang, code, **details):
    from web.i18n import refusal_message

    with app.test_request_context(f"/inbox?lang={lang}"):
        return refusal_message(code, details, reason="the form has more than 200 fields")


MAIN_REFUSALS = [  # code, details (with ids, as the engine gives them), a piece of the Chinese and of the English
    ("invalid_state", {"refusal": "materials_missing", "materials": ["营业执照", "食品安全管理制度"], "task_id": "7b9a274d"},
     "必需的申请材料尚未提交：营业执照、食品安全管理制度。", "Required materials are missing: 营业执照, 食品安全管理制度."),
    ("permission_denied", {"refusal": "not_your_task", "task_id": "7b9a274d", "user": "sun"}, "该环节不在您的办理范围内",
     "This step is not in your hands"),
    ("permission_denied", {}, "您无权进行此项操作", "You are not entitled to do this"),
    ("invalid_state", {"refusal": "wrong_status", "status": "under_review"}, "办件当前为“审查中”",
     "while the case is “under_review”"),
    ("invalid_state", {"task_id": "7b9a274d"}, "当前状态下不能进行此项操作", "This cannot be done now"),
    ("not_found", {"what": "case", "case_id": 7}, "未找到该办件", "Not found: the case."),
    ("conflict", {"task_id": "7b9a274d"}, "他人刚刚修改了同一内容", "Someone else changed this at the same moment"),
    ("invalid_input", {"refusal": "required", "field": "opinion"}, "请填写意见后重新提交", "the opinion is required"),
    ("invalid_input", {"refusal": "too_long", "field": "comment", "limit": 2000}, "评价内容超过 2000 个字",
     "the comment is longer than 2000 characters"),
    ("invalid_input", {}, "填写的内容未通过检查", "nothing was changed: the form has more than 200 fields"),
    ("calendar_missing", {"year": 2030}, "工作日历暂时无法计算到 2030 年", "cannot count into 2030"),
    ("database_busy", {}, "系统繁忙", "The system is busy right now"),
    ("bpmn_invalid", {"problems": [{"reason": "x"}, {"reason": "y"}]}, "发现 2 处问题", "2 problems were found"),
    ("handler_failed", {}, "自动处理环节执行失败", "An automatic step failed"),
    ("no_such_code", {}, "请求未被执行", "The request was refused"),
]


def test_a_refusal_reads_right_in_chinese_and_in_english(app):
    """Each main code, with its details, is a sentence in either language that never shows the code or an id."""
    for code, details, zh, en in MAIN_REFUSALS:
        chinese, english = _told(app, "zh", code, **details), _told(app, "en", code, **details)
        assert zh in chinese and en in english, (code, chinese, english)
        for text in (chinese, english):
            assert code not in text and "7b9a274d" not in text and "sun" not in text, text
        assert "200 fields" not in chinese


def _api(app, user, lang=None):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.extensions['yimen'].create_token(user, 't')['token']}"
    if lang:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


def test_api_refusals_keep_the_code_and_tell_the_message_by_accept_language(app):
    """Accepting with materials missing through the API: the same code, the message in zh or en, the reason kept."""
    pdf = base64.b64encode(b"%PDF").decode()
    made = _api(app, "zhang").post("/api/cases", json={
        "item": "330100-XK-001", "applicant": {"name": "张三"},
        "materials": [{"name": "食品经营许可申请书", "filename": "a.pdf", "content_base64": pdf}]})
    assert made.status_code == 201, made.json
    url = f"/api/cases/{made.json['case']}/accept"
    answers = {lang: _api(app, "wang", lang).post(url, json={}) for lang in ("zh-CN,zh;q=0.9", "en", None)}
    for answer in answers.values():
        assert answer.status_code == 409 and answer.json["error"]["code"] == "invalid_state"
        assert answer.json["error"]["details"]["materials"] == ["营业执照", "食品安全管理制度"]
        assert "required materials are missing" in answer.json["error"]["reason"]
    assert answers["zh-CN,zh;q=0.9"].json["error"]["message"].startswith("必需的申请材料尚未提交：营业执照、食品安全管理制度。")
    assert answers["en"].json["error"]["message"].startswith("Required materials are missing: 营业执照, 食品安全管理制度.")
    assert answers[None].json["error"]["message"] == answers["en"].json["error"]["message"]  # English by default
    assert app.extensions["yimen"].case(made.json["case"])["status"] == "submitted"


def test_names_come_in_both_languages_from_the_demo_data_and_the_diagrams(app):
    """The Chinese name is the primary one; the English one rides along (items, materials, departments, people,
    processes, and steps from the diagrams' yimen.nameEn)."""
    y = app.extensions["yimen"]
    item = y.item("330100-XK-001")
    assert (item["name"], item["name_en"]) == ("食品经营许可", "Food business licence")
    assert item["materials"][0]["name"] == "食品经营许可申请书" and item["materials"][0]["name_en"] == "Application form"
    offices = {d["id"]: d for d in y.departments()}
    assert (offices["SJ"]["name"], offices["SJ"]["name_en"]) == ("市市场监督管理局", "City Market Regulation Bureau")
    assert (y.user("head")["name"], y.user("head")["name_en"]) == ("刘主任", "Liu (head of office)")
    standard = next(p for p in y.process_versions() if p["key"] == "standard_approval")
    assert (standard["name"], standard["name_en"]) == ("标准审批", "Standard approval")
    case = y.submit("330100-XK-001", {"name": "张三", "user": "zhang"}, [], user="zhang")
    (step,) = y.tasks(instance=case["instance"])
    assert (step["name"], step["name_en"]) == ("受理", "Accept")


def test_english_pages_show_the_english_names(app):
    """The same inbox in English: the step's and the item's English names; in Chinese the Chinese ones."""
    from .test_pages import signed_in

    y = app.extensions["yimen"]
    y.submit("330100-XK-001", {"name": "张三", "user": "zhang"}, [], user="zhang")
    window = signed_in(app, "wang")
    chinese = window.get("/inbox").get_data(as_text=True)
    assert "受理" in chinese and "食品经营许可" in chinese and "王窗口" in chinese and "Accept" not in chinese
    window.get("/lang/en")
    english = window.get("/inbox").get_data(as_text=True)
    assert ">Accept<" in english and "Food business licence" in english and "Wang (window staff)" in english
