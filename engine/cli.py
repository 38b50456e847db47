"""The ``yimen`` command line.

Every command prints JSON (one line with ``--json``, indented otherwise) and
exits non-zero with ``{"error": {...}}`` on failure. Without ``--user`` a
command acts as the local administrator.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError

from .clock import parse_instant
from .errors import EngineError, ValidationError


def _json_arg(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--data is not valid JSON: {exc.msg} at position {exc.pos}") from exc


def _instant(text: str | None):
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ValidationError(f"'{text}' is not an ISO 8601 date-time") from exc


def _common_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes. Only the top level sets defaults, so an option given
    before a sub-command is not overwritten by the sub-command's own (absent) copy."""
    extra = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument("--json", action="store_true", help="print one line of JSON", **extra)
    parser.add_argument("--user", help="act as this user (default: the local administrator)", **extra)
    parser.add_argument("--database-url", help="overrides YIMEN_DATABASE_URL", **extra)


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, defaults=False)

    parser = argparse.ArgumentParser(prog="yimen", description="Yimen (一门) approval engine")
    _common_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("deploy", parents=[common], help="deploy BPMN/DMN files")
    p.add_argument("files", nargs="+")
    p.add_argument("--name")
    p.add_argument("--allow-scripts", action="store_true", help="allow script tasks (administrators only)")

    p = sub.add_parser("start", parents=[common], help="start an instance")
    p.add_argument("key")
    p.add_argument("--data")
    p.add_argument("--business-key")
    p.add_argument("--version", type=int)

    p = sub.add_parser("tasks", parents=[common], help="list open tasks")
    p.add_argument("--instance", type=int)
    p.add_argument("--group")
    p.add_argument("--for", dest="for_user", help="inbox of this user (default: --user)")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--offset", type=int, default=0)

    p = sub.add_parser("claim", parents=[common], help="claim a task")
    p.add_argument("task")
    p = sub.add_parser("unclaim", parents=[common], help="give a claimed task back")
    p.add_argument("task")
    p = sub.add_parser("complete", parents=[common], help="complete a task")
    p.add_argument("task")
    p.add_argument("--data")

    p = sub.add_parser("transfer", parents=[common], help="transfer a task to another user (转办)")
    p.add_argument("task")
    p.add_argument("--to", required=True)
    p.add_argument("--reason")
    p = sub.add_parser("delegate", parents=[common], help="delegate a task; it comes back to you (委派)")
    p.add_argument("task")
    p.add_argument("--to", required=True)
    p.add_argument("--note")
    p = sub.add_parser("return", parents=[common], help="return the case to an earlier step (退回)")
    p.add_argument("task")
    p.add_argument("--to", required=True, help="element id of the earlier user step")
    p.add_argument("--reason", required=True)
    p = sub.add_parser("withdraw", parents=[common], help="withdraw your last completion (撤回)")
    p.add_argument("task", help="the task you completed")
    p = sub.add_parser("add-signer", parents=[common], help="add a signer to a multi-person step (加签)")
    p.add_argument("task")
    p.add_argument("--signer", required=True)
    p.add_argument("--position", choices=["before", "after"], default="after")
    p = sub.add_parser("remove-signer", parents=[common], help="remove a signer from a multi-person step (减签)")
    p.add_argument("task")
    p.add_argument("--signer", required=True)

    p = sub.add_parser("cases", parents=[common], help="cases (办件): apply, window decisions, opinions, ratings")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("submit", parents=[common], help="apply for a service item")
    c.add_argument("item")
    c.add_argument("--applicant", required=True, help='JSON, e.g. {"name": "张三", "user": "zhang"}')
    c.add_argument("--agent", help="JSON of the agent (代办员)")
    c.add_argument("--material", action="append", default=[], metavar="NAME=PATH",
                   help="a material and the file that carries it (repeatable)")
    c.add_argument("--form", help="JSON form data")
    c = csub.add_parser("show", parents=[common], help="show a case")
    c.add_argument("case", type=int)
    c = csub.add_parser("accept", parents=[common], help="受理: accept at the window")
    c.add_argument("case", type=int)
    c.add_argument("--opinion")
    c = csub.add_parser("not-accept", parents=[common], help="不予受理: refuse with the reason")
    c.add_argument("case", type=int)
    c.add_argument("--reason", required=True)
    c.add_argument("--competent-office")
    c = csub.add_parser("correction", parents=[common], help="补正: one notice with every problem")
    c.add_argument("case", type=int)
    c.add_argument("--problem", action="append", required=True, metavar="[MATERIAL:]TEXT")
    c.add_argument("--second-reason", help="why an earlier correction notice could not name these problems")
    c = csub.add_parser("resubmit", parents=[common], help="the applicant answers a correction notice (补正)")
    c.add_argument("case", type=int)
    c.add_argument("--material", action="append", default=[], metavar="NAME=PATH")
    c.add_argument("--note")
    c = csub.add_parser("rate", parents=[common], help="好差评: rate a concluded case 1-5 (applicant)")
    c.add_argument("case", type=int)
    c.add_argument("score", type=int)
    c.add_argument("--comment")
    c = csub.add_parser("tolerate", parents=[common], help="容缺受理: accept with tolerable materials missing")
    c.add_argument("case", type=int)
    c.add_argument("--days", type=int)
    c.add_argument("--opinion")
    c = csub.add_parser("supplement", parents=[common], help="hand in missing materials")
    c.add_argument("case", type=int)
    c.add_argument("--material", action="append", required=True, metavar="NAME=PATH")
    c = csub.add_parser("decide", parents=[common], help="approve or reject a review step with an opinion")
    c.add_argument("task")
    c.add_argument("--approved", action="store_true")
    c.add_argument("--rejected", action="store_true")
    c.add_argument("--opinion", required=True)
    c = csub.add_parser("verify", parents=[common], help="核查: report whether a commitment was true")
    c.add_argument("task")
    c.add_argument("--false", dest="false_commitment", action="store_true")
    c.add_argument("--note", required=True)
    c = csub.add_parser("extend", parents=[common], help="延期: ask the head of office for more time")
    c.add_argument("case", type=int)
    c.add_argument("--reason", required=True)
    c = csub.add_parser("urge", parents=[common], help="催办: remind whoever holds the case")
    c.add_argument("instance", type=int)
    c.add_argument("--message")
    c = csub.add_parser("copy", parents=[common], help="抄送: give other users read access and a notice")
    c.add_argument("instance", type=int)
    c.add_argument("--to", required=True, help="comma-separated user ids")
    c.add_argument("--note")
    c = csub.add_parser("withdraw", parents=[common], help="the applicant withdraws before acceptance")
    c.add_argument("case", type=int)
    c.add_argument("--reason")
    c = csub.add_parser("terminate", parents=[common], help="terminate a case")
    c.add_argument("case", type=int)
    c.add_argument("--reason", required=True)

    p = sub.add_parser("message", parents=[common], help="deliver a message")
    p.add_argument("name")
    p.add_argument("--data")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--instance", type=int)
    group.add_argument("--business-key")

    p = sub.add_parser("signal", parents=[common], help="broadcast a signal")
    p.add_argument("name")
    p.add_argument("--data")

    p = sub.add_parser("timers", parents=[common], help="timers")
    tsub = p.add_subparsers(dest="action", required=True)
    t = tsub.add_parser("fire", parents=[common], help="fire every timer due up to --until (default now)")
    t.add_argument("--until")

    p = sub.add_parser("jobs", parents=[common], help="service-task retries")
    jsub = p.add_subparsers(dest="action", required=True)
    j = jsub.add_parser("run", parents=[common], help="retry handlers whose backoff has passed")
    j.add_argument("--until")

    p = sub.add_parser("outbox", parents=[common], help="the outbox (发件箱): e-mail and SMS to send")
    osub = p.add_subparsers(dest="action", required=True)
    o = osub.add_parser("dispatch", parents=[common], help="send every message due up to --until (default now)")
    o.add_argument("--until")
    o = osub.add_parser("list", parents=[common], help="outbox messages, newest first")
    o.add_argument("--status", choices=["pending", "sent", "failed"])
    o.add_argument("--limit", type=int, default=100)

    p = sub.add_parser("incidents", parents=[common], help="open incidents")
    isub = p.add_subparsers(dest="action")
    i = isub.add_parser("retry", parents=[common], help="retry an incident")
    i.add_argument("incident", type=int)
    p.add_argument("--instance", type=int)
    p.add_argument("--handler")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--offset", type=int, default=0)

    p = sub.add_parser("show", parents=[common], help="show an instance")
    p.add_argument("instance", type=int)

    p = sub.add_parser("terminate", parents=[common], help="terminate an instance")
    p.add_argument("instance", type=int)
    p.add_argument("--reason", required=True)

    p = sub.add_parser("users", aliases=["user"], parents=[common], help="users and groups")
    usub = p.add_subparsers(dest="action", required=True)
    u = usub.add_parser("add", parents=[common], help="create or update a user")
    u.add_argument("user_id")
    u.add_argument("--groups", default="", help="comma-separated group ids")
    u.add_argument("--admin", action="store_true")
    u.add_argument("--name")
    u = usub.add_parser("token", parents=[common], help="create an API token for a user (printed once)")
    u.add_argument("user_id")
    u.add_argument("--name", default="cli", help="what the token is for")
    u = usub.add_parser("password", parents=[common], help="set a user's password (read from YIMEN_PASSWORD)")
    u.add_argument("user_id")
    for action, what in (("deactivate", "deactivate (停用) an account: its sessions end and its tokens are revoked"),
                         ("activate", "reactivate (启用) a deactivated account")):
        u = usub.add_parser(action, parents=[common], help=what)
        u.add_argument("user_id")

    p = sub.add_parser("scheduler", parents=[common], help="run timers and handler retries periodically")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between sweeps")

    p = sub.add_parser("notifications", parents=[common], help="in-app notices of a user")
    p.add_argument("--for", dest="for_user", help="whose notices (default: --user)")
    p.add_argument("--unread", action="store_true")

    p = sub.add_parser("items", parents=[common], help="the service-item catalogue (事项)")
    isub2 = p.add_subparsers(dest="action", required=True)
    i2 = isub2.add_parser("import", parents=[common], help="import items (all or nothing)")
    i2.add_argument("file")
    i2.add_argument("--format", choices=["json", "csv"], default=None)
    i2 = isub2.add_parser("export", parents=[common], help="print the catalogue")
    i2.add_argument("--format", choices=["json", "csv"], default="json")
    isub2.add_parser("list", parents=[common], help="list items")
    i2 = isub2.add_parser("show", parents=[common], help="show one item")
    i2.add_argument("code")

    p = sub.add_parser("credit", parents=[common], help="credit (信用): import a list, show an applicant")
    csub2 = p.add_subparsers(dest="action", required=True)
    c2 = csub2.add_parser("import", parents=[common], help="import a credit list from CSV (all or nothing)")
    c2.add_argument("file")
    c2.add_argument("--name", default=None, help="the list's name, kept as the entries' source")
    c2 = csub2.add_parser("show", parents=[common], help="an applicant's level and entries")
    c2.add_argument("id_no", help="ID number or unified social credit code (统一社会信用代码)")

    p = sub.add_parser("linkage", parents=[common], help="the 审管联动 linkage list")
    ksub = p.add_subparsers(dest="action", required=True)
    k = ksub.add_parser("import", parents=[common], help="replace the linkage list (all or nothing)")
    k.add_argument("file")
    k.add_argument("--format", choices=["json", "csv"], default=None)
    k = ksub.add_parser("export", parents=[common], help="print the linkage list")
    k.add_argument("--format", choices=["json", "csv"], default="json")
    ksub.add_parser("unopened", parents=[common], help="pushes not opened, by department and age")

    p = sub.add_parser("calendar", parents=[common], help="the working-day calendar (工作日历)")
    lsub = p.add_subparsers(dest="action", required=True)
    c = lsub.add_parser("seed", parents=[common], help="enter years from the chinesecalendar package")
    c.add_argument("--years", help="comma-separated years (default: all it knows)")
    c = lsub.add_parser("import", parents=[common], help="enter whole years from a CSV (date,kind,name) or JSON file")
    c.add_argument("file")
    c = lsub.add_parser("set", parents=[common], help="set one day: holiday, workday (调休) or normal")
    c.add_argument("day")
    c.add_argument("kind", choices=["holiday", "workday", "normal"])
    c.add_argument("--name")
    c = lsub.add_parser("show", parents=[common], help="the exceptional days of a year (provisional ones marked)")
    c.add_argument("year", type=int)
    lsub.add_parser("years", parents=[common], help="official (entered) and provisional years")
    c = lsub.add_parser("add", parents=[common], help="the N-th working day after DATE")
    c.add_argument("day")
    c.add_argument("n", type=int)
    c = lsub.add_parser("between", parents=[common], help="working days after A up to and including B")
    c.add_argument("a")
    c.add_argument("b")

    p = sub.add_parser("clock", parents=[common], help="the case clock: deadlines, warnings and cards")
    ksub = p.add_subparsers(dest="action", required=True)
    k = ksub.add_parser("sweep", parents=[common], help="advance every watch due up to --until (default now)")
    k.add_argument("--until")
    k = ksub.add_parser("watches", parents=[common], help="running clocks, e.g. --department SJ --state red")
    k.add_argument("--department")
    k.add_argument("--state", choices=["normal", "warning", "yellow", "red"])
    k.add_argument("--kind", default="case", choices=["case", "step", "acceptance"])
    k.add_argument("--item")
    k.add_argument("--limit", type=int, default=100)
    k.add_argument("--offset", type=int, default=0)
    k = ksub.add_parser("due", parents=[common], help="everything due within N working days")
    k.add_argument("working_days", type=int)
    k.add_argument("--department")
    k = ksub.add_parser("overview", parents=[common], help="the dashboard: counts by department, item and card "
                        "state, on-time rates and working days over --from/--to (YYYY-MM-DD), cards over time")
    k.add_argument("--from", dest="date_from")
    k.add_argument("--to", dest="date_to")
    k.add_argument("--department")
    k.add_argument("--item")
    k = ksub.add_parser("pause", parents=[common], help="特别程序: start a special procedure (pauses the clock)")
    k.add_argument("case", type=int)
    k.add_argument("--kind", required=True)
    k.add_argument("--reason", required=True)
    k.add_argument("--expected-days", type=int, required=True)
    k = ksub.add_parser("resume", parents=[common], help="end the special procedure with its result")
    k.add_argument("case", type=int)
    k.add_argument("--result", required=True)

    p = sub.add_parser("supervision", parents=[common], help="督查: cards, appeals and supervision orders")
    vsub = p.add_subparsers(dest="action", required=True)
    v = vsub.add_parser("cards", parents=[common], help="list cards")
    v.add_argument("--department")
    v.add_argument("--status")
    v.add_argument("--color", choices=["yellow", "red"])
    v.add_argument("--item")
    v.add_argument("--limit", type=int, default=100)
    v.add_argument("--offset", type=int, default=0)
    v = vsub.add_parser("confirm", parents=[common], help="issue (or --drop) a card held for confirmation")
    v.add_argument("card", type=int)
    v.add_argument("--drop", action="store_true")
    v.add_argument("--note")
    v = vsub.add_parser("appeal", parents=[common], help="appeal a card of your department")
    v.add_argument("card", type=int)
    v.add_argument("--reason", required=True)
    v = vsub.add_parser("decide", parents=[common], help="decide an appeal: --grant or not")
    v.add_argument("card", type=int)
    v.add_argument("--grant", action="store_true")
    v.add_argument("--note", required=True)
    v = vsub.add_parser("order", parents=[common], help="督办: order a department or person to act")
    v.add_argument("--content", required=True)
    v.add_argument("--days", type=int, required=True, help="deadline in working days")
    v.add_argument("--case", type=int)
    v.add_argument("--department")
    v.add_argument("--to", dest="assignee")
    v = vsub.add_parser("orders", parents=[common], help="list supervision orders")
    v.add_argument("--status", choices=["open", "answered", "closed"])
    v.add_argument("--department")
    v.add_argument("--limit", type=int, default=100)
    v.add_argument("--offset", type=int, default=0)
    v = vsub.add_parser("answer", parents=[common], help="answer a supervision order")
    v.add_argument("order", type=int)
    v.add_argument("--reply", required=True)
    v = vsub.add_parser("close", parents=[common], help="close a supervision order")
    v.add_argument("order", type=int)

    p = sub.add_parser("db", parents=[common], help="database schema")
    dsub = p.add_subparsers(dest="action", required=True)
    dsub.add_parser("upgrade", parents=[common], help="apply all migrations")

    p = sub.add_parser("audit", parents=[common], help="audit trail")
    asub = p.add_subparsers(dest="action", required=True)
    a = asub.add_parser("verify", parents=[common],
                        help="check the keyed chain, the witness's checkpoints and the rows it covers")
    a.add_argument("--witness", action="append", metavar="FILE",
                   help="check against this witness file or export instead of the configured one (repeatable)")
    asub.add_parser("checkpoint", parents=[common], help="write a signed checkpoint to the witness if the head moved")
    asub.add_parser("export", parents=[common], help="print this database's checkpoints (for the supervision office)")
    asub.add_parser("rotate-key", parents=[common], help="add a new current audit key to the key file")
    return parser


def _calendar(yimen, args, u) -> Any:
    from datetime import date

    def day(text):
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError(f"'{text}' is not a date (YYYY-MM-DD)") from exc

    if args.action == "seed":
        years = [int(y) for y in args.years.split(",") if y.strip()] if args.years else None
        return yimen.seed_calendar(years, user=u)
    if args.action == "import":
        path = Path(args.file)
        if not path.is_file():
            raise ValidationError(f"file '{args.file}' does not exist")
        return yimen.import_calendar(path.read_text(encoding="utf-8"),
                                     "json" if path.suffix.lower() == ".json" else "csv", user=u)
    if args.action == "set":
        return yimen.set_calendar_day(args.day, args.kind, args.name, user=u)
    if args.action == "show":
        view = yimen.calendar_year_view(args.year)
        if view["status"] == "official":
            return yimen.calendar(args.year)
        return [{"date": d["date"], "kind": d["kind"], "name": d["name"], "provisional": True}
                for d in view["days"] if d["kind"] != "normal"]
    if args.action == "years":
        return yimen.calendar_overview()
    cal = yimen.working_calendar()
    if args.action == "add":
        start = day(args.day)
        result = cal.add_working_days(start, args.n)
        return {"day": result.isoformat(), "provisional": cal.is_provisional(result, start)}
    a, b = day(args.a), day(args.b)
    return {"working_days": cal.working_days_between(a, b), "provisional": cal.is_provisional(b, a)}


def _clock(yimen, args, u) -> Any:
    if args.action == "sweep":
        return yimen.advance_deadlines(_instant(args.until))
    if args.action == "watches":
        return yimen.watches(_viewer(yimen, u), department=args.department, state=args.state, kind=args.kind,
                             item=args.item, limit=args.limit, offset=args.offset)
    if args.action == "due":
        return yimen.due_within(args.working_days, department=args.department, user=_viewer(yimen, u))
    if args.action == "overview":
        return yimen.supervision_overview(args.date_from, args.date_to, department=args.department, item=args.item)
    if args.action == "pause":
        return yimen.start_special_procedure(args.case, args.kind, args.reason, args.expected_days, user=u)
    return yimen.end_special_procedure(args.case, args.result, user=u)


def _viewer(yimen, u: str | None) -> dict | None:
    """Lists as ``--user`` may see them (their department's, theirs); without it, everything."""
    return yimen.user(u) if u else None


def _supervision(yimen, args, u) -> Any:
    if args.action == "cards":
        return yimen.cards(_viewer(yimen, u), department=args.department, status=args.status, color=args.color,
                           item=args.item, limit=args.limit, offset=args.offset)
    if args.action == "confirm":
        return yimen.confirm_card(args.card, not args.drop, args.note, user=u)
    if args.action == "appeal":
        return yimen.appeal_card(args.card, args.reason, user=u)
    if args.action == "decide":
        return yimen.decide_appeal(args.card, args.grant, args.note, user=u)
    if args.action == "order":
        return yimen.issue_order(args.content, args.days, case_id=args.case, department=args.department,
                                 assignee=args.assignee, user=u)
    if args.action == "orders":
        return yimen.orders(_viewer(yimen, u), status=args.status, department=args.department, limit=args.limit,
                            offset=args.offset)
    if args.action == "answer":
        return yimen.answer_order(args.order, args.reply, user=u)
    return yimen.close_order(args.order, user=u)


def _reform(yimen, args, u) -> Any:
    """``credit import|show`` and ``linkage import|export|unopened`` (issue 16)."""
    if args.action == "import":
        path = Path(args.file)
        if not path.is_file():
            raise ValidationError(f"file '{args.file}' does not exist")
        text = path.read_text(encoding="utf-8")
        if args.command == "credit":
            return yimen.import_credit_list(text, args.name or path.stem, user=u)
        return yimen.import_linkage(text, args.format or ("csv" if path.suffix.lower() == ".csv" else "json"),
                                    user=u)
    if args.command == "credit":
        return yimen.credit_profile(args.id_no)
    if args.action == "export":
        return {"format": args.format, "content": yimen.export_linkage(args.format)}
    return yimen.unopened_pushes()


def _dispatch(args) -> Any:
    from .service import Yimen

    if args.command == "db":
        from .migrate import upgrade

        upgrade(args.database_url)
        return {"upgraded": True}
    yimen = Yimen(args.database_url)
    try:
        u = args.user
        if args.command == "deploy":
            files = []
            for name in args.files:
                path = Path(name)
                if not path.is_file():
                    raise ValidationError(f"file '{name}' does not exist")
                files.append((path.name, path.read_bytes()))
            return yimen.deploy(files, user=u, name=args.name, allow_scripts=args.allow_scripts)
        if args.command == "start":
            return yimen.start(args.key, _json_arg(args.data), args.business_key, user=u, version=args.version)
        if args.command == "tasks":
            return yimen.tasks(instance=args.instance, user=args.for_user or u, group=args.group,
                               limit=args.limit, offset=args.offset)
        if args.command == "claim":
            return yimen.claim(args.task, user=u)
        if args.command == "unclaim":
            return yimen.unclaim(args.task, user=u)
        if args.command == "complete":
            return yimen.complete(args.task, _json_arg(args.data), user=u)
        if args.command == "transfer":
            return yimen.transfer(args.task, args.to, args.reason, user=u)
        if args.command == "delegate":
            return yimen.delegate(args.task, args.to, args.note, user=u)
        if args.command == "return":
            return yimen.return_to(args.task, args.to, args.reason, user=u)
        if args.command == "withdraw":
            return yimen.withdraw(args.task, user=u)
        if args.command == "add-signer":
            return yimen.add_signer(args.task, args.signer, args.position, user=u)
        if args.command == "remove-signer":
            return yimen.remove_signer(args.task, args.signer, user=u)
        if args.command == "notifications":
            who = args.for_user or u
            if not who:
                raise ValidationError("whose notifications? give --for USER or --user USER")
            return yimen.notifications(who, args.unread)
        if args.command == "items":
            if args.action == "import":
                path = Path(args.file)
                if not path.is_file():
                    raise ValidationError(f"file '{args.file}' does not exist")
                fmt = args.format or ("csv" if path.suffix.lower() == ".csv" else "json")
                return yimen.import_items(path.read_text(encoding="utf-8"), fmt, user=u)
            if args.action == "export":
                return {"format": args.format, "content": yimen.export_items(args.format)}
            if args.action == "list":
                return [{"code": i["code"], "name": i["name"], "process": i["process_key"], "enabled": i["enabled"]}
                        for i in yimen.items()]
            return yimen.item(args.code)
        if args.command == "cases":
            return _cases(yimen, args, u)
        if args.command in ("credit", "linkage"):
            return _reform(yimen, args, u)
        if args.command == "calendar":
            return _calendar(yimen, args, u)
        if args.command == "clock":
            return _clock(yimen, args, u)
        if args.command == "supervision":
            return _supervision(yimen, args, u)
        if args.command == "message":
            return yimen.message(args.name, _json_arg(args.data), instance=args.instance,
                                 business_key=args.business_key, user=u)
        if args.command == "signal":
            return yimen.signal(args.name, _json_arg(args.data), user=u)
        if args.command == "timers":
            return yimen.fire_timers(_instant(args.until))
        if args.command == "jobs":
            return yimen.run_jobs(_instant(args.until))
        if args.command == "outbox":
            if args.action == "dispatch":
                return yimen.dispatch_outbox(_instant(args.until))
            return yimen.outbox(args.status, args.limit)
        if args.command == "incidents":
            if args.action == "retry":
                return yimen.retry_incident(args.incident, user=u)
            return yimen.incident_list(_viewer(yimen, u), instance=args.instance, handler=args.handler,
                                       limit=args.limit, offset=args.offset)
        if args.command == "show":
            return yimen.show(args.instance)
        if args.command == "terminate":
            return yimen.terminate(args.instance, args.reason, user=u)
        if args.command == "users" and args.action == "token":
            return yimen.create_token(args.user_id, args.name, user=u)
        if args.command == "users" and args.action in ("deactivate", "activate"):
            return yimen.set_user_active(args.user_id, args.action == "activate", user=u)
        if args.command == "users" and args.action == "password":
            import os

            if not os.environ.get("YIMEN_PASSWORD"):
                raise ValidationError("set the new password in the environment variable YIMEN_PASSWORD")
            return yimen.set_password(args.user_id, os.environ["YIMEN_PASSWORD"], user=u)
        if args.command == "users":
            groups = [g.strip() for g in args.groups.split(",") if g.strip()]
            return yimen.add_user(args.user_id, groups, admin=args.admin, display_name=args.name, user=u)
        if args.command == "scheduler":
            from .scheduler import run_forever

            run_forever(yimen.sessions, args.interval)
            return {"stopped": True}
        if args.command == "audit":
            return _audit(yimen, args, u)
        raise ValidationError(f"unknown command {args.command}")
    finally:
        yimen.close()


def _materials(specs: list[str]) -> list[dict]:
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).is_file():
            raise ValidationError(f"--material '{spec}' must be NAME=PATH of an existing file")
        out.append({"name": name, "filename": Path(path).name, "content": Path(path).read_bytes()})
    return out


def _cases(yimen, args, u):
    a = args.action
    if a == "submit":
        return yimen.submit(args.item, _json_arg(args.applicant), _materials(args.material), _json_arg(args.form),
                            _json_arg(args.agent), user=u)
    if a == "show":
        return yimen.case(args.case)
    if a == "accept":
        return yimen.accept(args.case, args.opinion, user=u)
    if a == "not-accept":
        return yimen.not_accept(args.case, args.reason, args.competent_office, user=u)
    if a == "correction":
        problems = []
        for text in args.problem:
            material, sep, problem = text.partition(":")
            problems.append({"material": material, "problem": problem} if sep else {"problem": text})
        return yimen.request_correction(args.case, problems, user=u, second_notice_reason=args.second_reason)
    if a == "resubmit":
        return yimen.resubmit(args.case, _materials(args.material), args.note, user=u)
    if a == "rate":
        return yimen.rate_case(args.case, args.score, args.comment, user=u)
    if a == "tolerate":
        return yimen.accept_with_missing(args.case, args.days, args.opinion, user=u)
    if a == "supplement":
        return yimen.supplement(args.case, _materials(args.material), user=u)
    if a == "decide":
        if args.approved == args.rejected:
            raise ValidationError("give exactly one of --approved or --rejected")
        return yimen.decide(args.task, args.approved, args.opinion, user=u)
    if a == "verify":
        return yimen.verify_commitment(args.task, not args.false_commitment, args.note, user=u)
    if a == "extend":
        return yimen.request_extension(args.case, args.reason, user=u)
    if a == "urge":
        return yimen.urge(args.instance, args.message, user=u)
    if a == "copy":
        return yimen.carbon_copy(args.instance, [x.strip() for x in args.to.split(",") if x.strip()], args.note,
                                 user=u)
    if a == "withdraw":
        return yimen.withdraw_application(args.case, args.reason, user=u)
    if a == "terminate":
        return yimen.terminate_case(args.case, args.reason, user=u)
    raise ValidationError(f"unknown cases action {a}")


def _audit(yimen, args, u):
    from . import audit

    if args.action == "checkpoint":
        result = yimen._read(audit.checkpoint)
        if result.get("problems"):
            raise _AuditBroken({"ok": False, **result})
        return result
    if args.action == "export":
        return yimen._read(audit.export)
    if args.action == "rotate-key":
        return yimen._run(u, audit.rotate)
    result = yimen._read(audit.verify, args.witness)
    if not result["ok"]:
        raise _AuditBroken(result)
    return result


class _AuditBroken(Exception):
    def __init__(self, result):
        super().__init__("audit chain broken")
        self.result = result


def _print(value: Any, compact: bool, stream=sys.stdout) -> None:
    if compact:
        stream.write(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
    else:
        stream.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "user":  # ``yimen user deactivate <id>`` reads like ``yimen users ...``
        args.command = "users"
    try:
        result = _dispatch(args)
    except EngineError as exc:
        _print({"error": exc.to_dict()}, args.json)
        return 1
    except _AuditBroken as exc:
        _print({"error": {"code": "audit_broken", "message": "the audit chain is broken", **exc.result}}, args.json)
        return 1
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        hint = " (run 'yimen db upgrade' first?)" if "no such table" in text or "does not exist" in text else ""
        _print({"error": {"code": "database_error", "message": text.strip() + hint}}, args.json)
        return 1
    except Exception as exc:  # noqa: BLE001 - the contract is JSON out, even for a bug
        _print({"error": {"code": "internal_error", "message": f"{exc.__class__.__name__}: {exc}"}}, args.json)
        return 2
    _print(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
