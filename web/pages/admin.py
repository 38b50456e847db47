"""Administration (系统管理): the working-day calendar (工作日历), departments, people and their AB backup (AB角),
the service-item catalogue.

Administrators see which years are official (entered) and which provisional
(暂定: computed from the statutory holidays, no make-up working days), look at
a year month by month, mark one day a holiday, a make-up working day (调休) or
a normal day, and import the State Council's schedule from a CSV or JSON file.
Every change is one engine command that also recomputes the open deadlines it
affects; the flash message says how many cases' deadlines moved. A refusal is
told in the page language (the file's problems line by line), never as a code.
"""
from __future__ import annotations

import calendar as month_calendar
import re
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from engine.calendar import PROVISIONAL_SPAN
from engine.errors import EngineError

from ..app import yimen
from ..auth import current_user, roles_required
from ..i18n import language
from ..security import same_site_referrer
from . import bp, refusal_text

KINDS = ("holiday", "workday", "normal")
KIND_LABELS = {"holiday": lazy_gettext("Statutory holiday"), "workday": lazy_gettext("Make-up working day"),
               "normal": lazy_gettext("Normal day")}
KIND_MARKS = {"holiday": lazy_gettext("Off"), "workday": lazy_gettext("Work")}  # 休 / 班, readable without colour
STATUS_LABELS = {"official": lazy_gettext("Official"), "provisional": lazy_gettext("Provisional")}
MONTHS = (lazy_gettext("January"), lazy_gettext("February"), lazy_gettext("March"), lazy_gettext("April"),
          lazy_gettext("May"), lazy_gettext("June"), lazy_gettext("July"), lazy_gettext("August"),
          lazy_gettext("September"), lazy_gettext("October"), lazy_gettext("November"), lazy_gettext("December"))
WEEKDAYS = (lazy_gettext("Mon"), lazy_gettext("Tue"), lazy_gettext("Wed"), lazy_gettext("Thu"),
            lazy_gettext("Fri"), lazy_gettext("Sat"), lazy_gettext("Sun"))
MAX_FILE_BYTES = 1024 * 1024  # a year is a few dozen lines; anything this big is the wrong file
MAX_PROBLEMS_SHOWN = 10
MAX_DAY_NAME = 100  # characters (the size of calendar_day.name)


# --- what the engine says, in the page language ------------------------------------------

def source_label(source: str | None) -> str:
    """Where a year's days came from, for people (the engine keeps a short technical note)."""
    if not source:
        return "-"
    if source == "statutory rule":
        return gettext("Computed from the statutory holidays (no make-up working days)")
    if source == "file":
        return gettext("Imported from a file")
    if source == "admin":
        return gettext("Entered by an administrator")
    if source == "provisional rule + admin":
        return gettext("Statutory holidays, then changed by an administrator")
    if source.startswith("chinesecalendar"):
        return gettext("Built-in holiday data (version %(version)s)", version=source.split(" ", 1)[-1])
    return source


_PROBLEM = re.compile(r"^(line|entry) (\d+): (.*)$")
_NOT_A_DATE = re.compile(r"^'(.*)' is not a date \(YYYY-MM-DD\)$")
_BAD_KIND = re.compile(r"^kind '(.*)' is not one of .*$")
_TWICE = re.compile(r"^(\S+) is listed twice$")


def _problem_text(problem: str) -> str:
    """One bad line of a calendar file, as the engine reports it, in the page language."""
    match = _PROBLEM.match(problem)
    if not match:
        return problem
    where, number, what = match.groups()
    place = gettext("Line %(number)s", number=number) if where == "line" else gettext("Entry %(number)s",
                                                                                       number=number)
    if m := _NOT_A_DATE.match(what):
        return gettext("%(place)s: “%(value)s” is not a date (write it as 2027-02-05)", place=place,
                       value=m.group(1))
    if m := _BAD_KIND.match(what):
        words = _labels()["kind_words"]
        return gettext("%(place)s: the kind “%(value)s” is unknown (write %(holiday)s, %(workday)s or %(normal)s)",
                       place=place, value=m.group(1), **words)
    if m := _TWICE.match(what):
        return gettext("%(place)s: %(day)s is listed twice", place=place, day=m.group(1))
    return f"{place}: {what}"


def calendar_refusal(exc: EngineError) -> str:
    """The engine's refusal of a calendar change, in the page language; the file's problems line by line."""
    message = str(exc)
    problems = exc.details.get("problems") if isinstance(exc.details.get("problems"), list) else None
    if exc.code == "permission_denied":
        return gettext("Only administrators may change the working-day calendar.")
    if exc.details.get("year") and (exc.code == "calendar_missing" or "outside the years" in message):
        # the engine counts working days only inside PROVISIONAL_SPAN, entered years included
        return gettext("The working-day calendar was not changed: Yimen counts working days from %(first)s to "
                       "%(last)s only, and %(year)s is outside.", first=PROVISIONAL_SPAN[0],
                       last=PROVISIONAL_SPAN[1], year=exc.details["year"])
    if exc.code == "invalid_input" and problems:
        shown = [_problem_text(str(p)) for p in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(gettext("and %(count)s more", count=len(problems) - MAX_PROBLEMS_SHOWN))
        return gettext("The calendar file was refused and nothing was changed: %(problems)s",
                       problems=gettext("; ").join(shown))
    if exc.code == "invalid_input":
        if message.startswith("not valid JSON"):
            return gettext("The calendar file was refused and nothing was changed: it is not valid JSON.")
        if message.startswith("a calendar file in JSON"):
            return gettext("The calendar file was refused and nothing was changed: a JSON calendar file is a list "
                           "of entries with date, kind and name.")
        if message == "the calendar file lists no days":
            return gettext("The calendar file was refused and nothing was changed: it lists no days.")
        if message.startswith("calendar files are csv or json"):
            return gettext("Choose CSV or JSON as the file format.")
        if m := _NOT_A_DATE.match(message):
            return gettext("“%(value)s” is not a date: write it as 2027-02-05.", value=m.group(1))
        if message.startswith("kind must be one of"):
            return gettext("Choose statutory holiday, make-up working day or normal day.")
    return gettext("The working-day calendar was not changed: %(reason)s", reason=message)


def recomputed_text(recomputed: dict) -> str:
    """What a change moved: days whose working status changed, cases whose deadlines moved, notices sent."""
    return gettext("%(days)s days changed between working day and day off; the deadlines of %(cases)s cases were "
                   "recomputed and %(notified)s notices sent.", days=recomputed.get("changed_days", 0),
                   cases=recomputed.get("cases", 0), notified=recomputed.get("notified", 0))


# --- the year view ---------------------------------------------------------------------

def _join(values, suffix: str = "") -> str:
    """1、5、8日 in Chinese, 1, 5, 8 in English."""
    if language() == "zh":
        return "、".join(str(v) for v in values) + suffix
    return ", ".join(str(v) for v in values)


def months_of(view: dict) -> list[dict]:
    """Twelve Monday-first month grids of the year view, and per month its named holidays and make-up days."""
    by_date = {d["date"]: d for d in view["days"]}
    provisional = view["status"] == "provisional"
    out = []
    for month in range(1, 13):
        weeks = []
        for week in month_calendar.Calendar(firstweekday=0).monthdayscalendar(view["year"], month):
            cells = []
            for number in week:
                if not number:
                    cells.append(None)
                    continue
                day = by_date[date(view["year"], month, number).isoformat()]
                cells.append({**day, "number": number, "weekend": day["weekday"] >= 5,
                              "provisional": provisional and day["kind"] == "holiday"})
            weeks.append(cells)
        groups: dict[tuple, list[int]] = {}
        for cell in (c for w in weeks for c in w if c and c["kind"] != "normal"):
            groups.setdefault((cell["kind"], cell["name"] or ""), []).append(cell["number"])
        named = [{"kind": kind, "name": name, "days": _join(numbers, "日")} for (kind, name), numbers in groups.items()]
        out.append({"number": month, "name": MONTHS[month - 1], "weeks": weeks, "named": named})
    return out


def _user_names(overview: list[dict]) -> dict[str, str]:
    names = {}
    for user_id in {y["updated_by"] for y in overview if y.get("updated_by")}:
        try:
            names[user_id] = yimen().user(user_id)["name"]
        except EngineError:
            names[user_id] = user_id
    return names


# How a calendar file writes each kind, in the words of the page's language (the engine accepts both)
KIND_WORDS = {"zh": {"holiday": "休", "workday": "班", "normal": "正常"},
              "en": {"holiday": "holiday", "workday": "workday", "normal": "normal"}}


def _labels() -> dict:
    return {"kinds": KIND_LABELS, "marks": KIND_MARKS, "statuses": STATUS_LABELS, "source_label": source_label,
            "kind_words": KIND_WORDS["zh" if language() == "zh" else "en"]}


@bp.get("/calendar")
@roles_required("admin")
def calendar_page():
    overview = sorted(yimen().calendar_overview(), key=lambda y: y["year"], reverse=True)
    official = [y for y in overview if y["status"] == "official"]
    recent = [y for y in overview if y["status"] == "provisional"] + official[:2]  # the years deadlines reach now
    older = official[2:]
    return render_template("calendar.html", recent=recent, older=older, users=_user_names(overview), **_labels())


@bp.get("/calendar/<int:year>")
@roles_required("admin")
def calendar_year_page(year: int):
    try:
        view = yimen().calendar_year_view(year)
    except EngineError:
        abort(404)
    chosen = request.args.get("day", "")
    day = next((d for d in view["days"] if d["date"] == chosen), None)
    return render_template("calendar_year.html", view=view, months=months_of(view), weekdays=WEEKDAYS,
                           day=day, span=PROVISIONAL_SPAN, **_labels())


def _back(year: int | None = None):
    if year is not None and PROVISIONAL_SPAN[0] <= year <= PROVISIONAL_SPAN[1]:
        return redirect(url_for("pages.calendar_year_page", year=year))
    return redirect(url_for("pages.calendar_page"))


@bp.post("/calendar/import")
@roles_required("admin")
def calendar_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(gettext("Choose a calendar file (CSV or JSON)."), "error")
        return _back()
    content = upload.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        flash(gettext("The calendar file was refused and nothing was changed: it is larger than 1 MB."), "error")
        return _back()
    fmt = request.form.get("format") or "auto"
    if fmt == "auto":
        fmt = "json" if upload.filename.lower().endswith(".json") else "csv"
    if fmt not in ("csv", "json"):
        flash(gettext("Choose CSV or JSON as the file format."), "error")
        return _back()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # a CSV saved by a spreadsheet on a Chinese system is often GB18030 (GBK)
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            flash(gettext("The calendar file was refused and nothing was changed: it is not a text file "
                          "(save it as UTF-8 CSV)."), "error")
            return _back()
    try:
        result = yimen().import_calendar(text, fmt, user=current_user()["id"])
    except EngineError as exc:
        flash(calendar_refusal(exc), "error")
        return _back()
    flash(gettext("Imported %(years)s (%(count)s days): ", years=_join(result["imported"]), count=result["days"])
          + recomputed_text(result["recomputed"]), "ok")
    return _back(result["imported"][0] if len(result["imported"]) == 1 else None)


@bp.post("/calendar/days")
@roles_required("admin")
def calendar_set_day():
    f = request.form
    day, kind, name = (f.get("day") or "").strip(), f.get("kind", ""), (f.get("name") or "").strip() or None
    try:
        year = date.fromisoformat(day).year
    except ValueError:
        year = None
    if kind not in KINDS:
        flash(gettext("Choose statutory holiday, make-up working day or normal day."), "error")
        return _back(year)
    if name and len(name) > MAX_DAY_NAME:
        flash(gettext("The name of a day is at most %(count)s characters.", count=MAX_DAY_NAME), "error")
        return _back(year)
    try:
        result = yimen().set_calendar_day(day, kind, name, user=current_user()["id"])
    except EngineError as exc:
        flash(calendar_refusal(exc), "error")
        return _back(year)
    flash(gettext("%(day)s is now: %(kind)s. ", day=result["day"], kind=KIND_LABELS[kind])
          + recomputed_text(result["recomputed"]), "ok")
    return _back(year)


# --- departments, people and the service-item catalogue (系统管理) ------------------------------
# Each change is one engine command (permission check and audit event there); the page checks the form
# first so that an obvious slip is told in the page language, and tells an engine refusal the same way.

LEVELS = ("province", "city", "county", "zone")
LEVEL_LABELS = {"province": lazy_gettext("Province"), "city": lazy_gettext("City"),
                "county": lazy_gettext("County"), "zone": lazy_gettext("Development zone")}
ROLE_LABELS = {"admin": lazy_gettext("Administrator"), "designer": lazy_gettext("Process designer"),
               "window": lazy_gettext("Window staff"), "reviewer": lazy_gettext("Reviewer"),
               "supervisor": lazy_gettext("Supervisor"), "applicant": lazy_gettext("Applicant")}
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_USER_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_ITEM_NUMBERS = {"legal_limit_days": lazy_gettext("Legal time limit (working days)"),
                 "promised_limit_days": lazy_gettext("Promised time limit (working days)"),
                 "warning_days": lazy_gettext("Warning (working days before the limit)")}
_ITEM_TEXTS = {"name": lazy_gettext("Name"), "name_en": lazy_gettext("English name"),
               "legal_basis": lazy_gettext("Legal basis"), "competent_office": lazy_gettext("Competent office"),
               "acceptance_conditions": lazy_gettext("Acceptance conditions"),
               "place_hours": lazy_gettext("Place and hours"), "consultation": lazy_gettext("Consultation"),
               "complaint": lazy_gettext("Complaints")}
_REQUIRED_TEXTS = ("name", "legal_basis", "competent_office")
_ITEM_PROBLEM = re.compile(r"^(\w+): (.*)$")


def _labels_admin() -> dict:
    return {"levels": LEVELS, "level_labels": LEVEL_LABELS, "role_labels": ROLE_LABELS}


def _item_problem(problem: str) -> str:
    """One problem the engine found in an item, in the page language."""
    match = _ITEM_PROBLEM.match(problem)
    if not match:
        return gettext("the entry is not valid")
    field, rule = match.groups()
    label = _ITEM_NUMBERS.get(field) or _ITEM_TEXTS.get(field) or field
    if rule == "required":
        return gettext("%(field)s is required", field=label)
    if rule.startswith("must be a whole number"):
        return gettext("%(field)s must be a whole number", field=label)
    if rule == "cannot exceed the legal limit":
        return gettext("the promised time limit cannot be longer than the legal one")
    if rule.startswith("must end before the promised limit"):
        return gettext("the supplement deadline must end before the promised time limit")
    if "is not a known department" in rule:
        return gettext("the office is not a known department")
    return gettext("%(field)s is not valid", field=label)


def admin_refusal(exc: EngineError) -> str:
    """An engine refusal of an administration change, in the page language."""
    message, field = str(exc), exc.details.get("field")
    if exc.code == "permission_denied":
        return gettext("Only administrators may change departments, people and service items.")
    if exc.code == "invalid_input":
        problems = exc.details.get("problems")
        if isinstance(problems, list) and problems and all(isinstance(p, str) for p in problems):
            return gettext("Nothing was saved: %(problems)s.",
                           problems=gettext("; ").join(_item_problem(p) for p in problems))
        refusal = exc.details.get("refusal")
        if refusal == "own_backup":
            return gettext("Nothing was saved: a person cannot be their own backup.")
        if refusal == "not_staff":
            return gettext("Nothing was saved: the backup person must be a member of staff.")
        if refusal == "backup_absent":
            return gettext("Nothing was saved: the backup person is away too. Choose someone at work.")
        if refusal == "account_inactive":
            return gettext("Nothing was saved: that account is deactivated.")
        if refusal == "required" and field == "backup":
            return gettext("Nothing was saved: choose a backup person to take the steps of someone away.")
        if message.startswith("parent department"):
            return gettext("Nothing was saved: the parent department does not exist (a department cannot be its "
                           "own parent).")
        if message.startswith("department '"):
            return gettext("Nothing was saved: the department does not exist.")
        if message.startswith("a password needs"):
            return gettext("Nothing was saved: a password needs at least %(count)s characters.", count=8)
        if message.startswith("unknown roles"):
            return gettext("Nothing was saved: choose the roles from the list.")
        if "e-mail" in message:
            return gettext("Nothing was saved: the e-mail address is not valid.")
        if message == "you cannot deactivate your own account":
            return gettext("Nothing was saved: you cannot deactivate your own account.")
    if exc.code == "not_found":
        return gettext("Nothing was saved: that person does not exist.") if exc.details.get("what") == "user" \
            else refusal_text(exc)
    return refusal_text(exc)


def _admin_act(fn, *args, success: str, **kwargs) -> bool:
    try:
        fn(*args, user=current_user()["id"], **kwargs)
    except EngineError as exc:
        flash(admin_refusal(exc), "error")
        return False
    flash(success, "ok")
    return True


def _department_names() -> dict[str, dict]:
    return {d["id"]: d for d in yimen().departments()}


@bp.get("/admin")
@roles_required("admin")
def admin_page():
    y = yimen()
    return render_template("admin_home.html", departments=len(y.departments()), users=len(y.users()),
                           items=len(y.items()))


@bp.get("/admin/departments")
@roles_required("admin")
def admin_departments():
    departments = yimen().departments()
    chosen = next((d for d in departments if d["id"] == request.args.get("edit")), None)
    return render_template("admin_departments.html", departments=departments,
                           by_id={d["id"]: d for d in departments}, chosen=chosen, **_labels_admin())


@bp.post("/admin/departments")
@roles_required("admin")
def admin_save_department():
    f = request.form
    code, name = (f.get("id") or "").strip(), (f.get("name") or "").strip()
    level, parent = f.get("level", ""), (f.get("parent") or "").strip() or None
    editing = f.get("mode") == "edit"
    back = redirect(url_for("pages.admin_departments", edit=code) if editing else url_for("pages.admin_departments"))
    known = _department_names()
    if not _CODE.match(code):
        flash(gettext("Nothing was saved: the department code is 1 to 40 letters, digits, “-” or “_”."), "error")
        return back
    if not editing and code in known:
        flash(gettext("Nothing was saved: a department with the code %(code)s exists already; edit it instead.",
                      code=code), "error")
        return back
    if editing and code not in known:
        abort(404)
    if not name:
        flash(gettext("Nothing was saved: the department needs a name."), "error")
        return back
    if level not in LEVELS:
        flash(gettext("Nothing was saved: choose the level (province, city or county)."), "error")
        return back
    if _admin_act(yimen().save_department, code, name, level, parent, name_en=(f.get("name_en") or "").strip() or None,
                  success=gettext("The department %(name)s was saved.", name=name)):
        return redirect(url_for("pages.admin_departments"))
    return back


@bp.get("/admin/users")
@roles_required("admin")
def admin_users():
    people = yimen().users()
    return render_template("admin_users.html", people=people, names={p["id"]: p for p in people},
                           departments=_department_names(), **_labels_admin())


def _person(user_id: str) -> dict:
    try:
        return yimen().user(user_id)
    except EngineError:
        abort(404)


@bp.get("/admin/users/new")
@bp.get("/admin/users/<user_id>")
@roles_required("admin")
def admin_user(user_id: str | None = None):
    person = _person(user_id) if user_id else None
    staff = [p for p in yimen().users() if p["active"] and p["id"] != user_id
             and ({"window", "reviewer", "supervisor", "admin"} & set(p["roles"]) or p["admin"])]
    return render_template("admin_user.html", person=person, staff=staff, departments=yimen().departments(),
                           roles=tuple(ROLE_LABELS), **_labels_admin())


def _groups(text: str) -> list[str]:
    return [g.strip() for g in re.split(r"[,，;；\s]+", text or "") if g.strip()]


@bp.post("/admin/users")
@roles_required("admin")
def admin_save_user():
    f = request.form
    user_id, editing = (f.get("id") or "").strip(), f.get("mode") == "edit"
    back = redirect(url_for("pages.admin_user", user_id=user_id) if editing else url_for("pages.admin_user"))
    if not _USER_ID.match(user_id):
        flash(gettext("Nothing was saved: the sign-in name is 1 to 100 letters, digits, “.”, “-” or “_”."),
              "error")
        return back
    existing = {p["id"]: p for p in yimen().users()}
    if not editing and user_id in existing:
        flash(gettext("Nothing was saved: the sign-in name %(id)s is taken; edit that person instead.",
                      id=user_id), "error")
        return back
    if editing and user_id not in existing:
        abort(404)
    name = (f.get("name") or "").strip()
    if not name:
        flash(gettext("Nothing was saved: enter the person's name."), "error")
        return back
    roles = [r for r in f.getlist("roles") if r]
    if not roles or any(r not in ROLE_LABELS for r in roles):
        flash(gettext("Nothing was saved: choose at least one role from the list."), "error")
        return back
    password = f.get("password") or None
    if not editing and not password:
        flash(gettext("Nothing was saved: a new account needs a first password (at least %(count)s characters).",
                      count=8), "error")
        return back
    if user_id == current_user()["id"] and "admin" not in roles:
        flash(gettext("Nothing was saved: you cannot take the administrator role from yourself."), "error")
        return back
    ok = _admin_act(yimen().add_user, user_id, groups=_groups(f.get("groups", "")), admin="admin" in roles,
                    display_name=name, display_name_en=(f.get("name_en") or "").strip() or None, roles=roles,
                    department=f.get("department") or None, email=(f.get("email") or "").strip() or None,
                    phone=(f.get("phone") or "").strip() or None, password=password,
                    success=gettext("%(name)s was saved.", name=name))
    return redirect(url_for("pages.admin_user", user_id=user_id)) if ok else back


@bp.post("/admin/users/<user_id>/backup")
@roles_required("admin")
def admin_user_backup(user_id: str):
    _person(user_id)
    backup, absent = (request.form.get("backup") or "").strip() or None, request.form.get("absent") == "yes"
    try:
        result = yimen().set_backup(user_id, backup, absent, user=current_user()["id"])
    except EngineError as exc:
        flash(admin_refusal(exc), "error")
    else:
        text = gettext("The backup person was saved.")
        if result["moved"]:
            text += " " + gettext("%(count)s open steps were handed to the backup.", count=len(result["moved"]))
        if result["kept"]:
            text += " " + gettext("%(count)s steps stay: the backup may not handle them.", count=len(result["kept"]))
        flash(text, "ok")
    return redirect(url_for("pages.admin_user", user_id=user_id))


@bp.post("/admin/users/<user_id>/active")
@roles_required("admin")
def admin_user_active(user_id: str):
    _person(user_id)
    active = request.form.get("active") == "yes"
    _admin_act(yimen().set_user_active, user_id, active,
               success=gettext("The account is active again.") if active else gettext("The account was deactivated."))
    if request.form.get("back") == "list":  # the 停用/启用 button on the list of people
        return redirect(url_for("pages.admin_users"))
    return redirect(url_for("pages.admin_user", user_id=user_id))


@bp.get("/admin/items")
@roles_required("admin")
def admin_items():
    return render_template("admin_items.html", items=yimen().items(), departments=_department_names())


def _item(code: str) -> dict:
    try:
        return yimen().item(code)
    except EngineError:
        abort(404)


@bp.get("/admin/items/<code>")
@roles_required("admin")
def admin_item(code: str):
    item = _item(code)
    processes = yimen().process_versions()
    return render_template("admin_item.html", item=item, processes=processes, departments=yimen().departments(),
                           numbers=_ITEM_NUMBERS, texts=_ITEM_TEXTS, **_labels_admin())


def _whole(text: str | None) -> int | None | str:
    """A form's whole number: the number, None when empty, or "bad"."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else "bad"


@bp.post("/admin/items/<code>")
@roles_required("admin")
def admin_save_item(code: str):
    item, f = _item(code), request.form
    changed = {k: v for k, v in item.items() if k != "item_type_name"}
    for field in _ITEM_TEXTS:
        changed[field] = (f.get(field) or "").strip() or None
    for field in _REQUIRED_TEXTS:
        if not changed[field]:
            flash(gettext("Nothing was saved: %(field)s is required.", field=_ITEM_TEXTS[field]), "error")
            return redirect(url_for("pages.admin_item", code=code))
    for field, label in _ITEM_NUMBERS.items():
        value = _whole(f.get(field))
        if value == "bad" or (value is None and field != "warning_days"):
            flash(gettext("Nothing was saved: %(field)s must be a whole number.", field=label), "error")
            return redirect(url_for("pages.admin_item", code=code))
        changed[field] = value
    office = f.get("office_code") or ""
    if office not in _department_names():
        flash(gettext("Nothing was saved: choose the office from the list of departments."), "error")
        return redirect(url_for("pages.admin_item", code=code))
    changed["office_code"] = office
    _admin_act(yimen().save_item, changed, success=gettext("The service item was saved."))
    return redirect(url_for("pages.admin_item", code=code))


@bp.post("/admin/items/<code>/enabled")
@roles_required("admin")
def admin_item_enabled(code: str):
    _item(code)
    enabled = request.form.get("enabled") == "yes"
    _admin_act(yimen().set_item_enabled, code, enabled,
               success=gettext("The service item is open to applications again.") if enabled
               else gettext("The service item was closed to new applications."))
    return redirect(same_site_referrer(request.referrer, request.host) or url_for("pages.admin_items"))


@bp.post("/admin/items/<code>/bind")
@roles_required("admin")
def admin_item_bind(code: str):
    _item(code)
    key = request.form.get("process_key") or ""
    version = _whole(request.form.get("process_version"))
    if not key or version == "bad" or version == 0:
        flash(gettext("Nothing was saved: choose a deployed process and, if you pin one, a version number."),
              "error")
        return redirect(url_for("pages.admin_item", code=code))
    _admin_act(yimen().bind_item, code, key, version, success=gettext("The process was bound to the service item."))
    return redirect(url_for("pages.admin_item", code=code))
