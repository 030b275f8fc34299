"""Staff users and their signed-in sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlmodel import Field

from portal.rows import Row


class Role(enum.StrEnum):
    office = "office"
    head = "head"
    senior_leader = "senior_leader"
    chair = "chair"
    clerk = "clerk"
    governor = "governor"
    admin = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def description(self) -> str:
        return ROLE_DESCRIPTIONS[self]


ROLE_LABELS = {
    Role.office: "Office staff",
    Role.head: "Head teacher",
    Role.senior_leader: "Senior leader",
    Role.chair: "Chair of governors",
    Role.clerk: "Clerk to the governors",
    Role.governor: "Governor",
    Role.admin: "Portal administrator",
}

ROLE_DESCRIPTIONS = {
    Role.office: "Sorts new complaints, moderates comments, keeps the pupil register and consent.",
    Role.head: "Answers stage 1 complaints and approves school news before it goes out.",
    Role.senior_leader: (
        "A deputy or assistant head. Looks into a stage 1 complaint when the head (or the chair) "
        "gives it to them, and drafts the reply. Sees only those cases."
    ),
    Role.chair: "Handles complaints about the head teacher and chairs stage 2 panels.",
    Role.clerk: "Handles complaints about governors and organises stage 2 panels.",
    Role.governor: "Can sit on a stage 2 panel.",
    Role.admin: "Manages staff accounts and the school's settings.",
}


class StaffUser(Row, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role_names: str = Field(default="", sa_column=Column(String(200), nullable=False))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    last_signed_in_at: datetime | None = Field(default=None, sa_column=Column(DateTime))

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(name) for name in self.role_names.split() if name)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> list[str]:
        return [role.label for role in Role if role in self.roles]


class StaffSession(Row, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_session"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    last_seen_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
