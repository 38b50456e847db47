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
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))  # province | city | county
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"))


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    department_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    backup_user_id: Mapped[str | None] = mapped_column(String(100))  # AB岗: who takes over when escalated
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
