"""The working-day calendar (工作日历): which dates are holidays or make-up working days.

Dates not in the table follow the week (Monday to Friday work). A year counts
as entered only when it has a ``CalendarYear`` row, so a computation that
reaches an unknown year fails instead of guessing.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DayKind:
    HOLIDAY = "holiday"        # 法定节假日 (a weekday off)
    WORKDAY = "workday"        # 调休 (a weekend day worked)
    NORMAL = "normal"          # as the week says; kept to record an explicit override
    ALL = (HOLIDAY, WORKDAY, NORMAL)
    # The words a calendar file may use for each kind: the codes, or the Chinese words the State Council's
    # schedule and office spreadsheets use (休 / 班).
    WORDS = {HOLIDAY: HOLIDAY, WORKDAY: WORKDAY, NORMAL: NORMAL, "休": HOLIDAY, "放假": HOLIDAY, "休息": HOLIDAY,
             "班": WORKDAY, "上班": WORKDAY, "调休上班": WORKDAY, "补班": WORKDAY, "正常": NORMAL, "平日": NORMAL}


class CalendarDay(Base):
    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))


class CalendarYear(Base):
    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(100))  # e.g. "chinesecalendar 1.11.0", "file", "admin"
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class CalendarStamp(Base):
    """One row whose ``stamp`` changes (to a new random value) with every change of the calendar.

    Each process keeps the calendar it last read under this stamp (``engine.calendar.load``): a command reads
    the one row instead of both tables, and a change made by any process is seen by the next command of all.
    """
    __tablename__ = "calendar_stamp"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    stamp: Mapped[str] = mapped_column(String(32))
