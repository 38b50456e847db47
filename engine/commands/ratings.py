"""Rating a case (好差评): the applicant's verdict on the service, once the case has ended.

A rating of 1 or 2 ("bad") must be followed up, so it notifies the
supervision group in the same transaction; the follow-up itself is a
supervision order like any other.
"""
from __future__ import annotations

from sqlalchemy import select

from ..cases import load_case
from ..context import Ctx, command
from ..errors import InvalidState, PermissionDenied, ValidationError
from ..models import Membership
from ..models.cases import CaseRating, CaseStatus

SCORES = {5: "very satisfied", 4: "satisfied", 3: "basically satisfied", 2: "dissatisfied", 1: "very dissatisfied"}
SCORES_ZH = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}  # 好差评's five grades
BAD = 2
SUPERVISION_GROUP = "supervision"
MAX_COMMENT = 2000


@command("case.rate")
def rate_case(ctx: Ctx, case_id: int, score: int, comment: str | None = None) -> dict:
    case = load_case(ctx.session, case_id)
    if ctx.actor.id not in {case.applicant_user, case.agent_user} - {None}:
        raise PermissionDenied(f"only the applicant of case {case.number} may rate it", refusal="not_applicant")
    if case.status not in CaseStatus.FINAL:
        raise InvalidState(f"case {case.number} is {case.status}; it can be rated once it has ended",
                           status=case.status, refusal="not_rated_yet")
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValidationError("score must be a whole number from 1 (very dissatisfied) to 5 (very satisfied)",
                              refusal="one_of", field="score")
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise ValidationError(f"the comment is longer than {MAX_COMMENT} characters", refusal="too_long",
                              field="comment", limit=MAX_COMMENT)
    if score <= BAD and not comment:
        raise ValidationError("a bad rating needs a comment saying what went wrong, so it can be followed up",
                              refusal="required", field="comment")
    existing = ctx.session.scalars(select(CaseRating).where(CaseRating.case_id == case.id).with_for_update()).first()
    if existing is not None:
        raise InvalidState(f"case {case.number} was already rated on {existing.rated_at.date().isoformat()}",
                           case=case.id, refusal="already_rated")
    rating = CaseRating(case_id=case.id, score=score, comment=comment, rated_by=ctx.actor.id, rated_at=ctx.now)
    ctx.session.add(rating)
    if score <= BAD:  # 差评: the responsible department's rectification (整改), on the case clock's calendar
        from ..rectification import open_for

        open_for(ctx, case, rating)
    if score <= BAD:
        from ..notify import notify_user

        for user_id in ctx.session.scalars(select(Membership.user_id).where(
                Membership.group_id == SUPERVISION_GROUP)).all():
            notify_user(ctx, user_id, f"差评：办件 {case.number}", f"评分 {score}（{SCORES_ZH[score]}）：{comment or '-'}",
                        instance_id=case.instance_id, kind="bad_rating",
                        params={"case_number": case.number, "score": score, "comment": comment})
    ctx.audit.instance_id = case.instance_id
    ctx.audit.data = {"case": case.id, "score": score, "comment": comment}
    return {"case": case.id, "score": score, "label": SCORES[score]}
