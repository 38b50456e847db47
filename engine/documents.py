"""Written decisions (行政许可决定书, Arts. 38-39), document numbers, PDFs and the case's progress timeline.

Concluding a case writes one ``Decision``: 准予行政许可决定书, or
不予行政许可决定书 with the reasons, the legal basis and the right to apply
for administrative reconsideration within 60 days or to sue within six
months. Numbers run per office, year and series without a race (the first
counter row of a year is created in a savepoint; the loser of that insert
takes the winner's row, locked).

PDFs are drawn with fpdf2 in a CJK TrueType font embedded (subset) in the
file: ``YIMEN_CJK_FONT`` names the font file, else the first of
``FONT_CANDIDATES`` that exists (Debian's ``fonts-wqy-zenhei``, installed by
``scripts/setup.sh``). Without one, ``FontMissing`` says what to install.
"""
from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .errors import EngineError, NotFound

LOCAL = ZoneInfo("Asia/Shanghai")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
RECONSIDERATION_DAYS = 60      # 行政复议法 Art. 20: within 60 days of learning of the decision
LAWSUIT_MONTHS = 6             # 行政诉讼法 Art. 46: within six months
DECISION_TITLES = {True: "准予行政许可决定书", False: "不予行政许可决定书"}
LICENCE_TITLE = "行政许可证件（电子证照）"


class FontMissing(EngineError):
    """No CJK font to draw a Chinese PDF with."""

    code = "font_missing"


# --- numbers ------------------------------------------------------------------------

def next_document_number(ctx, office_code: str, series: str) -> tuple[int, int]:
    """(year, sequence) of the next document of ``series`` for the office, counted per local year."""
    from sqlalchemy.exc import IntegrityError

    from .models import DocumentCounter

    year = ctx.now.astimezone(LOCAL).year
    query = select(DocumentCounter).where(DocumentCounter.office_code == office_code, DocumentCounter.year == year,
                                          DocumentCounter.series == series).with_for_update()
    counter = ctx.session.scalars(query).first()
    if counter is None:
        try:
            with ctx.session.begin_nested():
                ctx.session.add(DocumentCounter(office_code=office_code, year=year, series=series, last=0))
        except IntegrityError:
            pass
        counter = ctx.session.scalars(query.execution_options(populate_existing=True)).one()
    counter.last += 1
    ctx.session.flush()
    return year, counter.last


def decision_number(office_code: str, year: int, seq: int) -> str:
    """``SJ-JD-2026-00001``: the office's decision (决定) series of the year, in letters and digits only."""
    return f"{office_code}-JD-{year}-{seq:05d}"


def appeal_rights(office: str | None) -> str:
    """Arts. 38 (不予) and the reconsideration and litigation laws: where and how long to challenge it."""
    body = f"{office}所属的本级人民政府" if office else "本机关所属的本级人民政府"
    return (f"如不服本决定，可以自收到本决定书之日起{RECONSIDERATION_DAYS}日内向{body}申请行政复议，"
            f"或者自收到本决定书之日起{LAWSUIT_MONTHS}个月内依法向人民法院提起行政诉讼。")


# --- the decision -------------------------------------------------------------------

def issue_decision(ctx, case, approved: bool, item, reasons: str | None):
    """Write the numbered decision of a concluded case (once); an approval opens its licence (Art. 44)."""
    from .models import Decision

    existing = ctx.session.scalars(select(Decision).where(Decision.case_id == case.id)).first()
    if existing is not None:
        return existing
    authority, office, entrusted = authority_of(ctx.session, case, item)
    year, seq = next_document_number(ctx, authority, "decision")
    decision = Decision(case_id=case.id, number=decision_number(authority, year, seq), approved=approved,
                        office_code=authority, office=office, entrusted=entrusted,
                        item_name=item.name if item else case.item_code, holder=case.applicant_name,
                        holder_id_no=case.applicant_id_no, reasons=None if approved else (reasons or None),
                        legal_basis=item.legal_basis if item else None,
                        appeal_rights=None if approved else appeal_rights(office),
                        issued_at=ctx.now, issued_by=ctx.actor.id)
    ctx.session.add(decision)
    ctx.session.flush()
    if approved:
        from .licences import open_licence

        open_licence(ctx, case, decision, item)
    return decision


def authority_of(session, case, item) -> tuple[str, str | None, str | None]:
    """(office code, name, entrusted organ's name) in whose name the case's documents are made (放权,
    ``engine.levels``): the route kept on the case, else the item's competent office as before."""
    from .models import Department

    if case.authority_office:
        entrusted = session.get(Department, case.entrusted_office) if case.entrusted_office else None
        return case.authority_office, case.authority_name, entrusted.name if entrusted else None
    return case.office_code, item.competent_office if item else None, None


def decision_dict(d) -> dict[str, Any]:
    return {"id": d.id, "number": d.number, "approved": d.approved, "title": DECISION_TITLES[d.approved],
            "office": d.office, "entrusted": d.entrusted, "item": d.item_name, "holder": d.holder, "holder_id_no": d.holder_id_no,
            "reasons": d.reasons, "legal_basis": d.legal_basis, "appeal_rights": d.appeal_rights,
            "issued_at": d.issued_at.isoformat(), "issued_on": _day(d.issued_at)}


def decision_of_case(session, case_id: int) -> dict[str, Any] | None:
    from .models import Decision

    row = session.scalars(select(Decision).where(Decision.case_id == case_id)).first()
    return decision_dict(row) if row else None


def decision_document(session, case_id: int) -> dict[str, Any]:
    """The decision with what its page and PDF print: the case number and the dates of application."""
    from .models import ApprovalCase

    decision = decision_of_case(session, case_id)
    case = session.get(ApprovalCase, case_id)
    if decision is None or case is None:
        raise NotFound(f"case {case_id} has no decision", what="decision", case_id=case_id)
    return {**decision, "case_number": case.number, "submitted_on": _day(case.submitted_at),
            "accepted_on": _day(case.accepted_at) if case.accepted_at else None}


def _day(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL).strftime("%Y年%m月%d日") if moment else ""


def decision_paragraphs(doc: dict[str, Any]) -> list[str]:
    """The body of the decision, as printed on its page and in its PDF."""
    who = f"{doc['holder']}" + (f"（证件号码：{doc['holder_id_no']}）" if doc.get("holder_id_no") else "")
    received = f"你（单位）于{doc['submitted_on']}提出的{doc['item']}申请（办件编号：{doc['case_number']}）"
    accepted = f"，本机关已于{doc['accepted_on']}依法受理" if doc.get("accepted_on") else ""
    basis = f"根据{doc['legal_basis']}的规定，" if doc.get("legal_basis") else ""
    lines = [f"申请人：{who}", received + accepted + "。"]
    if doc.get("entrusted"):  # 委托下放: the county decides in the authority's name
        lines.insert(0, f"行政许可机关：{doc.get('office') or ''}；受委托机关：{doc['entrusted']}")
    if doc["approved"]:
        lines.append(f"经审查，你（单位）的申请符合法定条件、标准。{basis}本机关决定准予行政许可。"
                     "本机关将在十个工作日内向你（单位）颁发、送达行政许可证件。")
    else:
        lines.append(f"经审查，你（单位）的申请不符合法定条件、标准，理由如下：{doc.get('reasons') or '（未载明）'}。"
                     f"{basis}本机关决定不予行政许可。")
        lines.append(doc.get("appeal_rights") or "")
    return lines


# --- PDF ------------------------------------------------------------------------------

def font_path() -> Path:
    configured = os.environ.get("YIMEN_CJK_FONT")
    candidates = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("no Chinese font to draw the PDF with: install Debian's fonts-wqy-zenhei "
                      "(scripts/setup.sh does) or set YIMEN_CJK_FONT to a TrueType (.ttf/.ttc) CJK font",
                      refusal="font_missing", candidates=candidates)


def _pdf(title: str):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("Yimen")
    pdf.add_font("cjk", fname=str(font_path()))
    pdf.set_margins(22, 22, 22)
    pdf.add_page()
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 14, title, align="C", new_x="LMARGIN", new_y="NEXT")
    return pdf


def decision_pdf(doc: dict[str, Any]) -> bytes:
    pdf = _pdf(doc["title"])
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, doc["number"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("cjk", size=12)
    for line in decision_paragraphs(doc):
        if line:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.ln(12)
    pdf.cell(0, 8, doc.get("office") or "", align="R", new_x="LMARGIN", new_y="NEXT")
    if doc.get("entrusted"):
        pdf.cell(0, 8, f"（受委托机关：{doc['entrusted']}）", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, doc["issued_on"], align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def licence_pdf(licence: dict[str, Any], verify_url: str) -> bytes:
    pdf = _pdf(LICENCE_TITLE)
    pdf.set_font("cjk", size=12)
    pdf.ln(4)
    for label, value in licence_fields(licence):
        pdf.multi_cell(0, 9, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.image(io.BytesIO(qr_png(verify_url)), w=40)
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 6, f"扫描二维码或访问 {verify_url} 核验本证照", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def licence_fields(licence: dict[str, Any]) -> list[tuple[str, str]]:
    valid = f"{licence.get('valid_from') or ''} 至 {licence.get('valid_until') or '长期'}"
    fields = [("证照编号", licence.get("number") or ""), ("持证人", licence["holder"]),
              ("许可事项", licence["item"]), ("许可范围", licence.get("scope") or ""), ("有效期限", valid),
              ("发证机关", licence.get("office") or ""), ("发证日期", licence.get("issued_on") or ""),
              ("决定书文号", licence.get("decision_number") or "")]
    if licence.get("entrusted"):  # 委托下放: issued in the authority's name by the entrusted organ
        fields.insert(6, ("受委托机关", licence["entrusted"]))
    return fields


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as a PNG (the verification link of a licence)."""
    import qrcode

    image = qrcode.make(text, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- the applicant's progress timeline ----------------------------------------------------

STAGES = ("submitted", "accepted", "review", "decision", "licence", "delivered")


def progress(session, case) -> list[dict[str, Any]]:
    """Submitted → accepted → review → decision → licence → delivered, each with its promised and actual date.

    ``done`` is the moment the stage was completed (the review with the decision that ends it); ``promised`` the
    date it is due by (the acceptance decision 5 working days after receipt, the decision by the promised limit,
    the licence 10 working days after the decision); ``state`` is done, current, pending or skipped (no licence
    after a refusal). The current stage is the one the case is at, the first not completed: it holds the open
    steps (after acceptance the review with its 审查 / 审批 step, after the decision the licence, ...).
    """
    from .models import Decision, Delivery, Licence
    from .models.deadlines import DeadlineWatch, WatchKind

    watches = list(session.scalars(select(DeadlineWatch).where(DeadlineWatch.case_id == case.id)
                                   .order_by(DeadlineWatch.id)))
    first = lambda kind: next((w for w in watches if w.kind == kind), None)  # noqa: E731
    acceptance, clock = first(WatchKind.ACCEPTANCE), first(WatchKind.CASE)
    decision = session.scalars(select(Decision).where(Decision.case_id == case.id)).first()
    licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).first()
    delivery = session.scalars(select(Delivery).where(Delivery.case_id == case.id)).first()
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    refused = decision is not None and not decision.approved
    ended_early = case.status in ("not_accepted", "withdrawn", "terminated") and decision is None
    # the review ends with the decision (a case concluded without a written decision: when it concluded)
    reviewed = decision.issued_at if decision else case.concluded_at
    delivered_at = delivery.received_at or delivery.delivered_at if delivery else None
    stages = [
        ("submitted", case.submitted_at, None),
        ("accepted", case.accepted_at, acceptance.promised_due if acceptance else None),
        ("review", reviewed, None),
        ("decision", decision.issued_at if decision else None, clock.promised_due if clock else None),
        ("licence", licence.issued_at if licence else None, licence.due_at if licence else None),
        ("delivered", delivered_at, None),
    ]
    out, current_set = [], False
    for name, done, promised in stages:
        if name == "licence" and refused:
            state = "skipped"
        elif done is not None:
            state = "done"
        elif ended_early:
            state = "skipped"
        elif not current_set:
            state, current_set = "current", True
        else:
            state = "pending"
        if name == "licence" and licence is not None and licence.status == "revoked":
            state = "revoked"
        out.append({"stage": name, "state": state, "done": iso(done), "promised": iso(promised)})
    steps = _open_steps(session, case) if case.status not in CLOSED_STATES else []
    for entry in out:
        if entry["state"] == "current":
            entry["steps"] = steps  # where the case is now: the open steps, by name (Chinese and English)
    return out


CLOSED_STATES = ("not_accepted", "withdrawn", "terminated", "concluded")


def _open_steps(session, case) -> list[dict[str, Any]]:
    from .models import HumanTask, TaskStatus

    rows = session.execute(select(HumanTask.name, HumanTask.name_en).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == TaskStatus.OPEN).order_by(HumanTask.created_at))
    return [{"name": name, "name_en": name_en} for name, name_en in dict.fromkeys(tuple(r) for r in rows)]
