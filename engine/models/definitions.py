"""Deployed diagrams: deployments, their files, and versioned process definitions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Deployment(Base):
    """One upload of one or more BPMN/DMN files, deployed together."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime]
    allow_scripts: Mapped[bool] = mapped_column(default=False)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    files: Mapped[list[DeploymentFile]] = relationship(back_populates="deployment", order_by="DeploymentFile.id")


class DeploymentFile(Base):
    """A file as uploaded (``original``) and as the engine parses it (``normalized``)."""

    __tablename__ = "deployment_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn
    original: Mapped[bytes] = mapped_column(LargeBinary)
    normalized: Mapped[bytes] = mapped_column(LargeBinary)
    deployment: Mapped[Deployment] = relationship(back_populates="files")


class ProcessDefinition(Base):
    """An executable process at one version; ``key`` is the BPMN process id."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definition_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))  # the process's yimen.nameEn
    checksum: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    element_meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    deployment: Mapped[Deployment] = relationship()


Index("ix_process_definition_key_version_desc", ProcessDefinition.key, ProcessDefinition.version.desc())
