"""``Yimen``: the engine's front door for the CLI, the web layer and tests.

Each method builds the actor, runs one command (one transaction, one audit
event) or one query, and returns plain dicts — the same shapes the CLI
prints as JSON.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy.orm import Session

from . import audit, clock, diagrams, queries, supervision, sweeps
from .commands import deploy as deploy_cmd
from .commands import cases as case_cmd
from .commands import calendar as calendar_cmd
from .commands import items as item_cmd
from .commands import supervision as supervision_cmd
from .commands import (events, identity, instances, notices, ratings, reassign, return_task, signers, tasks, timers,
                       withdraw)
from .context import Actor, run_command
from .db import make_engine, make_sessionmaker
from .errors import EngineError, NotFound
from .models import User
from .models import reform as _reform_tables  # noqa: F401  (credit checks, 审管联动, rectification, filings)
from .models import bundles as _bundle_tables  # noqa: F401  (一件事: bundles, their applications and members)


class Yimen:
    def __init__(self, database_url: str | None = None, **engine_kwargs):
        self.db = make_engine(database_url, **engine_kwargs)
        self.sessions = make_sessionmaker(self.db)

    # --- actors ---------------------------------------------------------------
    def actor(self, user: str | None) -> Actor:
        """No user means the local administrator (the command line's default); a named
        user's rights are read inside the command's own transaction."""
        if user is None:
            return Actor.admin()
        return Actor(user, is_admin=None)

    def _run(self, user: str | None, fn, /, **kwargs):
        return run_command(self.sessions, self.actor(user), fn, **kwargs)

    def _read(self, fn, *args, **kwargs):
        from sqlalchemy.exc import OperationalError

        from .context import busy_or_raise

        with self.sessions() as session:
            try:
                session.connection(execution_options={"yimen_read_only": True})
                return fn(session, *args, **kwargs)
            except OperationalError as exc:
                raise busy_or_raise(exc) from exc
            finally:
                session.rollback()

    # --- commands ---------------------------------------------------------------
    def deploy(self, files: Iterable[tuple[str, bytes]], user: str | None = None, name: str | None = None,
               allow_scripts: bool = False) -> dict:
        return self._run(user, deploy_cmd.deploy, files=list(files), name=name, allow_scripts=allow_scripts)

    def start(self, key: str, data: dict | None = None, business_key: str | None = None, user: str | None = None,
              version: int | None = None) -> dict:
        return self._run(user, instances.start, key=key, data=data, business_key=business_key, version=version)

    def claim(self, task_id: str, user: str | None = None, for_user: str | None = None) -> dict:
        return self._run(user, tasks.claim, task_id=task_id, assignee=for_user or user)

    def unclaim(self, task_id: str, user: str | None = None) -> dict:
        return self._run(user, tasks.unclaim, task_id=task_id)

    def complete(self, task_id: str, data: dict | None = None, user: str | None = None) -> dict:
        return self._run(user, tasks.complete, task_id=task_id, data=data)

    def transfer(self, task_id: str, to_user: str, reason: str | None = None, user: str | None = None) -> dict:
        return self._run(user, reassign.transfer, task_id=task_id, to_user=to_user, reason=reason)

    def delegate(self, task_id: str, to_user: str, note: str | None = None, user: str | None = None) -> dict:
        return self._run(user, reassign.delegate, task_id=task_id, to_user=to_user, note=note)

    def return_to(self, task_id: str, target: str, reason: str, user: str | None = None) -> dict:
        return self._run(user, return_task.return_to, task_id=task_id, target=target, reason=reason)

    def withdraw(self, task_id: str, user: str | None = None) -> dict:
        return self._run(user, withdraw.withdraw, task_id=task_id)

    def can_see_task(self, task_id: str, user: dict) -> bool:
        """Whether ``user`` (as the pages know them) may see this task now: open and theirs to work."""
        from . import inbox
        from .models import HumanTask, TaskStatus

        def run(s):
            row = s.get(HumanTask, task_id)
            return row is not None and row.status == TaskStatus.OPEN and inbox.can_see_task(s, user, row)
        return self._read(run)

    def extension_request(self, task_id: str) -> dict | None:
        """The extension (延期) request a head-of-office step decides: its case, reason, working days and who
        asked when; None for any other step."""
        from .models import HumanTask, ProcessInstance

        def run(s):
            row = s.get(HumanTask, task_id)
            instance = s.get(ProcessInstance, row.instance_id) if row is not None else None
            case_id = (instance.mirror or {}).get("extension_of") if instance is not None else None
            if not case_id:
                return None
            data = instance.data or {}
            return {"case": case_id, "reason": data.get("reason"), "days": data.get("days"),
                    "requested_by": instance.started_by, "requested_at": instance.started_at.isoformat()}
        return self._read(run)

    def withdrawable(self, instance: int, user: str) -> str | None:
        """The step of ``instance`` that ``user`` may still take back (撤回), if any."""
        return self._read(withdraw.withdrawable, instance, user)

    def add_signer(self, task_id: str, signer: str, position: str = "after", user: str | None = None) -> dict:
        return self._run(user, signers.add_signer, task_id=task_id, user=signer, position=position)

    def remove_signer(self, task_id: str, signer: str, user: str | None = None) -> dict:
        return self._run(user, signers.remove_signer, task_id=task_id, user=signer)

    # --- service items (事项) -------------------------------------------------------
    def save_item(self, item: dict, user: str | None = None) -> dict:
        return self._run(user, item_cmd.save_item, item=item)

    def import_items(self, text: str, fmt: str = "json", user: str | None = None) -> dict:
        return self._run(user, item_cmd.import_items, text=text, fmt=fmt)

    def set_item_enabled(self, code: str, enabled: bool, user: str | None = None) -> dict:
        return self._run(user, item_cmd.set_enabled, code=code, enabled=enabled)

    def bind_item(self, code: str, process_key: str, process_version: int | None = None,
                  user: str | None = None) -> dict:
        """Point a service item at a deployed process (``None``: always the newest version)."""
        return self._run(user, item_cmd.bind_process, code=code, process_key=process_key,
                         process_version=process_version)

    def item(self, code: str) -> dict:
        from .items import get_item, item_dict

        return self._read(lambda s: item_dict(get_item(s, code)))

    def items(self) -> list[dict]:
        from sqlalchemy import select

        from .items import item_dict
        from .models import ServiceItem

        return self._read(lambda s: [item_dict(i) for i in s.scalars(select(ServiceItem).order_by(ServiceItem.code))])

    def export_items(self, fmt: str = "json") -> str:
        from sqlalchemy import select

        from .items import export_csv, export_json
        from .models import ServiceItem

        def run(s):
            rows = list(s.scalars(select(ServiceItem).order_by(ServiceItem.code)))
            return export_json(rows) if fmt == "json" else export_csv(rows)

        return self._read(run)

    # --- cases (办件) -------------------------------------------------------------
    def submit(self, item_code: str, applicant: dict, materials: list[dict] | None = None, form: dict | None = None,
               agent: dict | None = None, user: str | None = None, idempotency_key: str | None = None,
               online: bool = False, region: str | None = None) -> dict:
        """``online``: the applicant's own application, checked in full first (``engine.validation``);
        ``region``: the applicant's county or development zone (放权, ``engine.levels``)."""
        return self._run(user, case_cmd.submit, item_code=item_code, applicant=applicant, materials=materials,
                         form=form, agent=agent, idempotency_key=idempotency_key, online=online, region=region)

    # --- 代办: agent authorisations (engine.agents) ---------------------------------------------------------
    def authorise_agent(self, agent: str, applicant: dict, valid_until, scope: list[str] | None = None,
                        valid_from=None, scan: dict | None = None, user: str | None = None) -> dict:
        """A 委托书: granted online by the signed-in applicant, or recorded from paper (``scan``) by the window."""
        from .commands import agents as agent_cmd

        return self._run(user, agent_cmd.authorise, agent=agent, applicant=applicant, valid_until=valid_until,
                         scope=scope, valid_from=valid_from, scan=scan)

    # --- 首问负责: first-contact enquiries (engine.enquiries) ----------------------------------------------
    def record_enquiry(self, applicant_name: str, question: str, item_code: str | None = None,
                       department: str | None = None, contact: str | None = None, user: str | None = None) -> dict:
        from . import enquiries

        return self._run(user, enquiries.record, applicant_name=applicant_name, question=question,
                         item_code=item_code, department=department, contact=contact)

    def answer_enquiry(self, enquiry_id: int, text: str, user: str | None = None) -> dict:
        from . import enquiries

        return self._run(user, enquiries.answer, enquiry_id=enquiry_id, text=text)

    def enquiry_list(self, user: dict, **filters) -> dict:
        """One page of the enquiries ``user`` may see (``engine.enquiries.enquiries``)."""
        from . import enquiries

        return self._read(enquiries.enquiries, user, **filters)

    def verify_identity(self, user_id: str, kind: str, name: str, id_no: str, user: str | None = None) -> dict:
        """实名认证 of an account at the window: its holder may then grant authorisations online."""
        from .commands import agents as agent_cmd

        return self._run(user, agent_cmd.verify_identity, user_id=user_id, kind=kind, name=name, id_no=id_no)

    def revoke_authorisation(self, authorisation_id: int, user: str | None = None) -> dict:
        from .commands import agents as agent_cmd

        return self._run(user, agent_cmd.revoke, authorisation_id=authorisation_id)

    def authorisations(self, user: dict, **filters) -> dict:
        """One page of the authorisations ``user`` may see (``engine.agents.authorisations``)."""
        from . import agents
        from .cases import LOCAL

        return self._read(agents.authorisations, user, clock.now().astimezone(LOCAL).date(), **filters)

    def agent_registry(self) -> list[dict]:
        """The centre's free 代办 agents with their cases and ratings."""
        from . import agents

        return self._read(agents.registry)

    def accept(self, case_id: int, opinion: str | None = None, user: str | None = None) -> dict:
        return self._run(user, case_cmd.accept, case_id=case_id, opinion=opinion)

    def not_accept(self, case_id: int, reason: str, competent_office: str | None = None,
                   user: str | None = None) -> dict:
        return self._run(user, case_cmd.not_accept, case_id=case_id, reason=reason,
                         competent_office=competent_office)

    def request_correction(self, case_id: int, problems: list[dict], user: str | None = None,
                           second_notice_reason: str | None = None) -> dict:
        return self._run(user, case_cmd.request_correction, case_id=case_id, problems=problems,
                         second_notice_reason=second_notice_reason)

    def accept_with_missing(self, case_id: int, supplement_days: int | None = None, opinion: str | None = None,
                            user: str | None = None) -> dict:
        return self._run(user, case_cmd.accept_with_missing, case_id=case_id, supplement_days=supplement_days,
                         opinion=opinion)

    def resubmit(self, case_id: int, materials: list[dict] | None = None, note: str | None = None,
                 user: str | None = None, applicant: dict | None = None, form: dict | None = None) -> dict:
        """The applicant's answer to a correction notice (补正): corrected files and fields; back to the window."""
        return self._run(user, case_cmd.resubmit, case_id=case_id, materials=materials, note=note,
                         applicant=applicant, form=form)

    # --- decisions, licences, delivery, commitments (engine.documents, engine.licences) ---------------
    def issue_licence(self, case_id: int, scope: str | None = None, valid_until: str | None = None,
                      user: str | None = None) -> dict:
        """制证: the window issues the approved case's licence (Art. 44)."""
        from .commands import licences as licence_cmd

        return self._run(user, licence_cmd.issue, case_id=case_id, scope=scope, valid_until=valid_until)

    def verify_licence(self, number: str) -> dict:
        """The public verification of a licence by its number (no sign-in)."""
        from . import licences

        return self._read(licences.verify, number)

    def decision_document(self, case_id: int) -> dict:
        """The case's written decision with what its page and PDF print (no visibility check: see visible_case)."""
        from . import documents

        return self._read(documents.decision_document, case_id)

    def choose_delivery(self, case_id: int, method: str, address: str | None = None, recipient: str | None = None,
                        phone: str | None = None, user: str | None = None) -> dict:
        from .commands import delivery as delivery_cmd

        return self._run(user, delivery_cmd.choose, case_id=case_id, method=method, address=address,
                         recipient=recipient, phone=phone)

    def dispatch_result(self, case_id: int, tracking_no: str | None = None, carrier: str | None = None,
                        user: str | None = None) -> dict:
        from .commands import delivery as delivery_cmd

        return self._run(user, delivery_cmd.dispatch, case_id=case_id, tracking_no=tracking_no, carrier=carrier)

    def confirm_delivered(self, case_id: int, user: str | None = None) -> dict:
        from .commands import delivery as delivery_cmd

        return self._run(user, delivery_cmd.delivered, case_id=case_id)

    def confirm_received(self, case_id: int, user: str | None = None) -> dict:
        from .commands import delivery as delivery_cmd

        return self._run(user, delivery_cmd.received, case_id=case_id)

    def sign_commitment(self, case_id: int, agree: bool, signer_name: str, user: str | None = None) -> dict:
        """告知承诺: the applicant signs the commitment online."""
        from .commands import commitments

        return self._run(user, commitments.sign, case_id=case_id, agree=agree, signer_name=signer_name)

    def record_paper_commitment(self, case_id: int, signer_name: str, filename: str, content: bytes,
                                user: str | None = None) -> dict:
        """告知承诺: window staff record a walk-in applicant's signed paper commitment with its scan."""
        from .commands import commitments

        return self._run(user, commitments.record_paper, case_id=case_id, signer_name=signer_name,
                         filename=filename, content=content)

    def supplement(self, case_id: int, materials: list[dict], user: str | None = None) -> dict:
        return self._run(user, case_cmd.supplement, case_id=case_id, materials=materials)

    def decide(self, task_id: str, approved: bool, opinion: str, user: str | None = None) -> dict:
        return self._run(user, case_cmd.decide, task_id=task_id, approved=approved, opinion=opinion)

    def urge(self, instance: int, message: str | None = None, user: str | None = None) -> dict:
        return self._run(user, notices.urge, instance_id=instance, message=message)

    def carbon_copy(self, instance: int, users: list[str], note: str | None = None, user: str | None = None) -> dict:
        return self._run(user, notices.carbon_copy, instance_id=instance, users=users, note=note)

    def notice_prefs(self, user_id: str) -> dict:
        """Whether ``user_id``'s notices also go by e-mail and by SMS, and to which address and number."""
        from .notify import notice_prefs

        return self._read(notice_prefs, user_id)

    def set_notice_prefs(self, user_id: str, email: bool | None = None, sms: bool | None = None,
                         user: str | None = None, categories: dict | None = None) -> dict:
        """E-mail and SMS for all of ``user_id``'s notices (``email``, ``sms``) and/or per category."""
        return self._run(user, notices.set_notice_prefs, user_id=user_id, email=email, sms=sms, categories=categories)

    def notifications(self, user: str, unread_only: bool = False) -> list[dict]:
        from .notify import notifications

        return self._read(notifications, user, unread_only)

    def verify_commitment(self, task_id: str, commitment_true: bool, note: str, user: str | None = None) -> dict:
        return self._run(user, case_cmd.verify_commitment, task_id=task_id, commitment_true=commitment_true, note=note)

    def request_extension(self, case_id: int, reason: str, user: str | None = None) -> dict:
        return self._run(user, case_cmd.request_extension, case_id=case_id, reason=reason)

    def withdraw_application(self, case_id: int, reason: str | None = None, user: str | None = None,
                             staff_suggested: bool = False) -> dict:
        return self._run(user, case_cmd.withdraw_application, case_id=case_id, reason=reason,
                         staff_suggested=staff_suggested)

    def terminate_case(self, case_id: int, reason: str, user: str | None = None) -> dict:
        return self._run(user, case_cmd.terminate, case_id=case_id, reason=reason)

    def rate_case(self, case_id: int, score: int, comment: str | None = None, user: str | None = None) -> dict:
        """The applicant's rating (好差评), 1-5, once the case has ended."""
        return self._run(user, ratings.rate_case, case_id=case_id, score=score, comment=comment)

    def case(self, case_id: int) -> dict:
        return self._read(case_cmd.view, case_id)

    def message(self, name: str, data: dict | None = None, instance: int | None = None,
                business_key: str | None = None, user: str | None = None) -> dict:
        return self._run(user, events.message, name=name, data=data, instance_id=instance, business_key=business_key)

    def signal(self, name: str, data: dict | None = None, user: str | None = None) -> dict:
        return self._run(user, events.signal, name=name, data=data)

    def terminate(self, instance: int, reason: str, user: str | None = None) -> dict:
        return self._run(user, instances.terminate, instance_id=instance, reason=reason)

    def retry_incident(self, incident: int, user: str | None = None) -> dict:
        return self._run(user, timers.retry_incident, incident_id=incident)

    def add_user(self, user_id: str, groups: list[str] | None = None, admin: bool = False,
                 display_name: str | None = None, user: str | None = None, roles: list[str] | None = None,
                 department: str | None = None, email: str | None = None, phone: str | None = None,
                 password: str | None = None, display_name_en: str | None = None) -> dict:
        return self._run(user, identity.add_user, user_id=user_id, groups=groups or [], admin=admin,
                         display_name=display_name, roles=roles, department=department, email=email,
                         phone=phone, password=password, display_name_en=display_name_en)

    def set_backup(self, user_id: str, backup: str | None, absent: bool = False, user: str | None = None) -> dict:
        """AB角: ``user_id``'s backup person, and whether ``user_id`` is away (their steps then go to the backup)."""
        return self._run(user, identity.set_backup, user_id=user_id, backup=backup, absent=absent)

    def users(self) -> list[dict]:
        """Every account with roles, groups, department and AB backup (the administration page)."""
        return self._read(identity.users)

    def save_department(self, department_id: str, name: str, level: str, parent: str | None = None,
                        user: str | None = None, name_en: str | None = None) -> dict:
        return self._run(user, identity.save_department, department_id=department_id, name=name, level=level,
                         parent=parent, name_en=name_en)

    def set_password(self, user_id: str, password: str, user: str | None = None) -> dict:
        return self._run(user, identity.set_password, user_id=user_id, password=password)

    def create_token(self, user_id: str, name: str, user: str | None = None,
                     expires_in_days: int | None = None) -> dict:
        return self._run(user, identity.create_token, user_id=user_id, name=name, expires_in_days=expires_in_days)

    def tokens(self, user_id: str) -> list[dict]:
        """A user's API tokens (never the secret): created, expires, last used, state."""
        return self._read(identity.tokens, user_id, clock.now())

    def set_user_active(self, user_id: str, active: bool, user: str | None = None) -> dict:
        """Deactivate (停用) or reactivate an account; deactivation ends its sessions and revokes its tokens."""
        return self._run(user, identity.set_active, user_id=user_id, active=active)

    def sign_out_everywhere(self, user_id: str, user: str | None = None) -> dict:
        return self._run(user, identity.sign_out_everywhere, user_id=user_id)

    def end_session(self, session_id: str, until: datetime, user: str) -> dict:
        """Sign one browser session out (its id is refused from now until ``until``)."""
        return self._run(user, identity.end_session, session_id=session_id, until=until)

    def session_user(self, user_id: str, version: int | None, session_id: str | None) -> dict:
        """The details of a browser session's user, or ``SessionEnded`` if it was signed out or is out of date."""
        return self._read(lambda s: identity.user_dict(s, identity.session_user(s, user_id, version, session_id)))

    def token_user(self, token: str) -> dict:
        """The user of a bearer token (its use recorded at most once a minute), or the coded refusal."""
        now = clock.now()

        def run(s):
            found, row, groups = identity.token_user(s, token, now)
            return identity.user_dict(s, found, groups), row.id, identity.needs_touch(row, now)
        found, token_id, touch = self._read(run)
        if touch:
            from sqlalchemy.exc import OperationalError

            try:
                with self.sessions.begin() as s:
                    identity.touch_token(s.connection(), token_id, now)
            except OperationalError:  # busy: the next use records it
                pass
        return found

    def sign_in(self, user_id: str, password: str, address: str) -> dict | None:
        """Sign-in with throttling: the user's details and session version, None for a wrong password, or
        ``SignInThrottled`` while the account or the address is locked out."""
        self._read(identity.sign_in_wait, user_id, address, clock.now())
        result = run_command(self.sessions, Actor.system(), identity.sign_in, account=user_id, password=password,
                             address=address)
        if result["user"] is None:
            return None
        return {**result["user"], "session_version": result["session_version"]}

    def revoke_token(self, token_id: int, user: str | None = None) -> dict:
        return self._run(user, identity.revoke_token, token_id=token_id)

    def authenticate(self, user_id: str, password: str) -> dict | None:
        """The signed-in user's details, or None for an unknown user or a wrong password."""
        def run(s):
            found = identity.authenticate(s, user_id, password)
            return identity.user_dict(s, found) if found else None
        return self._read(run)

    def user_for_token(self, token: str) -> dict | None:
        def run(s):
            found = identity.user_for_token(s, token)
            return identity.user_dict(s, found) if found else None
        return self._read(run)

    def user(self, user_id: str) -> dict:
        def run(s):
            found = s.get(User, user_id)
            if found is None:
                raise NotFound(f"user '{user_id}' does not exist")
            return identity.user_dict(s, found)
        return self._read(run)

    def staff_directory(self, search: str | None = None, department: str | None = None) -> list[dict]:
        """Active staff by department and name (the 抄送 picker): id, name, name_en, department and its names."""
        return self._read(identity.staff_directory, search, department)

    def pending_licences(self, user: dict, state: str | None = None, limit: int = 50, offset: int = 0) -> dict:
        """证照待制发: licences waiting to be issued with their 10-working-day clock, soonest due first (paged)."""
        from .licences import pending_licences

        return self._read(pending_licences, user, state, limit, offset)

    def departments(self) -> list[dict]:
        return self._read(identity.departments)

    def user_names(self, user_ids) -> dict[str, dict]:
        """People's names, for pages that show who did something: id -> {name, name_en}, in one query."""
        return self._read(identity.user_names, sorted({u for u in user_ids if isinstance(u, str) and u}))

    # --- the working-day calendar (工作日历) -------------------------------------------
    def seed_calendar(self, years: list[int] | None = None, user: str | None = None) -> dict:
        return self._run(user, calendar_cmd.seed_calendar, years=years)

    def import_calendar(self, text: str, fmt: str = "csv", user: str | None = None) -> dict:
        return self._run(user, calendar_cmd.import_calendar, text=text, fmt=fmt)

    def set_calendar_day(self, day: str, kind: str, name: str | None = None, user: str | None = None) -> dict:
        return self._run(user, calendar_cmd.set_day, day=day, kind=kind, name=name)

    def calendar(self, year: int) -> list[dict]:
        return self._read(calendar_cmd.calendar_days, year)

    def calendar_years(self) -> list[dict]:
        return self._read(calendar_cmd.calendar_years)

    def calendar_overview(self, ahead: int = 2) -> list[dict]:
        """Official (entered) years and the provisional ones up to ``ahead`` years after today."""
        from .calendar import LOCAL

        return self._read(calendar_cmd.calendar_overview, clock.now().astimezone(LOCAL).date(), ahead)

    def calendar_year_view(self, year: int) -> dict:
        """One year day by day, official or provisional, for the calendar page."""
        return self._read(calendar_cmd.calendar_year_view, year)

    def working_calendar(self):
        """The calendar's pure computations (add / count working days), as entered now."""
        from . import calendar

        return self._read(calendar.load)

    # --- the case clock and supervision (督查) -----------------------------------------
    def advance_deadlines(self, until: datetime | None = None) -> dict:
        return sweeps.advance_deadlines(self.sessions, until)

    def start_special_procedure(self, case_id: int, kind: str, reason: str, expected_days: int,
                                user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.start_special_procedure, case_id=case_id, kind=kind, reason=reason,
                         expected_days=expected_days)

    def end_special_procedure(self, case_id: int, result: str, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.end_special_procedure, case_id=case_id, result=result)

    def confirm_card(self, card_id: int, confirm: bool = True, note: str | None = None,
                     user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.confirm_card, card_id=card_id, confirm=confirm, note=note)

    def appeal_card(self, card_id: int, reason: str, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.appeal_card, card_id=card_id, reason=reason)

    def decide_appeal(self, card_id: int, granted: bool, note: str, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.decide_appeal, card_id=card_id, granted=granted, note=note)

    def issue_order(self, content: str, deadline_days: int, case_id: int | None = None,
                    department: str | None = None, assignee: str | None = None, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.issue_order, content=content, deadline_days=deadline_days,
                         case_id=case_id, department=department, assignee=assignee)

    def answer_order(self, order_id: int, reply: str, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.answer_order, order_id=order_id, reply=reply)

    def close_order(self, order_id: int, user: str | None = None) -> dict:
        return self._run(user, supervision_cmd.close_order, order_id=order_id)

    def watches(self, user: dict | None = None, **filters) -> dict:
        """One page of running clocks ``user`` may see (None: all), e.g. ``watches(department="SJ", state="red")``."""
        return self._read(supervision.watches, user, **filters)

    def due_within(self, working_days: int, department: str | None = None, limit: int = 100,
                   offset: int = 0, user: dict | None = None) -> dict:
        """Everything whose promised limit ends within the next ``working_days`` working days."""
        def run(s):
            from . import calendar

            moment = calendar.load(s).deadline(clock.now(), working_days)
            return supervision.due_before(s, moment, user, department=department, limit=limit, offset=offset)
        return self._read(run)

    def supervision_overview(self, date_from=None, date_to=None, department: str | None = None,
                             item: str | None = None) -> dict:
        """The dashboard (``supervision.dashboard``): counts, on-time rates, working days, cards over a period."""
        def run(s):
            from . import calendar

            return supervision.dashboard(s, calendar.load(s), date_from, date_to, department=department, item=item)
        return self._read(run)

    def cards(self, user: dict | None = None, **filters) -> dict:
        """One page of cards ``user`` may see (None: all; ``supervision.cards``: filters)."""
        return self._read(supervision.cards, user, **filters)

    def orders(self, user: dict | None = None, **filters) -> dict:
        """One page of supervision orders ``user`` may see (None: all; ``supervision.orders``: filters)."""
        return self._read(supervision.orders, user, **filters)

    def fire_timers(self, until: datetime | None = None) -> dict:
        return sweeps.fire_due_timers(self.sessions, until)

    def run_jobs(self, until: datetime | None = None) -> dict:
        return sweeps.run_due_jobs(self.sessions, until)

    # --- the outbox (发件箱): e-mail and SMS ------------------------------------------
    def dispatch_outbox(self, until: datetime | None = None) -> dict:
        """Send the e-mail and SMS due up to ``until`` (default now)."""
        return sweeps.dispatch_outbox(self.sessions, until)

    def outbox(self, status: str | None = None, limit: int = 100) -> list[dict]:
        from .outbox import messages

        return self._read(messages, status=status, limit=limit)

    # --- queries -----------------------------------------------------------------
    def tasks(self, instance: int | None = None, user: str | None = None, group: str | None = None,
              limit: int = 1000, offset: int = 0) -> list[dict]:
        return self._read(queries.open_tasks, instance=instance, user=user, group=group, limit=limit, offset=offset)

    def inbox(self, user: dict, **filters) -> dict:
        """One page of the open tasks ``user`` may see (``engine.lists.inbox``: filters, ``limit``, ``offset``)."""
        from . import lists

        return self._read(lists.inbox, user, **filters)

    def case_list(self, user: dict, **filters) -> dict:
        """One page of the cases ``user`` may see (``engine.lists.cases``: filters, ``limit``, ``offset``)."""
        from . import lists

        return self._read(lists.cases, user, **filters)

    def visible_task(self, task_id: str, user: dict) -> dict:
        """One task as ``user`` may see it, with its form fields and its case id; NotFound otherwise."""
        from . import calendar, forms, inbox
        from .cases import case_of_instance
        from .models import HumanTask

        def run(s):
            row = s.get(HumanTask, task_id)
            if row is None or not inbox.can_see_task(s, user, row):
                raise NotFound(f"task {task_id} does not exist")
            case = case_of_instance(s, row.instance_id)
            return {**queries.task_dict(row, calendar.official_years(s)), "fields": forms.fields_of_task(s, row),
                    "case_id": case.id if case else None}
        return self._read(run)

    def visible_case(self, case_id: int, user: dict) -> dict:
        """The case as ``user`` may see it (``case``); NotFound also for a case of another department."""
        from . import inbox
        from .models import ApprovalCase

        def run(s):
            if not inbox.can_see_case(s, user, s.get(ApprovalCase, case_id)):
                raise NotFound(f"case {case_id} does not exist")
            return case_cmd.view(s, case_id)
        return self._read(run)

    @staticmethod
    def _task_check(task_id: str, user: dict):
        from . import inbox
        from .models import HumanTask

        def run(s):
            if not inbox.can_see_task(s, user, s.get(HumanTask, task_id)):
                raise NotFound(f"task {task_id} does not exist")
        return run

    @staticmethod
    def _case_check(case_id: int, user: dict):
        from . import inbox
        from .models import ApprovalCase

        def run(s):
            if not inbox.can_see_case(s, user, s.get(ApprovalCase, case_id)):
                raise NotFound(f"case {case_id} does not exist")
        return run

    @contextmanager
    def seen_by(self, user: dict, case_id: int | None = None, task_id: str | None = None):
        """Verbs run inside act on a case or step ``user`` may see, or answer NotFound: the first command
        checks it in its own transaction, before it runs (``engine.context.FirstCommandCheck``); a verb
        refused before any command ran has the check run on its own, so an invisible case or step is not
        found whatever else was wrong with the request."""
        from .context import FirstCommandCheck, clear_check, pending_check

        check = FirstCommandCheck(self._case_check(case_id, user) if task_id is None
                                  else self._task_check(task_id, user))
        token = pending_check(check)
        try:
            yield
        except EngineError:
            check.settle(self._read)  # refused before its command: not found, if the caller may not see it
            raise
        finally:
            clear_check(token)
        check.settle(self._read)  # the verb ran no command (a read alone): the check still holds

    def material_file(self, case_id: int, material_id: int) -> dict:
        """Where a received material of a case is stored and its checksum (no visibility check: see visible_case)."""
        from .models import CaseMaterial

        def run(s):
            material = s.get(CaseMaterial, material_id)
            if material is None or material.case_id != case_id or not material.stored_path:
                raise NotFound(f"material {material_id} of case {case_id} does not exist")
            return {"path": material.stored_path, "sha256": material.sha256,
                    "filename": material.filename or material.name}
        return self._read(run)

    def show(self, instance: int) -> dict:
        return self._read(queries.show_instance, instance)

    def incidents(self, instance: int | None = None) -> list[dict]:
        return self._read(queries.open_incidents, instance)

    def incident_list(self, user: dict | None = None, **filters) -> dict:
        """One page of incidents ``user`` may see (None: all; ``queries.incidents``: filters, ``limit``, ``offset``)."""
        return self._read(queries.incidents, user, **filters)

    def process_versions(self) -> list[dict]:
        """Each process key with its versions and the instances and cases running on each."""
        return self._read(diagrams.process_versions)

    def definition(self, definition_id: int) -> dict:
        return self._read(diagrams.definition_dict, definition_id)

    def diagram_xml(self, definition_id: int) -> bytes:
        """The uploaded BPMN file (with its drawing) of a process version."""
        return self._read(diagrams.diagram_xml, definition_id)

    def instance_marks(self, instance: int) -> dict:
        """Completed, active, overdue and failed elements of an instance, for highlighting its diagram."""
        return self._read(diagrams.instance_marks, instance)

    def audit_trail(self, instance: int) -> list[dict]:
        """The audit events of one instance (and its case), oldest first."""
        return self._read(audit.events_of_instance, instance)

    def verify_audit(self) -> dict:
        return self._read(audit.verify)

    # --- reform mechanisms (issue 16): credit, 审管联动, 好差评 rectification, 否定备案 ------------------
    def import_credit_list(self, text: str, list_name: str | None = None, user: str | None = None) -> dict:
        from .commands import credit as credit_cmd

        return self._run(user, credit_cmd.import_list, text=text, list_name=list_name)

    def credit_check(self, case_id: int, user: str | None = None) -> dict:
        from .commands import credit as credit_cmd

        return self._run(user, credit_cmd.check_case, case_id=case_id)

    def save_reform_settings(self, item_code: str, green_channel_days: int | None = None,
                             rectification_days: int | None = None, user: str | None = None) -> dict:
        from .commands import credit as credit_cmd

        return self._run(user, credit_cmd.save_item_settings, item_code=item_code,
                         green_channel_days=green_channel_days, rectification_days=rectification_days)

    def reform_settings(self) -> list[dict]:
        from .commands import credit as credit_cmd

        return self._read(credit_cmd.item_settings)

    def credit_entries(self, search: str | None = None, limit: int = 100, offset: int = 0) -> dict:
        from . import credit

        return self._read(credit.subjects, search, limit, offset)

    def credit_profile(self, id_no: str) -> dict:
        from . import credit
        from .cases import LOCAL

        return self._read(credit.profile, id_no, clock.now().astimezone(LOCAL).date())

    # --- 放权: the implementation list (engine.levels) ----------------------------------------------------
    def set_implementation(self, item_code: str, region: str, mode: str, handler: str | None = None,
                           note: str | None = None, user: str | None = None) -> dict:
        from .commands import levels as levels_cmd

        return self._run(user, levels_cmd.set_entry, item_code=item_code, region=region, mode=mode, handler=handler,
                         note=note)

    def remove_implementation(self, item_code: str, region: str, user: str | None = None) -> dict:
        from .commands import levels as levels_cmd

        return self._run(user, levels_cmd.remove_entry, item_code=item_code, region=region)

    def import_implementations(self, text: str, fmt: str = "json", user: str | None = None) -> dict:
        from .commands import levels as levels_cmd

        return self._run(user, levels_cmd.import_list, text=text, fmt=fmt)

    def implementations(self, item_code: str | None = None, region: str | None = None) -> list[dict]:
        from . import levels

        return self._read(levels.entries, item_code, region)

    def export_implementations(self, fmt: str = "json") -> str:
        from . import levels

        return self._read(levels.export, fmt)

    def regions(self) -> list[dict]:
        """The counties and development zones an applicant may choose as their region."""
        from . import levels

        return self._read(levels.regions)

    def route_preview(self, item_code: str, region: str | None = None) -> dict:
        """Where an application of ``item_code`` from ``region`` would go (the public listing's answer)."""
        from . import levels
        from .items import get_item

        return self._read(lambda s: levels.route(s, get_item(s, item_code), region).as_dict())

    def import_linkage(self, text: str, fmt: str = "json", user: str | None = None) -> dict:
        from .commands import linkage as linkage_cmd

        return self._run(user, linkage_cmd.import_list, text=text, fmt=fmt)

    def linkage_list(self, item_code: str | None = None) -> list[dict]:
        from . import linkage

        return self._read(linkage.linkage_list, item_code)

    def export_linkage(self, fmt: str = "json") -> str:
        from . import linkage

        return self._read(linkage.export, fmt)

    def pushes(self, department: str | None = None, opened: bool | None = None, case_id: int | None = None,
               limit: int = 100, offset: int = 0) -> dict:
        from . import linkage

        return self._read(linkage.pushes, department, opened, case_id, limit, offset)

    def push(self, push_id: int) -> dict:
        """One push of the supervision inbox (NotFound when there is none)."""
        from . import linkage
        from .errors import NotFound
        from .models.reform import LinkagePush

        def run(s):
            row = s.get(LinkagePush, push_id)
            if row is None:
                raise NotFound(f"push {push_id} does not exist", what="push")
            return linkage.push_dict(row)
        return self._read(run)

    def open_push(self, push_id: int, user: str | None = None) -> dict:
        from .commands import linkage as linkage_cmd

        return self._run(user, linkage_cmd.open_push, push_id=push_id)

    def unopened_pushes(self) -> list[dict]:
        from . import linkage

        return self._read(linkage.unopened_report, clock.now())

    def feed_back(self, case_id: int, kind: str, content: str, measures: str | None = None,
                  credit_level: str | None = None, expires_on: str | None = None, user: str | None = None) -> dict:
        from .commands import linkage as linkage_cmd

        return self._run(user, linkage_cmd.feed_back, case_id=case_id, kind=kind, content=content,
                         measures=measures, credit_level=credit_level, expires_on=expires_on)

    def supervision_feedback(self, case_id: int | None = None, department: str | None = None,
                             office: str | None = None, limit: int = 100, offset: int = 0) -> dict:
        from . import linkage

        return self._read(linkage.feedback, case_id, department, office, limit, offset)

    def rectifications(self, department: str | None = None, status: str | None = None, case_id: int | None = None,
                       limit: int = 100, offset: int = 0) -> dict:
        from . import rectification

        return self._read(rectification.rectifications, department, status, case_id, limit, offset)

    def reply_rectification(self, rectification_id: int, reply: str, user: str | None = None) -> dict:
        from .commands import rectification as rect_cmd

        return self._run(user, rect_cmd.reply, rectification_id=rectification_id, reply=reply)

    def close_rectification(self, rectification_id: int, visit_answer: str, satisfied: bool,
                            user: str | None = None) -> dict:
        from .commands import rectification as rect_cmd

        return self._run(user, rect_cmd.close, rectification_id=rectification_id, visit_answer=visit_answer,
                         satisfied=satisfied)

    def rating_report(self) -> dict:
        from . import rectification

        return self._read(rectification.report)

    def rating_summary(self) -> dict:
        from . import rectification

        return self._read(rectification.public_summary)

    def negative_filings(self, status: str | None = None, department: str | None = None,
                         case_id: int | None = None, limit: int = 100, offset: int = 0) -> dict:
        from . import negative_filing

        return self._read(negative_filing.filings, status, department, case_id, limit, offset)

    def confirm_filing(self, filing_id: int, note: str | None = None, user: str | None = None) -> dict:
        from . import negative_filing

        return self._run(user, negative_filing.confirm, filing_id=filing_id, note=note)

    def reopen_filing(self, filing_id: int, note: str, user: str | None = None) -> dict:
        from . import negative_filing

        return self._run(user, negative_filing.reopen, filing_id=filing_id, note=note)

    def reform_of_case(self, case_id: int) -> dict:
        """What the reform mechanisms hold on one case: credit checks, pushes, feedback, rectification, filings."""
        from . import credit, linkage, negative_filing, rectification

        def run(s):
            return {"credit_check": credit.check_dict(credit.latest_check(s, case_id)),
                    "pushes": linkage.pushes(s, case_id=case_id)["items"],
                    "feedback": linkage.feedback(s, case_id=case_id)["items"],
                    "rectification": next(iter(rectification.rectifications(s, case_id=case_id)["items"]), None),
                    "filings": negative_filing.filings(s, case_id=case_id)["items"]}
        return self._read(run)

    # --- bundles (一件事 / 一链办理): engine.bundles, engine.commands.bundles ------------------------------------
    def save_bundle(self, code: str, name: str, items: list[str], name_en: str | None = None,
                    shared_materials: list[str] | None = None, cross_level: bool = False, enabled: bool = True,
                    user: str | None = None) -> dict:
        from .commands import bundles as bundle_cmd

        return self._run(user, bundle_cmd.save_bundle, code=code, name=name, items=items, name_en=name_en,
                         shared_materials=shared_materials, cross_level=cross_level, enabled=enabled)

    def bundles(self, enabled_only: bool = False) -> list[dict]:
        from . import bundles

        return self._read(bundles.bundles, enabled_only)

    def bundle(self, code: str) -> dict:
        from . import bundles

        return self._read(bundles.bundle, code)

    def bundle_materials(self, code: str) -> list[dict]:
        """The bundle's materials, each once (shared ones first), naming the member items that take each."""
        from . import bundles

        return self._read(lambda s: bundles.materials_of(s, bundles.get_bundle(s, code)))

    def apply_bundle(self, bundle_code: str, applicant: dict, materials: list[dict] | None = None,
                     form: dict | None = None, agent: dict | None = None, user: str | None = None,
                     idempotency_key: str | None = None, online: bool = False, region: str | None = None) -> dict:
        from .commands import bundles as bundle_cmd

        return self._run(user, bundle_cmd.apply, bundle_code=bundle_code, applicant=applicant, materials=materials,
                         form=form, agent=agent, idempotency_key=idempotency_key, online=online, region=region)

    def bundle_verb(self, verb: str, application_id: int, user: str | None = None, **kwargs) -> dict:
        """accept, not_accept, request_correction, choose_delivery, dispatch, delivered, received: one command."""
        from .commands import bundles as bundle_cmd

        verbs = {"accept": bundle_cmd.accept, "not_accept": bundle_cmd.not_accept,
                 "request_correction": bundle_cmd.request_correction, "choose_delivery": bundle_cmd.choose_delivery,
                 "dispatch": bundle_cmd.dispatch, "delivered": bundle_cmd.delivered, "received": bundle_cmd.received}
        if verb not in verbs:
            raise NotFound(f"unknown bundle action '{verb}'", what="action")
        return self._run(user, verbs[verb], application_id=application_id, **kwargs)

    def bundle_application(self, application_id: int, user: dict) -> dict:
        """The application as ``user`` may see it (whoever may see one of its member cases); NotFound otherwise."""
        from . import bundles

        return self._read(bundles.visible_application, application_id, user)

    def bundle_of_case(self, case_id: int) -> dict | None:
        from . import bundles

        return self._read(bundles.application_of_case, case_id)

    def bundle_applications(self, user: dict, waiting: bool = False, limit: int = 50, offset: int = 0) -> dict:
        from . import bundles

        return self._read(bundles.applications, user, waiting, limit, offset)

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.db.dispose()


__all__ = ["Yimen", "clock", "Any"]
