"""The school's Internet and Social Media Policy, kept as numbered versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text
from sqlmodel import Field

from portal.rows import Row


class PolicyVersion(Row, table=True):
    """One published version. Versions are never edited: a change is a new version."""

    __tablename__ = "policy_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    effective_on: date = Field(sa_column=Column(Date, nullable=False))
    summary_of_changes: str = Field(default="", sa_column=Column(String(500), nullable=False))
    body_markdown: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    published_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
