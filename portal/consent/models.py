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
from sqlmodel import Field

from portal.rows import Row


class Pupil(Row, table=True):
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


class Contact(Row, table=True):
    """A parent or carer from the register. One row per email address (lower case), so a parent
    of two pupils is one contact; a contact with no email is one row per pupil they came with."""

    __tablename__ = "pupil_contact_person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    email: str | None = Field(
        default=None, sa_column=Column(String(320), nullable=True, index=True)
    )


class PupilContact(Row, table=True):
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


class Purpose(Row, table=True):
    """One use of a pupil's picture that parents answer for: a school setting. The wording has a
    version; a consent record keeps the version the parent was shown. A new wording keeps the
    answers given to the old one, unless the admin asked parents again: then answers to a version
    before `reask_from_version` count as lapsed. `revision` moves on at every change, so a change
    made from a page that showed an older revision is refused (two admins at once: one wins).
    A purpose is retired (`active` false), never deleted: records point at it."""

    __tablename__ = "consent_purpose"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    wording: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    asks_naming: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    reask_from_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    revision: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )


class ImportStatus(enum.StrEnum):
    checked = "checked"  # read and previewed; nothing written to the register yet
    applied = "applied"


class PupilImport(Row, table=True):
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


class ColumnMapping(Row, table=True):
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


class SafeguardingFlag(Row, table=True):
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


class ConsentSettings(Row, table=True):
    """The school's consent settings (one row; the defaults apply until it exists)."""

    __tablename__ = "consent_settings"

    id: int | None = Field(default=None, primary_key=True)
    # Comma-separated role values that see a safeguarding flag's kind and reason.
    flag_roles: str = Field(default="head,office", sa_column=Column(String(200), nullable=False))
    # How long an answer lasts: school_year, key_stage or while_at_school.
    validity: str = Field(default="school_year", sa_column=Column(String(20), nullable=False))
    # Days before a class's families may be sent another request for their answers.
    request_interval_days: int = Field(default=7, sa_column=Column(Integer, nullable=False))
    # Moves on at every change from the settings page (a page showing an older one is refused).
    revision: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # Pupils aged 12 and over are asked too (through their parent's page): both must say yes.
    ask_pupils_12_and_over: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # The photo guidance's version: the school raises it when the guidance changes, and every
    # parent is asked to confirm again.
    photo_guidance_version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    # Days before the same people may be reminded again to confirm a document.
    confirmation_reminder_days: int = Field(
        default=7, sa_column=Column(Integer, nullable=False, server_default=text("7"))
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


class ConsentEvidence(Row, table=True):
    """What staff kept of answers a parent gave on paper or by phone: the scanned form (PDF,
    JPEG or PNG, checked by its bytes and stored here, in the database) or a note of the call.
    The records entered from it point at it; a scan kept while the rest of the form was being
    corrected has no records yet."""

    __tablename__ = "consent_evidence"

    id: int | None = Field(default=None, primary_key=True)
    pupil_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False, index=True)
    )
    how: str = Field(sa_column=Column(String(10), nullable=False))
    call_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    filename: str = Field(default="", sa_column=Column(String(200), nullable=False))
    content_type: str = Field(default="", sa_column=Column(String(100), nullable=False))
    size: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    sha256: str = Field(default="", sa_column=Column(String(64), nullable=False))
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    added_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    added_at: datetime = Field(sa_column=Column(DateTime, nullable=False))

    @property
    def has_scan(self) -> bool:
        return bool(self.filename)


class ConsentRecord(Row, table=True):
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
    evidence_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("consent_evidence.id"), nullable=True),
    )
    # Whether the pupil agreed too, as their parent told us (asked only of pupils aged 12 and
    # over, when the school's settings say so); None when it was not asked.
    pupil_agreed: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))


class PhotoCheck(Row, table=True):
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


class PhotoCheckPupil(Row, table=True):
    __tablename__ = "photo_check_pupil"

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(
        sa_column=Column(Integer, ForeignKey("photo_check.id"), nullable=False, index=True)
    )
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=False))
    allowed: bool = Field(sa_column=Column(Boolean, nullable=False))
    why: str = Field(sa_column=Column(String(20), nullable=False))
    may_name: bool = Field(sa_column=Column(Boolean, nullable=False))


class ConsentRequest(Row, table=True):
    """One request for answers emailed to the families of a class or year group who had not
    answered: who sent it, when, to which group, about which purposes, and how many."""

    __tablename__ = "consent_request"

    id: int | None = Field(default=None, primary_key=True)
    sent_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    sent_at: datetime = Field(sa_column=Column(DateTime, nullable=False, index=True))
    group_label: str = Field(sa_column=Column(String(80), nullable=False))
    # Comma-separated purpose keys asked about.
    purposes: str = Field(sa_column=Column(String(400), nullable=False))
    pupils: int = Field(sa_column=Column(Integer, nullable=False))
    families: int = Field(sa_column=Column(Integer, nullable=False))
    no_email: int = Field(sa_column=Column(Integer, nullable=False))


class ConsentRequestClass(Row, table=True):
    """When each class's families were last sent a request: one row per class, claimed by a
    conditional update (or a first insert), so two requests at once send once."""

    __tablename__ = "consent_request_class"

    class_name: str = Field(sa_column=Column(String(40), primary_key=True))
    request_id: int = Field(
        sa_column=Column(Integer, ForeignKey("consent_request.id"), nullable=False)
    )
    sent_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ParentSignIn(Row, table=True):
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


class ConsentInvitation(Row, table=True):
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


class Document(enum.StrEnum):
    """What a parent confirms they have read: the photo guidance for school events, and what
    the school asks of parents online (the social media policy's paragraph for parents)."""

    photo_guidance = "photo-guidance"
    online_policy = "online-policy"

    @property
    def label(self) -> str:
        return {
            Document.photo_guidance: "Photo guidance for school events",
            Document.online_policy: "Being online: what we ask of parents",
        }[self]

    @property
    def path(self) -> str:
        return {
            Document.photo_guidance: "/photos/guidance",
            Document.online_policy: "/parents/online/confirm",
        }[self]


class Confirmation(Row, table=True):
    """A parent or carer confirmed they have read a document and will follow it: which document,
    which version, when. Never changed or deleted; one per contact, document and version (a
    second confirmation of the same version is the same fact, so the unique key refuses it)."""

    __tablename__ = "parent_confirmation"
    __table_args__ = (UniqueConstraint("contact_id", "document", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False)
    )
    document: str = Field(sa_column=Column(String(30), nullable=False))
    version: str = Field(sa_column=Column(String(20), nullable=False))
    confirmed_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class SchoolEvent(Row, table=True):
    """A school event whose details go to the families of some classes or year groups: a play,
    a sports day, a trip. When `needs_photo_guidance`, a parent is sent the details only once
    they have confirmed the photo guidance's current version. `sent_at` is set once, by a
    conditional update, when staff send it."""

    __tablename__ = "school_event"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(120), nullable=False))
    held_on: date = Field(sa_column=Column(Date, nullable=False))
    place: str = Field(sa_column=Column(String(200), nullable=False))
    details: str = Field(sa_column=Column(Text, nullable=False))
    # Who it is for: class names and year groups, one per line.
    classes: str = Field(default="", sa_column=Column(Text, nullable=False))
    year_groups: str = Field(default="", sa_column=Column(Text, nullable=False))
    needs_photo_guidance: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    sent_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=True)
    )

    @property
    def class_list(self) -> list[str]:
        return [line for line in self.classes.split("\n") if line]

    @property
    def year_group_list(self) -> list[str]:
        return [line for line in self.year_groups.split("\n") if line]


class InvitationStatus(enum.StrEnum):
    waiting = "waiting"  # asked to confirm the photo guidance first
    details_sent = "details_sent"


class EventInvitation(Row, table=True):
    """One family contact's invitation to an event: waiting for their confirmation of the photo
    guidance, or the details sent (when). One per event and contact; the move from waiting to
    sent is a conditional update, so the details go once."""

    __tablename__ = "event_invitation"
    __table_args__ = (
        UniqueConstraint("event_id", "contact_id"),
        Index("ix_event_invitation_contact_status", "contact_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(sa_column=Column(Integer, ForeignKey("school_event.id"), nullable=False))
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil_contact_person.id"), nullable=False)
    )
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    details_sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime, nullable=True)
    )


class ConfirmationReminder(Row, table=True):
    """One "Email those who have not confirmed": what about (a document for a class, or an
    event), who sent it, when, and how many emails went."""

    __tablename__ = "confirmation_reminder"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=Column(String(120), nullable=False, index=True))
    document: str = Field(sa_column=Column(String(30), nullable=False))
    version: str = Field(sa_column=Column(String(20), nullable=False))
    sent_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    sent_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    emails: int = Field(sa_column=Column(Integer, nullable=False))


class ReminderClaim(Row, table=True):
    """When each scope ("photo-guidance:class:3B", "event:12") was last reminded: one row per
    scope, claimed by a conditional update (or its first insert), so two presses at once send
    once and a second inside the interval is refused."""

    __tablename__ = "confirmation_reminder_claim"

    scope: str = Field(sa_column=Column(String(120), primary_key=True))
    last_sent_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
