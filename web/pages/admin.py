"""Administration (系统管理): the working-day calendar (工作日历).

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
from . import bp

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
        return gettext("%(place)s: the kind “%(value)s” is unknown (write holiday, workday or normal)", place=place,
                       value=m.group(1))
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


def _labels() -> dict:
    return {"kinds": KIND_LABELS, "marks": KIND_MARKS, "statuses": STATUS_LABELS, "source_label": source_label}


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
