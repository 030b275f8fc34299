"""The school profile: one row per school, edited from the admin pages."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlmodel import Field

from portal.rows import Row


class SchoolProfile(Row, table=True):
    """What a school tells the portal about itself. Deployment values (database, SMTP, keys,
    base URL) stay in the environment settings and never appear here."""

    __tablename__ = "school_profile"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(120), nullable=False))
    brand_colour: str = Field(default="#1d70b8", sa_column=Column(String(7), nullable=False))
    crest_image: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    crest_media_type: str | None = Field(default=None, sa_column=Column(String(40)))
    crest_version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    contact_email: str = Field(default="", sa_column=Column(String(320), nullable=False))
    contact_phone: str = Field(default="", sa_column=Column(String(40), nullable=False))
    contact_address: str = Field(default="", sa_column=Column(String(300), nullable=False))
    website_url: str = Field(default="", sa_column=Column(String(300), nullable=False))
    official_channels: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    acknowledge_within_days: int = Field(default=5, sa_column=Column(Integer, nullable=False))
    concern_response_days: int = Field(default=10, sa_column=Column(Integer, nullable=False))
    stage1_response_days: int = Field(default=10, sa_column=Column(Integer, nullable=False))
    escalation_window_days: int = Field(default=10, sa_column=Column(Integer, nullable=False))
    stage2_outcome_days: int = Field(default=20, sa_column=Column(Integer, nullable=False))
    late_after_months: int = Field(default=3, sa_column=Column(Integer, nullable=False))
    reminder_days_before: int = Field(default=2, sa_column=Column(Integer, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # [{"key": "admissions", "name": "School admissions", "where": "...", "url": "https://..."}]
    out_of_scope: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    # [{"title": "...", "text": "..."}]: paragraphs staff can add to a letter
    letter_paragraphs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    set_up_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    # Given anew (at random) by every transaction that changes the school's settings: see
    # `portal.school.services.settings_stamp`.
    settings_stamp: str = Field(
        default_factory=lambda: secrets.token_hex(16),
        sa_column=Column(String(32), nullable=False, server_default="initial"),
    )


class SchoolTerm(Row, table=True):
    """A block of consecutive term time (normally a half-term), both ends included. The gaps
    between terms are the school holidays; bank holidays are skipped by the calendar itself."""

    __tablename__ = "school_term"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("school_profile.id"), nullable=False, index=True)
    )
    name: str = Field(sa_column=Column(String(80), nullable=False))
    start: date = Field(sa_column=Column(Date, nullable=False))
    end: date = Field(sa_column=Column(Date, nullable=False))


class SchoolClosure(Row, table=True):
    """A weekday inside a term when the school is closed to pupils (INSET, polling day)."""

    __tablename__ = "school_closure"
    __table_args__ = (UniqueConstraint("school_id", "day", name="uq_school_closure_day"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("school_profile.id"), nullable=False, index=True)
    )
    day: date = Field(sa_column=Column(Date, nullable=False))
    reason: str = Field(default="", sa_column=Column(String(120), nullable=False))
