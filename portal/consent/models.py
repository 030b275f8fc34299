"""The pupil register and what hangs off it: contacts, purposes and imports."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel


class Pupil(SQLModel, table=True):
    """A child on the school's register, as its information system (MIS) knows them.

    `mis_id` is the school's own pupil id: re-imports find the pupil by it, never by name.
    A pupil missing from a full import is not deleted: `on_roll` goes false and `left_on` is set,
    so their consent history stays and stops applying to new uses."""

    __tablename__ = "pupil"

    id: int | None = Field(default=None, primary_key=True)
    mis_id: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    legal_first_name: str = Field(sa_column=Column(String(100), nullable=False))
    legal_last_name: str = Field(sa_column=Column(String(100), nullable=False))
    preferred_name: str = Field(default="", sa_column=Column(String(100), nullable=False))
    year_group: str = Field(sa_column=Column(String(20), nullable=False))
    class_name: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    date_of_birth: date = Field(sa_column=Column(Date, nullable=False))
    on_roll: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    left_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))

    @property
    def first_name(self) -> str:
        return self.preferred_name or self.legal_first_name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.legal_last_name}"


class Contact(SQLModel, table=True):
    """A parent or carer from the register. One row per email address (lower case), so a parent
    of two pupils is one contact; a contact with no email is one row per pupil they came with."""

    __tablename__ = "pupil_contact_person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    email: str | None = Field(
        default=None, sa_column=Column(String(320), nullable=True, index=True)
    )


class PupilContact(SQLModel, table=True):
    """Who a pupil's contacts are, as the latest import says (`current`), and how they are
    related. Links the latest import no longer has stay, not current, because consent records
    point at the contact who answered."""

    __tablename__ = "pupil_contact"
    __table_args__ = (UniqueConstraint("pupil_id", "contact_id"),)

    id: int | None = Field(default=None, primary_key=True)
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False)
    )
    relationship: str = Field(default="", sa_column=Column(String(60), nullable=False))
    parental_responsibility: bool = Field(sa_column=Column(Boolean, nullable=False))
    priority: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    current: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))


class Purpose(SQLModel, table=True):
    """One use of a pupil's picture that parents answer for: a school setting. The wording has a
    version; a consent record keeps the version the parent was shown."""

    __tablename__ = "consent_purpose"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    wording: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    asks_naming: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))


class ImportStatus(enum.StrEnum):
    checked = "checked"  # read and previewed; nothing written to the register yet
    applied = "applied"


class PupilImport(SQLModel, table=True):
    """One upload of the register: kept from the preview to the confirmation (the file is read
    again then, so what is written is what was previewed), and afterwards as the record of it."""

    __tablename__ = "pupil_import"

    id: int | None = Field(default=None, primary_key=True)
    uploaded_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    uploaded_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    filename: str = Field(sa_column=Column(String(200), nullable=False))
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    full: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    applied_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))


class ColumnMapping(SQLModel, table=True):
    """Which column of the school's export holds which field: mapped once on screen, remembered
    (one row per field)."""

    __tablename__ = "pupil_import_column"

    field_key: str = Field(sa_column=Column(String(40), primary_key=True))
    header: str = Field(sa_column=Column(String(200), nullable=False))


class FlagKind(enum.StrEnum):
    looked_after = "looked_after"
    adopted = "adopted"
    at_risk = "at_risk"
    other = "other"

    @property
    def label(self) -> str:
        return {
            FlagKind.looked_after: "Looked after",
            FlagKind.adopted: "Adopted",
            FlagKind.at_risk: "At risk",
            FlagKind.other: "Other",
        }[self]


class SafeguardingFlag(SQLModel, table=True):
    """A pupil whose picture must never be used, whatever the consent says. Only the roles the
    consent settings name see its kind and reason; everyone else sees "restricted". A pupil has
    at most one active flag (a partial unique index); clearing keeps the row."""

    __tablename__ = "safeguarding_flag"
    __table_args__ = (
        Index(
            "ux_safeguarding_flag_active",
            "pupil_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    set_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    set_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    cleared_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )
    cleared_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))


class ConsentSettings(SQLModel, table=True):
    """The school's consent settings (one row; the defaults apply until it exists)."""

    __tablename__ = "consent_settings"

    id: int | None = Field(default=None, primary_key=True)
    # Comma-separated role values that see a safeguarding flag's kind and reason.
    flag_roles: str = Field(default="head,office", sa_column=Column(String(200), nullable=False))
    # How long an answer lasts: school_year, key_stage or while_at_school.
    validity: str = Field(default="school_year", sa_column=Column(String(20), nullable=False))
    # Pupils aged 12 and over are asked too (through their parent's page): both must say yes.
    ask_pupils_12_and_over: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class AnswerHow(enum.StrEnum):
    online = "online"
    paper = "paper"
    phone = "phone"

    @property
    def label(self) -> str:
        return {
            AnswerHow.online: "Online",
            AnswerHow.paper: "Paper form",
            AnswerHow.phone: "Phone call",
        }[self]


class ConsentRecord(SQLModel, table=True):
    """One answer from one contact for one pupil and purpose: append-only, never changed. The
    current answer is read from the latest record per contact (`services.answers`)."""

    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_pupil", "pupil_id", "purpose_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    purpose_id: int = Field(
        sa_column=Column(Integer, ForeignKey("consent_purpose.id"), nullable=False)
    )
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False)
    )
    answer: bool = Field(sa_column=Column(Boolean, nullable=False))
    naming: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    given_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    how: str = Field(sa_column=Column(String(10), nullable=False))
    entered_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )
    wording_version: int = Field(sa_column=Column(Integer, nullable=False))
    # Whether the pupil agreed too, as their parent told us (asked only of pupils aged 12 and
    # over, when the school's settings say so); None when it was not asked.
    pupil_agreed: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))


class PhotoCheck(SQLModel, table=True):
    """A photo check as it was made: who, when, for which purpose; its answers per pupil are
    `PhotoCheckPupil` rows, kept as they were so a later change shows the check out of date."""

    __tablename__ = "photo_check"

    id: int | None = Field(default=None, primary_key=True)
    checked_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    checked_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    purpose_id: int = Field(
        sa_column=Column(Integer, ForeignKey("consent_purpose.id"), nullable=False)
    )


class PhotoCheckPupil(SQLModel, table=True):
    __tablename__ = "photo_check_pupil"

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(
        sa_column=Column(Integer, ForeignKey("photo_check.id"), nullable=False, index=True)
    )
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    allowed: bool = Field(sa_column=Column(Boolean, nullable=False))
    why: str = Field(sa_column=Column(String(20), nullable=False))
    may_name: bool = Field(sa_column=Column(Boolean, nullable=False))


class ParentSignIn(SQLModel, table=True):
    """A one-time sign-in link emailed to a parent or carer on the register, and the short
    session it starts. Only the digest of the link's token is kept (`portal.signing`), so a copy
    of the database opens nothing. The link works once (`used_at`, set by a conditional update)
    and until `expires_at`; the session it starts lasts while the parent is active
    (`last_seen_at`) and ends at "Sign out" (`ended_at`)."""

    __tablename__ = "parent_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False, index=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))


class ConsentInvitation(SQLModel, table=True):
    """An email asking a parent to answer again because their answers for a pupil lapsed: at
    most one per contact, pupil and validity period (the unique key), however often the daily
    command runs."""

    __tablename__ = "consent_invitation"
    __table_args__ = (UniqueConstraint("contact_id", "pupil_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False)
    )
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    period: str = Field(sa_column=Column(String(20), nullable=False))
    sent_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
