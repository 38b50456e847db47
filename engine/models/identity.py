"""People, the departments they work in, their roles and the groups they belong to.

Roles say what someone may do in the platform (administrator, process
designer, window staff, reviewer, supervisor, applicant); groups say which
tasks they are candidates for. A department (部门) sits at a level
(province / city / county) and scopes what staff may see.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

ROLES = {
    "admin": "管理员",
    "designer": "流程设计",
    "window": "窗口人员",
    "reviewer": "审查人员",
    "supervisor": "督查人员",
    "applicant": "申请人",
}


class Department(Base):
    __tablename__ = "department"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the office code used on items and case numbers
    name: Mapped[str] = mapped_column(String(200))  # the Chinese name, primary
    name_en: Mapped[str | None] = mapped_column(String(200))  # the English name, optional
    level: Mapped[str] = mapped_column(String(20))  # province | city | county
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"))


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))  # the Chinese name, primary
    display_name_en: Mapped[str | None] = mapped_column(String(200))  # the English name, optional
    is_admin: Mapped[bool] = mapped_column(default=False)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    department_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    backup_user_id: Mapped[str | None] = mapped_column(String(100))  # AB岗: who takes over when escalated
    # Sessions carry the version they were signed in at; a password, role or group change, deactivation and
    # "sign out everywhere" bump it, and every older session is signed out on its next request.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    absent: Mapped[bool] = mapped_column(default=False, server_default=false())  # away (不在岗): steps go to the backup


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "group_id", name="uq_membership_user_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(String(100), index=True)


class ApiToken(Base):
    """A bearer token for another system calling the JSON API; only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # chosen at creation (at most a year ahead); None: until revoked
    last_used_at: Mapped[datetime | None]  # written at most once a minute


class EndedSession(Base):
    """A signed-out browser session (its cookie's id, hashed), kept until a cookie carrying it would have expired."""

    __tablename__ = "ended_session"

    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime] = mapped_column(index=True)


class SignInThrottle(Base):
    """Failed sign-ins of one account or one client address, and the lock-out they earned (登录限制).

    Kept in the database so that every worker process counts the same attempts.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_sign_in_throttle_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # account | address
    key: Mapped[str] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]
