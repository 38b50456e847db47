"""The service-item catalogue (事项目录): what can be applied for, under which rules.

The fields follow the service guide (办事指南): legal basis, competent office,
materials (with which may be missing at acceptance: 容缺), legal and promised
limits in working days, special procedures, fees, result, complaint channels,
and the process that handles the item.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

ITEM_TYPES = {
    "administrative_licensing": "行政许可",
    "administrative_payment": "行政给付",
    "administrative_confirmation": "行政确认",
    "administrative_reward": "行政奖励",
    "administrative_ruling": "行政裁决",
    "other_power": "其他行政权力",
    "public_service": "公共服务",
}
LEVELS = ("province", "city", "county", "zone")  # zone: a development zone (开发区), beside a county


class ServiceItem(Base):
    __tablename__ = "service_item"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # the Chinese name, primary
    name_en: Mapped[str | None] = mapped_column(String(300))  # the English name, optional
    item_type: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(Text)
    competent_office: Mapped[str] = mapped_column(String(300))
    office_code: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    acceptance_conditions: Mapped[str | None] = mapped_column(Text)
    materials: Mapped[list[Any]] = mapped_column(default=list)
    legal_limit_days: Mapped[int]
    promised_limit_days: Mapped[int]
    warning_days: Mapped[int | None]
    card_mode: Mapped[str] = mapped_column(String(20), default="auto")  # auto | confirm (held for a supervisor)
    special_procedures: Mapped[list[Any]] = mapped_column(default=list)
    fees: Mapped[list[Any]] = mapped_column(default=list)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    place_hours: Mapped[str | None] = mapped_column(Text)
    consultation: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[str | None] = mapped_column(Text)
    online_depth: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=1)
    process_key: Mapped[str] = mapped_column(String(200))
    process_version: Mapped[int | None]
    joint_handling: Mapped[bool] = mapped_column(default=False)
    departments: Mapped[list[Any]] = mapped_column(default=list)
    department_rejection: Mapped[str] = mapped_column(String(30), default="reject_case")
    commitment_allowed: Mapped[bool] = mapped_column(default=False)
    verification_days: Mapped[int | None]
    tolerance_allowed: Mapped[bool] = mapped_column(default=False)
    supplement_days: Mapped[int | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
