"""The page language through Flask-Babel: Chinese by default, English on request (``/lang/en``).

Templates and views write English inside ``_()``; the Chinese lives in
``web/translations/zh/LC_MESSAGES/messages.po``. The ``.po`` file is the only
source: it is compiled to ``.mo`` in the instance folder when the app starts
(and again whenever it changes), so there is no build step and no binary in git.
A text missing from the catalogue shows in English, never an error.

Engine refusals are told from their code and structured details
(``refusal_message``): the engine's own English message is for logs and the
CLI, and may quote ids; people read a sentence that says what went wrong and
what to do, in the page language (the API's by ``Accept-Language``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, g, request, session
from flask_babel import Babel, gettext
from markupsafe import Markup, escape

from engine.db import instance_path
from engine.errors import fill

LANGUAGES = ("zh", "en")
SOURCE = Path(__file__).parent / "translations"
BEIJING = ZoneInfo("Asia/Shanghai")
babel = Babel()


def language() -> str:
    """The pages': the visitor's choice (``/lang/en``), Chinese by default; the API's: ``Accept-Language``, English
    by default (other systems read it)."""
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES, default="en") or "en"
    lang = session.get("lang") or request.args.get("lang")
    return lang if lang in LANGUAGES else "zh"


def localized(row: dict | None, key: str = "name") -> str:
    """The name of an item, material, department, person or step in the page language.

    The Chinese name (``name``) is the primary one; the English one (``name_en``) is optional and shown in the
    English pages when there is one.
    """
    if not row:
        return ""
    if language() == "en" and row.get(f"{key}_en"):
        return row[f"{key}_en"]
    return row.get(key) or ""


# --- refusals ---------------------------------------------------------------------------
# One sentence per code and per sub-code (``details['refusal']``, see engine/errors.py), English here and
# Chinese in the catalogue. Each says what happened and what to do; none quotes an id or the code.
REFUSAL_TEXTS = {
    # 放权: the implementation list (engine.levels) and an application's region
    "invalid_input:unknown_region": "The region is not a county, district or development zone known here: choose "
                                    "one from the list.",
    "invalid_input:unknown_item": "Nothing was changed: the service item is not in the catalogue.",
    "invalid_input:unknown_handler": "Nothing was changed: the handling office must be a county, district or "
                                     "development zone office.",
    "invalid_input:zone_mode": "Nothing was changed: the development-zone mode is for a development zone only.",
    "invalid_input:no_item_office": "Nothing was changed: the item's own office is not a department, so it cannot "
                                    "entrust, approve or take back the item.",
    "invalid_input:review_report_process": "Nothing was changed: review and report needs the item on the standard "
                                           "approval process, whose approval step goes to the city office.",
    "invalid_input:unknown_field": "Nothing was changed: the entry has fields that are not known.",
    "invalid_input:bad_file": "Nothing was changed: the file has %(count)s problems. Correct it and import it "
                              "again.",
    "invalid_input": "The entry was refused and nothing was changed: check what you entered and send it again.",
    "invalid_input:required": "Nothing was changed: %(field)s is required. Fill it in and send it again.",
    "invalid_input:too_long": "Nothing was changed: %(field)s is longer than %(limit)s characters. Shorten it and "
                              "send it again.",
    "invalid_input:not_a_material": "Nothing was changed: “%(materials)s” is not a material of this item. Choose "
                                    "the materials from the list.",
    "invalid_input:material_twice": "Nothing was changed: “%(materials)s” was given twice. Hand in each material "
                                    "once.",
    "invalid_input:one_of": "Nothing was changed: %(field)s has a value that is not allowed. Choose or enter one "
                            "of the values offered.",
    "invalid_input:file_too_large": "Nothing was changed: the file %(file)s is larger than %(limit)s MB. Hand in a "
                                    "smaller file (a scan at a lower resolution).",
    "invalid_input:over_limit": "Nothing was changed: this would pass one of the service's limits (at most "
                                "%(limit)s). Split it into smaller parts, or ask the process designer.",
    "invalid_input:over_budget": "Nothing was changed: the step took longer than the %(limit)s seconds one action "
                                 "may take and was undone. Try again; if it happens again, tell the process designer.",
    "invalid_input:out_of_range": "Nothing was changed: %(field)s is outside the range allowed. Choose another date.",
    "permission_denied:no_authorisation": "Not submitted: you hold no authorisation in force from this applicant for "
                                          "this item. The applicant grants one online, or signs one at the window.",
    "permission_denied:identity_not_verified": "Your identity has not been verified in person yet. Have it verified "
                                               "at the window, or sign a paper authorisation there.",
    "permission_denied": "You are not entitled to do this, and nothing was changed. If it is part of your work, ask "
                         "an administrator for the role, or ask whoever holds the case to hand it to you.",
    "permission_denied:not_your_task": "This step is not in your hands: it waits for another person or group. "
                                       "Open it from your inbox if it is offered to you, or ask its holder to hand "
                                       "it over.",
    "permission_denied:not_applicant": "Only the applicant or their agent may do this for the case.",
    "permission_denied:not_handling": "You are not handling this case, so you may not do this. Ask the staff "
                                      "handling it, or the supervision office.",
    "permission_denied:receiver_not_entitled": "The step cannot go to that person: they are not entitled to handle "
                                               "it. Choose a colleague of the step's department or group.",
    "not_found:unknown_user": "Nothing was changed: one of the people chosen has no account here. Choose the "
                              "people from the list of staff.",
    "invalid_input:notice_category": "The notice settings were not saved and nothing was changed: there is no such "
                                     "category of notice. Choose among the categories shown on your account page.",
    "invalid_input:notice_choice": "The notice settings were not saved and nothing was changed: e-mail and SMS can "
                                   "only be switched on or off for each category of notice.",
    "invalid_input:not_staff": "Nothing was changed: a case is copied to members of staff only. Choose the people "
                               "from the list of staff.",
    "not_found": "Not found: %(what)s. It may have been removed, or it is not visible to you; go back to the list "
                 "and open it from there.",
    "invalid_state": "This cannot be done now, and nothing was changed: the case or step has moved on. Reload the "
                     "page to see where it stands.",
    "invalid_state:materials_missing": "Required materials are missing: %(materials)s. Send the applicant a "
                                       "one-time correction notice listing them, or accept with materials to "
                                       "follow if the item allows it.",
    "invalid_state:wrong_status": "This cannot be done while the case is “%(status)s”. Reload the page to see what "
                                  "can be done now.",
    "invalid_state:task_closed": "This step is already finished, and nothing was changed. Reload the page: the "
                                 "case has moved on.",
    "invalid_state:already_claimed": "Someone else has already claimed this step and is handling it. Ask them or "
                                     "your head of section to hand it over if you should take it.",
    "invalid_state:not_claimed": "Claim the step first, then try again.",
    "invalid_state:delegated": "The step is delegated: the delegate gives an opinion first, and once it comes back "
                               "it can be decided or handed over.",
    "invalid_state:already_assigned": "The step is already in that person's hands.",
    "invalid_state:special_procedure_running": "A special procedure (on-site inspection, testing, expert review) is "
                                               "running on this case: record its result first, then finish the "
                                               "step.",
    "invalid_state:correction_already_sent": "The one-time correction notice was already sent for this case. A "
                                             "second notice needs the reason the first could not name these "
                                             "problems.",
    "invalid_state:item_closed": "This service item is not open for applications at present. Read the service "
                                 "guide or ask the service centre.",
    "invalid_state:tolerance_not_allowed": "This item does not allow acceptance with materials to follow: send a "
                                           "correction notice instead.",
    "invalid_state:intolerable_missing": "These missing materials are key materials and cannot follow later: "
                                         "%(materials)s. Send a correction notice instead.",
    "invalid_state:nothing_missing": "No material is missing: accept the case normally.",
    "invalid_state:bad_credit": "Because of the applicant's credit record this procedure is not available: use "
                                "the standard procedure.",
    "invalid_state:already_extended": "The case was already extended once; the law allows one extension.",
    "invalid_state:extension_waiting": "An extension request for this case is already waiting for the head of "
                                       "office.",
    "invalid_state:already_rated": "This case was already rated; each case is rated once.",
    "invalid_state:not_rated_yet": "The case can be rated once it has ended.",
    "invalid_state:not_passed": "The case has not passed that step: it can only be returned to an earlier step it "
                                "went through.",
    # 一件事 / 一链办理 (engine.commands.bundles)
    "invalid_state:bundle_member": "This case is part of the bundle application %(bundle)s: it is accepted, refused "
                                   "or corrected, and its result delivered, together with the other items on the "
                                   "bundle application's page.",
    "invalid_state:bundle_levels_mixed": "The bundle application was not submitted and nothing was kept: its items "
                                         "would be handled at different levels (%(items)s). Apply for these items "
                                         "one by one.",
    "invalid_state:bundle_not_concluded": "The results of a bundle are delivered together: these cases have not "
                                          "concluded yet: %(cases)s.",
    "invalid_input:bundle_levels_differ": "The bundle was not saved: its items are handled at different levels "
                                          "(%(items)s). Mark it cross-level only where the items' implementation "
                                          "modes allow it.",
    "invalid_input:bundle_too_small": "The bundle was not saved: choose at least two different service items.",
    "invalid_input:not_shared": "The bundle was not saved: “%(materials)s” is not a material of two of its items, so "
                                "it cannot be shared.",
    "invalid_input:form_fields": "The step's form was not saved, and nothing was changed: %(problems)s. Correct "
                                 "these fields and submit again.",
    "conflict": "Someone else changed this at the same moment, so nothing of yours was saved. Reload the page and "
                "try again.",
    "database_busy": "The system is busy right now: nothing was changed. Please try again in a moment.",
    "calendar_missing": "The working-day calendar cannot count into %(year)s yet: an administrator enters that "
                        "year's holiday schedule on the working-day calendar page, then try again.",
    "bpmn_invalid": "The diagram was refused and nothing was deployed: %(count)s problems were found. Correct them "
                    "in the modeler and upload the diagram again.",
    "expression_error": "An expression in the process diagram could not be evaluated, and nothing was changed. Tell "
                        "the process designer.",
    "handler_failed": "An automatic step failed. It is retried, and the supervision office sees it among the "
                      "incidents.",
    "": "The request was refused and nothing was changed.",
}

FIELDS = {  # details['field'] -> what the sentence calls it
    "applicant_name": "the applicant's name", "id_no": "the applicant's ID number", "reason": "the reason",
    "opinion": "the opinion", "note": "the note", "comment": "the comment", "problems": "the problems to correct",
    "materials": "the materials", "supplement_days": "the supplement period", "score": "the score",
    "user": "the person", "users": "the people", "result": "the result", "content": "the content",
    "addressee": "the department or person", "deadline_days": "the deadline", "expected_days": "the expected duration",
    "reply": "the answer", "valid_until": "the end of validity", "valid_from": "the start of validity",
    "scan": "the scan of the signed paper", "agent": "the agent", "scope": "the service items", "kind": "the kind",
    "contact": "the contact phone", "question": "the question", "answer": "the answer", "department": "the office",
    "name": "the name",
    "region": "the region", "mode": "the implementation mode", "handler": "the handling office",
    "item": "the service item", "level": "the level", "entry": "the entry", "format": "the file format",
}
THINGS = {  # details['what'] -> what was not found
    "case": "the case", "task": "the step", "user": "the person", "item": "the service item", "card": "the card",
    "order": "the supervision order", "notification": "the notification", "authorisation": "the authorisation",
    "enquiry": "the enquiry", "implementation": "the entry of the implementation list", "bundle": "the bundle",
    "bundle_application": "the bundle application",
}


FORM_PROBLEMS = {  # details['fields'][i]['problem'] -> what is wrong with a step form's field
    "required": "“%(label)s” must be filled in", "long": "“%(label)s” must be a whole number",
    "double": "“%(label)s” must be a number", "date": "“%(label)s” must be a date (year-month-day)",
    "enum": "“%(label)s” must be one of the offered choices", "boolean": "“%(label)s” must be yes or no",
    "string": "“%(label)s” is not valid",
}


def _form_problems(fields) -> str:
    """The fields of a step form that were refused, each with its problem, in the current language."""
    if not isinstance(fields, list):
        return ""
    told = [gettext(FORM_PROBLEMS.get(str(f.get("problem")), FORM_PROBLEMS["string"]), label=str(f.get("label", "")))
            for f in fields if isinstance(f, dict)]
    return gettext("; ").join(told)


def file_columns(columns, headings) -> str:
    """The columns an imported file names, as the page's language writes them: the Chinese headings
    (``engine.tabular``) on the Chinese pages, the codes on the English ones."""
    if language() == "zh":
        return "、".join(headings[c][0] for c in columns)
    return ", ".join(columns)


def refusal_message(code: str, details: dict | None = None, material_names=None, reason: str | None = None) -> str:
    """The sentence telling an engine refusal (``code`` and its ``details``) in the current language.

    ``material_names`` maps a material's Chinese name to the one to show (the English pages' names). An input
    refusal without a sentence of its own names the engine's ``reason`` in English (it names the field and the
    rule, never an id); in Chinese it asks to check the entry.
    """
    details = details or {}
    refusal = details.get("refusal")
    text = REFUSAL_TEXTS.get(f"{code}:{refusal}") if isinstance(refusal, str) else None
    if text is None and code == "invalid_input" and reason and language() == "en":
        return f"{gettext('The entry was refused and nothing was changed:')} {reason}"
    if text is None:
        text = REFUSAL_TEXTS.get(code, REFUSAL_TEXTS[""])
    names = material_names or {}
    materials = details.get("materials") or details.get("missing") or []
    values = {
        "field": gettext(FIELDS.get(str(details.get("field")), "the entry")),
        "what": gettext(THINGS.get(str(details.get("what")), "what you asked for")),
        "materials": gettext(", ").join(names.get(str(m), str(m)) for m in materials) if isinstance(
            materials, list) else "",
        "status": gettext(str(details.get("status") or "")) if details.get("status") else "",
        "limit": details.get("limit", ""), "year": details.get("year", ""), "file": details.get("file", ""),
        "count": len(details.get("problems") or []) or 1,
        "problems": _form_problems(details.get("fields")),
        "items": _levelled_items(details.get("items")),
        "bundle": str(details.get("bundle_number") or ""),
        "cases": gettext(", ").join(str(c) for c in details.get("cases") or [] if isinstance(c, str)),
    }
    return gettext(text, **values)


def problem_text(problem: dict, html: bool = True) -> str:
    """A deployment problem or warning (``engine.errors.Problem.to_dict()``) in the current language.

    The engine's template (our English sentence with ``{name}`` placeholders) is looked up in the catalogue and
    filled with its values by ``engine.errors.fill``, which substitutes known names only (no attribute access, no
    format specs: the values come from the uploaded diagram). With ``html`` the sentence is escaped and every
    value (an id, a name or expression from the diagram, a tool's message) shows in ``<code>``; without it, it is
    plain text (the API). A problem stored before templates existed shows its English ``reason``.
    """
    template = problem.get("template") or problem.get("reason") or ""
    params = problem.get("params") if isinstance(problem.get("params"), dict) else {}
    if not template:
        return ""
    if html:
        return Markup(fill(gettext(template), params, translate=gettext, literal=lambda t: str(escape(t)),
                           value=lambda v: f"<code>{escape(v)}</code>"))
    return fill(gettext(template), params, translate=gettext)


def _levelled_items(items) -> str:
    """A bundle's items with the level each is handled at: 食品经营许可（市级）、……"""
    if not isinstance(items, list):
        return ""
    shown = []
    for entry in items:
        if isinstance(entry, dict):
            name = localized(entry) or str(entry.get("code") or "")
            shown.append(gettext("%(name)s (%(level)s)", name=name, level=gettext(str(entry.get("level") or ""))))
    return gettext(", ").join(shown)


def compile_catalogues(target: Path) -> Path:
    """Compile every ``.po`` under ``web/translations`` into ``target`` when it is newer than its ``.mo``."""
    for po in SOURCE.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        partial = mo.with_suffix(".mo.part")
        with partial.open("wb") as out:
            write_mo(out, catalog)
        partial.replace(mo)  # several processes may start at once; each sees a whole file
    return target


def local_time(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC; people read them in Beijing time."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING).strftime(fmt)


def translate(text: str | None) -> str:
    """The ``tr`` filter for values that are not literals (a status, a card colour, a flash message).

    Unlike ``_()`` in templates it returns a plain string, so the value is
    still escaped: a flash message may quote what a user typed. A message that is already markup (a deployment
    warning from ``problem_text``, whose values are escaped) shows as it is.
    """
    if hasattr(text, "__html__"):
        return text
    return gettext(text) if text else ""


ACTIONS = {  # audit events' actions -> what the audit page calls them
    "audit.rotate_key": "Audit key rotated", "calendar.import": "Calendar imported",
    "calendar.seed": "Calendar seeded", "levels.set": "Implementation entry set",
    "levels.remove": "Implementation entry removed", "levels.import": "Implementation list imported", "calendar.set_day": "Calendar day set", "card.appeal": "Card appealed",
    "card.confirm": "Card confirmed", "card.decide_appeal": "Appeal decided", "case.accept": "Accepted",
    "case.accept_with_missing": "Accepted with materials to follow", "case.carbon_copy": "Copied",
    "case.credit_check": "Credit checked", "case.decide": "Decided", "case.not_accept": "Not accepted",
    "case.rate": "Rated", "case.request_correction": "Correction requested",
    "case.request_extension": "Extension requested", "case.resubmit": "Resubmitted",
    "case.special_procedure.end": "Special procedure ended",
    "case.special_procedure.start": "Special procedure started", "case.submit": "Submitted",
    "case.supplement": "Materials handed in", "case.terminate": "Case terminated", "case.urge": "Urged",
    "case.verify": "Commitment verified", "case.withdraw": "Application withdrawn",
    "clock.advance": "Clock advanced", "commitment.record_paper": "Paper commitment recorded",
    "commitment.sign": "Commitment signed", "credit.import": "Credit list imported",
    "bundle.accept": "Bundle accepted", "bundle.apply": "Bundle applied for", "bundle.choose_delivery": "Delivery chosen",
    "bundle.delivered": "Delivered", "bundle.dispatch": "Dispatched", "bundle.not_accept": "Not accepted",
    "bundle.received": "Received", "bundle.request_correction": "Correction requested", "bundle.save": "Bundle saved",
    "delivery.choose": "Delivery chosen", "delivery.delivered": "Delivered", "delivery.dispatch": "Dispatched",
    "delivery.received": "Received", "department.save": "Department saved", "deploy": "Deployed",
    "filing.confirm": "Filing confirmed", "filing.reopen": "Filing reopened", "incident.retry": "Incident retried",
    "instance.start": "Process started", "instance.terminate": "Process terminated", "item.bind": "Item bound",
    "item.enable": "Item enabled or disabled", "item.import": "Items imported", "item.save": "Item saved",
    "job.retry": "Job retried", "licence.issue": "Licence issued", "linkage.feedback": "Linkage feedback",
    "linkage.import": "Linkage list imported", "linkage.open": "Linkage push opened",
    "message.correlate": "Message received", "rectification.close": "Rectification closed",
    "rectification.reply": "Rectification answered", "reform.item_settings": "Reform settings saved",
    "signal.broadcast": "Signal sent", "supervision.answer": "Order answered", "supervision.close": "Order closed",
    "supervision.order": "Supervision order issued", "sweep.incident": "Sweep incident",
    "task.add_signer": "Signer added", "task.claim": "Claimed", "task.complete": "Step completed",
    "task.delegate": "Delegated", "task.remove_signer": "Signer removed", "task.return": "Returned",
    "task.transfer": "Transferred", "task.unclaim": "Given back", "task.withdraw": "Withdrawn",
    "timer.fire": "Timer fired", "token.create": "Token created", "token.revoke": "Token revoked",
    "user.active": "Account activated or deactivated", "user.backup": "Backup person set",
    "user.password": "Password changed", "user.save": "User saved", "user.sign_out": "Signed out",
    "user.sign_out_everywhere": "Signed out everywhere",
}


def action_label(action: str | None) -> str:
    """An audit event's action as people read it (``case.accept`` is 受理); an unknown one as recorded."""
    return gettext(ACTIONS[action]) if action in ACTIONS else (action or "")


def _cached(key: str, load):
    """Per request: the departments, items or people a page names are read once."""
    if key not in g:
        setattr(g, key, load())
    return getattr(g, key)


def person(user_id: str | None) -> str:
    """The name of a person (never the user id where a name is known) in the page language."""
    if not user_id:
        return ""
    if user_id == "system":  # what the engine did by itself (sweeps, timers, deemed acceptance)
        return gettext("System")
    known = _cached("_yimen_people", dict)
    if user_id not in known:
        known.update(current_app.extensions["yimen"].user_names([user_id]))
        known.setdefault(user_id, {"name": user_id})
    return localized(known[user_id])


def department_name(code: str | None) -> str:
    """A department's (office's) name for its code, in the page language."""
    if not code:
        return ""
    found = _cached("_yimen_departments", lambda: {d["id"]: d for d in current_app.extensions["yimen"].departments()})
    return localized(found.get(code)) or code


def item_name(code: str | None) -> str:
    """A service item's name for its code, in the page language."""
    if not code:
        return ""
    found = _cached("_yimen_items", lambda: {i["code"]: i for i in current_app.extensions["yimen"].items()})
    return localized(found.get(code)) or code


def init_app(app) -> None:
    target = compile_catalogues(Path(app.config.get("YIMEN_TRANSLATIONS") or instance_path() / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    babel.init_app(app, locale_selector=language)
    app.jinja_env.globals.update(language=language, person=person, department_name=department_name,
                                 item_name=item_name, localized=localized,
                                 action_label=action_label)
    app.jinja_env.filters["named"] = localized
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["tr"] = translate
