"""A school's own wording for one email or letter; without a row, our default is used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from portal.rows import Row

KEY_MAX_CHARS = 60
SUBJECT_TEMPLATE_MAX_CHARS = 500
BODY_TEMPLATE_MAX_CHARS = 20_000


class WordingOverride(Row, table=True):
    """The subject and body templates a school wrote in place of ours for one `key`.

    `version` counts saves: the edit page carries the version it showed, and a save or a reset
    goes through only if the row is still at that version (two admins editing at once cannot
    silently overwrite each other).
    """

    __tablename__ = "wording_override"
    __table_args__ = (UniqueConstraint("school_id", "key", name="uq_wording_override_school_key"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("school_profile.id"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(KEY_MAX_CHARS), nullable=False))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    updated_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )
