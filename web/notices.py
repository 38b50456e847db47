"""A notice (站内消息) as the reader reads it, in the page language.

The engine stores each notice with its Chinese subject and body (what e-mail and SMS send) and, since
revision 0015, its kind and parameters (``engine.notify``). The Chinese pages show the stored text as it
is; the English pages build the sentence from the kind and its parameters. A notice without a kind
(written before, or of a kind not known here) is shown by its stored text in both.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from flask_babel import gettext, lazy_gettext

from .i18n import language, localized

LOCAL = ZoneInfo("Asia/Shanghai")

TITLES = {
    "receipt": lazy_gettext("Acknowledgement of receipt"), "acceptance": lazy_gettext("Acceptance notice"),
    "correction": lazy_gettext("Correction notice"), "not_accepted": lazy_gettext("Notice of non-acceptance"),
    "tolerance": lazy_gettext("Notice of acceptance with materials to follow"),
    "special_procedure": lazy_gettext("Special procedure notice"), "extension": lazy_gettext("Extension notice"),
    "terminated": lazy_gettext("Notice of termination"), "decision": lazy_gettext("Licensing decision"),
    "licence": lazy_gettext("Licence issued"), "licence_revoked": lazy_gettext("Notice of revocation"),
    "dispatched": lazy_gettext("Result sent out"), "delivered": lazy_gettext("Result delivered"),
    "received": lazy_gettext("Receipt confirmed"), "filing_reopened": lazy_gettext("Your application is handled again"),
    "rectification_reply": lazy_gettext("Answer to your rating"),
}
# The categories of notice a person chooses e-mail and SMS for (engine.notify.NOTICE_CATEGORIES): the name and
# what it holds, in the page language.
CATEGORIES = {
    "progress": (lazy_gettext("Progress of your case"),
                 lazy_gettext("receipt, acceptance, extension, sending out and delivery of the result")),
    "action": (lazy_gettext("Things for you to do"), lazy_gettext("correcting materials, handing in materials later")),
    "decision": (lazy_gettext("Decisions and licences"),
                 lazy_gettext("non-acceptance, the licensing decision, termination, the licence and its revocation")),
    "tasks": (lazy_gettext("Tasks and supervision (staff)"),
              lazy_gettext("new and returned steps, urging, supervision orders, copies, deadline warnings, cards, "
                           "AB backups, bad ratings")),
    "other": (lazy_gettext("Other notices"), lazy_gettext("enquiries and the like")),
}
RIGHTS = lazy_gettext("If you disagree, you may apply for administrative reconsideration within sixty days of "
                      "receiving this decision, or bring a lawsuit before a people's court within six months.")


def _day(value: Any) -> str:
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(str(value)).astimezone(LOCAL).strftime("%Y-%m-%d")
    except ValueError:
        return str(value)


def _item(p: dict) -> str:
    return localized(p, "item") or "-"


def _acceptance(p: dict) -> str:
    text = gettext("Your application was accepted on %(date)s.", date=p.get("accepted_on") or "-")
    if p.get("promised_due"):
        text += " " + gettext("A decision is promised by %(promised)s; the legal limit is %(legal)s.",
                              promised=_day(p["promised_due"]), legal=_day(p.get("legal_due")))
    return text


def _correction(p: dict) -> str:
    items = "; ".join(f"{i}. {(q.get('material') + ': ') if q.get('material') else ''}{q.get('problem')}"
                      for i, q in enumerate(p.get("problems") or [], start=1))
    return gettext("Please correct all of the following at once and submit again: %(items)s.", items=items)


def _not_accepted(p: dict) -> str:
    text = gettext("Your application was not accepted. Reason: %(reason)s.", reason=p.get("reason") or "-")
    if p.get("competent_office"):
        text += " " + gettext("Please apply to %(office)s.", office=p["competent_office"])
    return f"{text} {RIGHTS}"


def _decision(p: dict) -> str:
    if p.get("decision") == "approved":
        return gettext("The licence is granted: %(item)s.", item=_item(p))
    return " ".join((gettext("The licence is not granted: %(item)s. Reason: %(reasons)s. Legal basis: %(basis)s.",
                             item=_item(p), reasons=p.get("reasons") or "-", basis=p.get("legal_basis") or "-"),
                     str(RIGHTS)))


def _dispatched(p: dict) -> str:
    if p.get("method") == "post":
        return gettext("The result was posted: %(carrier)s, tracking number %(number)s, to %(address)s.",
                       carrier=p.get("carrier") or "-", number=p.get("tracking_no") or "-",
                       address=p.get("address") or "-")
    return gettext("The result is ready: please collect it at the window.")


def _step(p: dict) -> str:
    return localized(p, "step") or "-"


def _where(p: dict) -> str:
    return gettext(" (case %(number)s)", number=p["case_number"]) if p.get("case_number") else ""


BODIES: dict[str, Callable[[dict], str]] = {
    "receipt": lambda p: gettext(
        "Your application (%(item)s) was received as case %(number)s. Within 5 working days the window accepts "
        "it, refuses it, or tells you at once everything to correct.", item=_item(p), number=p.get("case_number")),
    "acceptance": _acceptance,
    "correction": _correction,
    "not_accepted": _not_accepted,
    "tolerance": lambda p: gettext("Your application was accepted with materials to follow; hand in by %(date)s: "
                                   "%(missing)s.", date=_day(p.get("supplement_due")),
                                   missing=", ".join(p.get("missing") or [])),
    "special_procedure": lambda p: gettext(
        "The case is in a special procedure, expected to take %(days)s working days, not counted in the time "
        "limit. %(reason)s", days=p.get("expected_working_days"), reason=p.get("reason") or ""),
    "extension": lambda p: gettext("With the head's approval the time limit is extended by %(days)s working days. "
                                   "Reason: %(reason)s.", days=p.get("working_days"), reason=p.get("reason") or "-"),
    "terminated": lambda p: gettext("The case is terminated: %(reason)s.", reason=p.get("reason") or "-"),
    "decision": _decision,
    "licence": lambda p: gettext("Your licence was issued: %(item)s, licence number %(number)s, valid until "
                                 "%(until)s.", item=_item(p), number=p.get("licence") or "-",
                                 until=p.get("valid_until") or "-"),
    "licence_revoked": lambda p: gettext("Your licence (number %(number)s) was revoked. Reason: %(reason)s.",
                                         number=p.get("licence") or "-", reason=p.get("reason") or "-"),
    "dispatched": _dispatched,
    "delivered": lambda p: (gettext("The result was delivered.") if p.get("method") == "post"
                            else gettext("The result was handed over at the window.")),
    "received": lambda p: gettext("You confirmed receipt of the result."),
    # staff: a step in their queue, returned to them, urged (engine.runtime.tell_staff)
    "new_task": lambda p: gettext("“%(step)s”%(where)s is in your queue; please handle it in time.",
                                  step=_step(p), where=_where(p)),
    "returned": lambda p: gettext("“%(step)s”%(where)s was returned to you; please handle it again. Reason: "
                                  "%(reason)s", step=_step(p), where=_where(p), reason=p.get("text") or "-"),
    "urged": lambda p: gettext("“%(step)s”%(where)s: you are urged to finish it soon. %(message)s",
                               step=_step(p), where=_where(p), message=p.get("text") or ""),
    "order": lambda p: gettext("%(content)s (to be handled by %(deadline)s)", content=p.get("content") or "",
                               deadline=p.get("deadline") or "-"),
    "carbon_copy": lambda p: p.get("note") or gettext("%(by)s copied this case to you.", by=localized(p, "by")),
    # reform follow-ups: a refusal reopened on review (否定备案), a bad rating's rectification (差评整改), an order
    # answered (督办回复)
    "filing_reopened": lambda p: gettext("On review by the supervision office the outcome of case %(number)s was "
                                         "not upheld: your application is handled again as case %(new)s. Reason: "
                                         "%(note)s", number=p.get("case_number") or "-", new=p.get("new_number") or "-",
                                         note=p.get("note") or "-"),
    "rectification_reply": lambda p: gettext("The department's answer to your rating: %(reply)s",
                                             reply=p.get("reply") or "-"),
    "rectification": lambda p: gettext("The applicant rated case %(number)s badly: “%(comment)s”. Verify, rectify "
                                       "or explain within %(days)s working days and answer the applicant.",
                                       number=p.get("case_number") or "-", comment=p.get("comment") or "-",
                                       days=p.get("days") or "-"),
    "order_answered": lambda p: p.get("reply") or "-",
    # the clock (engine.commands.deadlines): a warning before a limit, a card, an overdue step, AB backups
    "deadline_warning": lambda p: gettext("%(what)s falls due at %(due)s.", what=_watched(p), due=p.get("due") or "-"),
    "card": lambda p: gettext("%(what)s passed its %(limit)s (%(due)s).", what=_watched(p), due=p.get("due") or "-",
                              limit=gettext("legal time limit") if p.get("limit") == "legal"
                              else gettext("promised time limit")) if p.get("due") else (p.get("reason") or "-"),
    "overdue": lambda p: gettext("%(what)s passed its promised time limit (%(due)s).", what=_watched(p),
                                 due=p.get("due") or "-"),
    "backup_overdue": lambda p: gettext("%(what)s is overdue and was handed to you from %(from)s.",
                                        what=_watched(p), **{"from": p.get("from") or "-"}),
    "backup_absent": lambda p: gettext("%(from)s is away: %(count)s of their open steps were handed to you.",
                                       count=p.get("count") or 0, **{"from": p.get("from") or "-"}),
    "bad_rating": lambda p: gettext("Score %(score)s (%(label)s): %(comment)s", score=p.get("score") or "-",
                                    label=SCORE_LABELS.get(p.get("score"), "-"), comment=p.get("comment") or "-"),
    # supervision, enquiries (首问负责), 审管联动, 否定备案 and a recomputed calendar
    "card_appeal": lambda p: p.get("reason") or "-",
    "card_appeal_decided": lambda p: p.get("note") or "-",
    "enquiry": lambda p: gettext("%(name)s asks: %(question)s", name=p.get("name") or "-",
                                 question=p.get("question") or "-"),
    "enquiry_answered": lambda p: gettext("The enquiry of %(name)s was answered: %(answer)s",
                                          name=p.get("name") or "-", answer=p.get("answer") or "-"),
    "linkage_push": lambda p: gettext("%(item)s case %(number)s was %(stage)s; applicant %(applicant)s. Open the "
                                      "supervision inbox to see it.", item=_item(p), number=p.get("case_number") or "-",
                                      stage=gettext("accepted") if p.get("stage") == "acceptance"
                                      else gettext("concluded"), applicant=p.get("applicant") or "-"),
    "supervision_feedback": lambda p: p.get("content") or "-",
    "negative_filing": lambda p: p.get("reason") or "-",
    "deadline_moved": lambda p: gettext("The working-day calendar changed (the State Council's holiday schedule was "
                                        "entered) and the dates of case %(number)s were computed again: %(moves)s.",
                                        number=p.get("case_number") or "-",
                                        moves="; ".join(_moved(m) for m in p.get("moves") or [])),
}
LIMITS = {"case": lazy_gettext("the time limit"), "step": lazy_gettext("the step's time limit"),
          "acceptance": lazy_gettext("the acceptance limit"),
          "supplement": lazy_gettext("the deadline for the missing materials")}
LIMIT_FIELDS = {"promised_due": lazy_gettext("promised"), "legal_due": lazy_gettext("legal")}


def _moved(m: dict) -> str:
    return gettext("%(what)s (%(field)s) moved from %(old)s to %(new)s", what=LIMITS.get(m.get("watch"), "-"),
                   field=LIMIT_FIELDS.get(m.get("field"), "-"), old=m.get("from") or "-", new=m.get("to") or "-")
SCORE_LABELS = {5: lazy_gettext("very satisfied"), 4: lazy_gettext("satisfied"),
                3: lazy_gettext("basically satisfied"), 2: lazy_gettext("dissatisfied"),
                1: lazy_gettext("very dissatisfied")}
def _watched(p: dict) -> str:
    """What a clock notice is about: the case (its step, or its rectification), in the page language."""
    if p.get("case_number"):
        text = gettext("Case %(number)s", number=p["case_number"])
    else:
        text = gettext("Process instance %(id)s", id=p.get("instance") or "-")
    if p.get("step"):
        text += " " + gettext("step “%(step)s”", step=_step(p))
    if p.get("rectification"):
        text += " " + gettext("rectification of a bad rating")
    return text


SUBJECTS: dict[str, Callable[[dict], str]] = {
    "order": lambda p: gettext("Supervision order No. %(order)s", order=p.get("order")),
    "carbon_copy": lambda p: gettext("Copied to you: case %(number)s", number=p.get("case_number") or "-"),
    "new_task": lambda p: gettext("New task: %(step)s", step=_step(p)),
    "returned": lambda p: gettext("Returned: %(step)s", step=_step(p)),
    "urged": lambda p: gettext("Urged: %(step)s", step=_step(p)),
    "order_answered": lambda p: gettext("Answer to supervision order No. %(order)s", order=p.get("order")),
    "rectification": lambda p: gettext("Rectification of a bad rating: case %(number)s",
                                       number=p.get("case_number") or "-"),
    "deadline_warning": lambda p: gettext("Warning: %(what)s", what=_watched(p)),
    "card": lambda p: gettext("Red card: %(what)s", what=_watched(p)) if p.get("color") == "red"
    else gettext("Yellow card: %(what)s", what=_watched(p)),
    "overdue": lambda p: gettext("Overdue: %(what)s", what=_watched(p)),
    "backup_overdue": lambda p: gettext("AB backup: %(what)s", what=_watched(p)),
    "backup_absent": lambda p: gettext("AB backup: steps handed to you"),
    "bad_rating": lambda p: gettext("Bad rating: case %(number)s", number=p.get("case_number") or "-"),
    "card_appeal": lambda p: gettext("Appeal against card No. %(card)s", card=p.get("card") or "-"),
    "card_appeal_decided": lambda p: (gettext("Appeal against card No. %(card)s granted: the card is withdrawn",
                                              card=p.get("card") or "-") if p.get("granted") else
                                      gettext("Appeal against card No. %(card)s not granted: the card stands",
                                              card=p.get("card") or "-")),
    "enquiry": lambda p: gettext("First contact: a new enquiry"),
    "enquiry_answered": lambda p: gettext("First contact: an enquiry answered"),
    "linkage_push": lambda p: gettext("Approval record pushed: case %(number)s", number=p.get("case_number") or "-"),
    "supervision_feedback": lambda p: gettext("Supervision feedback: case %(number)s",
                                              number=p.get("case_number") or "-"),
    "negative_filing": lambda p: gettext("Negative filing: case %(number)s", number=p.get("case_number") or "-"),
    "deadline_moved": lambda p: gettext("Dates of case %(number)s changed", number=p.get("case_number") or "-"),
}


def notice_text(note: dict) -> tuple[str, str]:
    """(subject, body) of an in-app notice in the page language."""
    kind, params = note.get("kind"), note.get("params") or {}
    if language() == "zh" or kind not in BODIES:
        return note.get("subject") or "", note.get("body") or ""
    if kind in SUBJECTS:
        subject = SUBJECTS[kind](params)
    else:
        subject = gettext("Case %(number)s: %(title)s", number=params.get("case_number") or "-",
                          title=TITLES.get(kind, kind))
    return subject, BODIES[kind](params)


def init_app(app) -> None:
    app.jinja_env.globals["notice_text"] = notice_text
