"""All tables, importable from one place (Alembic reads ``Base.metadata``)."""
from .base import Base
from .definitions import Deployment, DeploymentFile, ProcessDefinition
from .runtime import (
    EventSubscription, HumanTask, Incident, InstanceStatus, Job, JobStatus,
    ProcessInstance, TaskCandidate, TaskStatus, Timer,
)
from .identity import ApiToken, Department, Membership, User
from .calendar import CalendarDay, CalendarStamp, CalendarYear, DayKind
from .outbox import OutboxMessage, OutboxStatus
from .deadlines import Card, DeadlineWatch, WatchKind
from .supervision import CardStatus, IssuedCard, SpecialProcedure, SupervisionOrder
from .items import ServiceItem
from .notifications import NoticePreference, Notification
from .audit import AuditEvent, AuditHead
from .submissions import SubmissionKey
from .agents import AgentAuthorisation, VerifiedIdentity
from .enquiries import Enquiry
from .documents import Commitment, Decision, Delivery, DocumentCounter, Licence
from .levels import ItemImplementation
from .cases import ApprovalCase, CaseCounter, CaseMaterial, CaseNotice, CaseOpinion, CaseRating, CaseStatus, CreditRecord, CarbonCopy

__all__ = [
    "Base", "ItemImplementation", "Deployment", "DeploymentFile", "ProcessDefinition", "EventSubscription", "HumanTask",
    "Incident", "InstanceStatus", "Job", "JobStatus", "ProcessInstance", "TaskCandidate", "TaskStatus",
    "Timer", "Membership", "User", "ServiceItem", "Notification", "NoticePreference", "AuditEvent", "AuditHead", "ApprovalCase", "CaseCounter", "CaseMaterial",
    "CaseNotice", "CaseOpinion", "CaseStatus", "CreditRecord", "CarbonCopy", "CaseRating", "ApiToken", "Department",
    "CalendarDay", "CalendarStamp", "CalendarYear", "DayKind", "OutboxMessage", "OutboxStatus",
    "SubmissionKey", "AgentAuthorisation", "VerifiedIdentity", "Enquiry", "Commitment", "Decision", "Delivery", "DocumentCounter", "Licence", "Card", "DeadlineWatch", "WatchKind", "CardStatus", "IssuedCard", "SpecialProcedure", "SupervisionOrder",
]
