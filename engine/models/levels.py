"""The implementation list (事项实施清单): how a service item is exercised in a region (放权).

One row per item and region. The region is a county, district or development zone, identified by the
department (``department.id``) of that area: the county's or zone's own office (level ``county`` or
``zone``). ``handler`` is the office of that area that handles the item there (default: the region's own
department). ``engine.levels.route`` reads the row when an application is submitted.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Mode:
    DIRECT = "direct"              # 直接放权: the county exercises it in its own name
    ENTRUSTED = "entrusted"        # 委托下放: the county decides in the city's name (受委托机关)
    REVIEW_REPORT = "review_report"  # 受理审核权下放 / 审核转报: county accepts and reviews, the city approves
    TAKEN_BACK = "taken_back"      # 权限上收: the city handles it
    ZONE = "zone"                  # 赋权: a development zone's office exercises it
    ALL = (DIRECT, ENTRUSTED, REVIEW_REPORT, TAKEN_BACK, ZONE)
    # the words an imported list may use for each mode: the codes, or the reform documents' Chinese terms
    WORDS = {**{m: m for m in ALL}, "直接放权": DIRECT, "委托下放": ENTRUSTED, "审核转报": REVIEW_REPORT,
             "受理审核权下放": REVIEW_REPORT, "权限上收": TAKEN_BACK, "赋权": ZONE}


class ItemImplementation(Base):
    __tablename__ = "item_implementation"
    __table_args__ = (UniqueConstraint("item_code", "region", name="uq_item_implementation_item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("service_item.code"), index=True)
    region: Mapped[str] = mapped_column(ForeignKey("department.id"))
    mode: Mapped[str] = mapped_column(String(20))
    handler: Mapped[str | None] = mapped_column(ForeignKey("department.id"))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
