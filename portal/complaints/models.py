"""Concerns and complaints, their messages and letters, attachments, drafts and panels."""

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
)
from sqlmodel import Field

from portal.rows import Row

NO_DEADLINE = date(9999, 12, 31)


class Stage(enum.StrEnum):
    concern = "concern"
    stage1 = "stage1"
    stage2 = "stage2"

    @property
    def label(self) -> str:
        return {
            Stage.concern: "Concern",
            Stage.stage1: "Stage 1 complaint",
            Stage.stage2: "Stage 2 (governors' panel)",
        }[self]


class Status(enum.StrEnum):
    new = "new"
    open = "open"
    responded = "responded"
    closed = "closed"
    withdrawn = "withdrawn"
    redirected = "redirected"
    held = "held"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_active(self) -> bool:
        return self in (Status.new, Status.open, Status.responded)


STATUS_LABELS = {
    Status.new: "New: waiting to be sorted",
    Status.open: "Being looked into",
    Status.responded: "Answered",
    Status.closed: "Closed",
    Status.withdrawn: "Withdrawn",
    Status.redirected: "Sent to another procedure",
    Status.held: "Held: may be junk",
}


class About(enum.StrEnum):
    school = "school"
    staff = "staff"
    head = "head"
    governor = "governor"

    @property
    def label(self) -> str:
        return {
            About.school: "The school in general",
            About.staff: "A member of staff",
            About.head: "The head teacher",
            About.governor: "A governor",
        }[self]


class Channel(enum.StrEnum):
    """How a case reached the school: the parent's form, or office logging it for them."""

    online = "online"
    phone = "phone"
    letter = "letter"
    email = "email"
    in_person = "in_person"

    @property
    def label(self) -> str:
        return {
            Channel.online: "Online form",
            Channel.phone: "Phone call",
            Channel.letter: "Letter",
            Channel.email: "Email",
            Channel.in_person: "In person",
        }[self]

    @property
    def came_by(self) -> str:
        """The words after "Came" and "from": "by phone", "a phone call"."""
        return {
            Channel.online: "online",
            Channel.phone: "by phone",
            Channel.letter: "by letter",
            Channel.email: "by email",
            Channel.in_person: "in person",
        }[self]

    @property
    def from_words(self) -> str:
        return {
            Channel.online: "the online form",
            Channel.phone: "a phone call",
            Channel.letter: "a letter",
            Channel.email: "an email",
            Channel.in_person: "a visit in person",
        }[self]


class DeadlineKind(enum.StrEnum):
    acknowledge = "acknowledge"
    respond = "respond"
    escalate = "escalate"
    panel = "panel"

    @property
    def label(self) -> str:
        return {
            DeadlineKind.acknowledge: "Sort and acknowledge by",
            DeadlineKind.respond: "Response due",
            DeadlineKind.escalate: "Parent may take it further until",
            DeadlineKind.panel: "Panel outcome due",
        }[self]

    @property
    def counted_from(self) -> str | None:
        """What the school days count from, when it is not the day the case was received: the
        words before that day's date in the deadline's explanation."""
        return {
            DeadlineKind.escalate: "the response letter, sent",
            DeadlineKind.panel: "the request for the governors' panel, made",
        }.get(self)


class Outcome(enum.StrEnum):
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    not_upheld = "not_upheld"

    @property
    def label(self) -> str:
        return {
            Outcome.upheld: "Upheld",
            Outcome.partly_upheld: "Partly upheld",
            Outcome.not_upheld: "Not upheld",
        }[self]


class MessageKind(enum.StrEnum):
    parent_reply = "parent_reply"
    school_message = "school_message"
    internal_note = "internal_note"
    deadline_update = "deadline_update"
    stage1_letter = "stage1_letter"
    stage2_letter = "stage2_letter"
    redirect_notice = "redirect_notice"
    withdrawal = "withdrawal"
    escalation_request = "escalation_request"
    acknowledgement = "acknowledgement"
    panel_papers = "panel_papers"  # papers for the panel: from the parent or the school (author)

    @property
    def parent_can_see(self) -> bool:
        return self is not MessageKind.internal_note

    @property
    def is_letter(self) -> bool:
        return self in (
            MessageKind.stage1_letter,
            MessageKind.stage2_letter,
            MessageKind.acknowledgement,
        )


# Bumped by every change to a case; an UPDATE from a stale read matches no row (StaleDataError), so
# of two requests acting on the same case at once exactly one wins.
_COMPLAINT_VERSION = Column("version", Integer, nullable=False, server_default="1")


class Complaint(Row, table=True):
    __tablename__ = "complaint"
    __mapper_args__ = {"version_id_col": _COMPLAINT_VERSION}
    __table_args__ = (
        Index("ix_complaint_queue", "is_active", "queue_date", "id"),
        Index("ix_complaint_queue_all", "queue_date", "id"),
        Index("ix_complaint_status_queue", "status", "queue_date", "id"),
        Index("ix_complaint_handler_queue", "handler_user_id", "queue_date", "id"),
        Index("ix_complaint_handler_status_queue", "handler_user_id", "status", "queue_date", "id"),
        Index("ix_complaint_about_user", "about_user_id", "status"),
        Index("ix_complaint_status_about", "status", "about", "about_user_id"),
        Index("ix_complaint_parent_email", "parent_email_normalised"),
        Index("ix_complaint_parent_name", "parent_name_normalised"),
        Index("ix_complaint_lead", "lead_complaint_id"),
        Index("uq_complaint_intake_token_hash", "intake_token_hash", unique=True),
        Index("ix_complaint_delegate", "delegate_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    access_token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    stage: str = Field(default=Stage.concern, sa_column=Column(String(16), nullable=False))
    status: str = Field(default=Status.new, sa_column=Column(String(16), nullable=False))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    asked_for_formal: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))

    about: str = Field(default=About.school, sa_column=Column(String(16), nullable=False))
    about_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    about_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    category: str = Field(sa_column=Column(String(100), nullable=False))
    what_happened: str = Field(sa_column=Column(Text, nullable=False))
    happened_on: date | None = Field(default=None, sa_column=Column(Date))
    done_so_far: str = Field(default="", sa_column=Column(Text, nullable=False))
    put_right: str = Field(default="", sa_column=Column(Text, nullable=False))

    anonymous: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    parent_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    parent_name_normalised: str = Field(default="", sa_column=Column(String(200), nullable=False))
    parent_email: str = Field(default="", sa_column=Column(String(320), nullable=False))
    parent_email_normalised: str = Field(default="", sa_column=Column(String(320), nullable=False))
    parent_phone: str = Field(default="", sa_column=Column(String(40), nullable=False))
    child_name: str = Field(default="", sa_column=Column(String(200), nullable=False))

    received_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    received_on: date = Field(sa_column=Column(Date, nullable=False))
    triaged_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    responded_on: date | None = Field(default=None, sa_column=Column(Date))
    escalated_on: date | None = Field(default=None, sa_column=Column(Date))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime))

    handler_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    lead_complaint_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("complaint.id"))
    )
    # A senior leader the handler gave the investigation to (concern or stage 1 only).
    delegate_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    delegated_at: datetime | None = Field(default=None, sa_column=Column(DateTime))

    deadline_kind: str | None = Field(default=None, sa_column=Column(String(16)))
    deadline_from: date | None = Field(default=None, sa_column=Column(Date))
    deadline_school_days: int | None = Field(default=None, sa_column=Column(Integer))
    deadline_extended_to: date | None = Field(default=None, sa_column=Column(Date))
    next_deadline: date | None = Field(default=None, sa_column=Column(Date))
    queue_date: date = Field(default=NO_DEADLINE, sa_column=Column(Date, nullable=False))
    reminded_for: date | None = Field(default=None, sa_column=Column(Date))

    is_late: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    late_decision: str | None = Field(default=None, sa_column=Column(String(16)))
    anonymous_decision: str | None = Field(default=None, sa_column=Column(String(16)))
    decision_notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    redirect_to: str = Field(default="", sa_column=Column(String(200), nullable=False))
    redirect_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(String(16)))
    persistent_matter: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    channel: str = Field(
        default=Channel.online,
        sa_column=Column(String(16), nullable=False, server_default=Channel.online.value),
    )
    logged_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    parent_address: str = Field(
        default="", sa_column=Column(String(500), nullable=False, server_default="")
    )
    # Logged by office: the day the parent says it arrived (received_on counts from it).
    stated_received_on: date | None = Field(default=None, sa_column=Column(Date))
    # The private link, sealed, for a parent with no email: office prints it on paper.
    paper_link_sealed: str | None = Field(default=None, sa_column=Column(Text))
    intake_token_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    version: int = Field(default=1, sa_column=_COMPLAINT_VERSION)

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def about_enum(self) -> About:
        return About(self.about)

    @property
    def channel_enum(self) -> Channel:
        return Channel(self.channel)

    @property
    def by_post(self) -> bool:
        """No email address: every letter to the parent goes on paper."""
        return not self.anonymous and not self.parent_email

    @property
    def display_name(self) -> str:
        return "Anonymous" if self.anonymous else self.parent_name


class ComplaintMessage(Row, table=True):
    __tablename__ = "complaint_message"
    __table_args__ = (Index("ix_complaint_message_case", "complaint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(
        sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    author_type: str = Field(sa_column=Column(String(16), nullable=False))
    author_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    author_label: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(String(16)))
    new_deadline: date | None = Field(default=None, sa_column=Column(Date))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))

    @property
    def kind_enum(self) -> MessageKind:
        return MessageKind(self.kind)


class Attachment(Row, table=True):
    """A file a parent or staff member sent. Stored outside static/, served only after a check."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"), index=True),
    )
    message_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("complaint_message.id"))
    )
    draft_id: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    filename: str = Field(sa_column=Column(String(200), nullable=False))
    content_type: str = Field(sa_column=Column(String(100), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    storage_key: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    uploaded_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))


class ComplaintDraft(Row, table=True):
    """A parent's answers between pages, tied to a cookie; only the token's hash is stored."""

    __tablename__ = "complaint_draft"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False, index=True))


class Panel(Row, table=True):
    """The stage 2 governors' panel for one complaint."""

    __tablename__ = "panel"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    hearing_on: date | None = Field(default=None, sa_column=Column(Date))
    member_1_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    member_2_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    member_3_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    papers: str = Field(default="", sa_column=Column(Text, nullable=False))
    hearing_notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    hearing_time: str = Field(default="", sa_column=Column(String(5), nullable=False))
    hearing_format: str = Field(default="in_person", sa_column=Column(String(20), nullable=False))
    hearing_place: str = Field(default="", sa_column=Column(String(200), nullable=False))
    papers_by: date | None = Field(default=None, sa_column=Column(Date))
    companion_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    companion_asked_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    bundle_sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    recorded_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )

    @property
    def member_ids(self) -> list[int]:
        return [m for m in (self.member_1_id, self.member_2_id, self.member_3_id) if m is not None]


class StatusCount(Row, table=True):
    """Cases per status, kept in step with every change so the queue never counts the table."""

    __tablename__ = "complaint_status_count"

    status: str = Field(sa_column=Column(String(40), primary_key=True))
    count: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class PersistentComplainant(Row, table=True):
    """A person the head or chair has marked unreasonably persistent on one matter."""

    __tablename__ = "persistent_complainant"

    id: int | None = Field(default=None, primary_key=True)
    email_normalised: str = Field(sa_column=Column(String(320), nullable=False, index=True))
    complaint_id: int = Field(sa_column=Column(Integer, ForeignKey("complaint.id"), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    marked_by_user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff_user.id"), nullable=False)
    )
    marked_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))


class ExclusionReason(enum.StrEnum):
    named_by_parent = "named_by_parent"
    maybe_named_by_parent = "maybe_named_by_parent"
    named_at_triage = "named_at_triage"
    head_teacher = "head_teacher"

    @property
    def label(self) -> str:
        return {
            ExclusionReason.named_by_parent: "Named by the parent",
            ExclusionReason.maybe_named_by_parent: "May be the person the parent named",
            ExclusionReason.named_at_triage: "Named as the subject when sorted",
            ExclusionReason.head_teacher: "The case is about the head teacher",
        }[self]


class CaseExclusion(Row, table=True):
    """A member of staff who must never see or act on one case: the person it is about.

    Rows are added from the moment the case is received (the parent's own words) and at triage;
    they are never replaced, so naming a different subject later cannot give anyone access back.
    Only an unsure match ("may be the person named") can be cleared, by someone else who sorts.
    """

    __tablename__ = "case_exclusion"
    __table_args__ = (Index("ix_case_exclusion_user", "user_id", "complaint_id"),)

    complaint_id: int = Field(
        sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("staff_user.id"), primary_key=True))
    reason: str = Field(sa_column=Column(String(32), nullable=False))
    matched_words: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))


# Bumped by every save of a letter draft: a save or a send from a stale page matches no row.
_DRAFT_VERSION = Column("version", Integer, nullable=False, server_default="1")


class LetterDraft(Row, table=True):
    """The handler's letter for one stage of a case, kept exactly as typed until it is sent.

    One row per case and stage (a concern's reply, the stage 1 response, the panel's outcome).
    Sending fills `sent_at` and `message_id`; from then on the draft cannot change, and the letter
    the parent reads is the message.
    """

    __tablename__ = "letter_draft"
    __mapper_args__ = {"version_id_col": _DRAFT_VERSION}
    __table_args__ = (Index("ux_letter_draft_case_stage", "complaint_id", "stage", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(
        sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False)
    )
    stage: str = Field(sa_column=Column(String(16), nullable=False))
    outcome: str = Field(default="", sa_column=Column(String(16), nullable=False))
    investigated: str = Field(default="", sa_column=Column(Text, nullable=False))
    decision: str = Field(default="", sa_column=Column(Text, nullable=False))
    actions: str = Field(default="", sa_column=Column(Text, nullable=False))
    saved_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    saved_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    message_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("complaint_message.id"))
    )
    version: int = Field(default=1, sa_column=_DRAFT_VERSION)

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None


class InboundStatus(enum.StrEnum):
    placed = "placed"  # on its case as the parent's reply, by the rules
    held = "held"  # waiting for office
    attached = "attached"  # office put it on a case
    set_aside = "set_aside"  # office decided it belongs on no case, with a reason


class InboundReason(enum.StrEnum):
    """Why an email could not be placed on its own, in words for office."""

    not_a_reply = "not_a_reply"
    unknown_address = "unknown_address"
    closed = "closed"
    wrong_sender = "wrong_sender"
    too_big = "too_big"
    not_text = "not_text"
    empty = "empty"
    refused = "refused"
    unreadable = "unreadable"

    @property
    def label(self) -> str:
        return {
            InboundReason.not_a_reply: "Not a reply to one of our emails about a case",
            InboundReason.unknown_address: "The reply address does not match any case",
            InboundReason.closed: "The case is closed",
            InboundReason.wrong_sender: "Not sent from the parent's email address",
            InboundReason.too_big: "Too big to add to a case",
            InboundReason.not_text: "No plain text in the email",
            InboundReason.empty: "Nothing written above the quoted email",
            InboundReason.refused: "The case could not take it",
            InboundReason.unreadable: "The email could not be read",
        }[self]


class InboundMail(Row, table=True):
    """An email a parent sent to a case's reply address (`portal receive-mail`).

    One row per email (`message_key`, the hash of its Message-ID, is unique, so an email delivered
    twice is stored once). An email placed on its case keeps its words there and its row only
    links to them; one that could not be placed keeps the whole raw email here for office."""

    __tablename__ = "inbound_mail"
    __table_args__ = (
        Index("ix_inbound_mail_status", "status", "id"),
        Index("ix_inbound_mail_sender", "sender", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    received_at: datetime = Field(default=None, sa_column=Column(DateTime, nullable=False))
    sender: str = Field(default="", sa_column=Column(String(320), nullable=False))
    subject: str = Field(default="", sa_column=Column(String(300), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(32)))
    reason_detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The case its reply address named (if the address was genuine), or the case it went on.
    complaint_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="SET NULL")),
    )
    message_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("complaint_message.id", ondelete="SET NULL")),
    )
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    decided_by_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff_user.id"))
    )
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    decision_note: str = Field(default="", sa_column=Column(Text, nullable=False))

    @property
    def reason_enum(self) -> InboundReason | None:
        return InboundReason(self.reason) if self.reason in InboundReason.__members__ else None


class InboundMailCase(Row, table=True):
    """Every case an inbound email's reply addresses name (genuine tokens only). A held email is
    shown only to someone who may see every one of them: an email written to two cases' reply
    addresses never reaches the person either case is about."""

    __tablename__ = "inbound_mail_case"

    mail_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("inbound_mail.id", ondelete="CASCADE"), primary_key=True
        )
    )
    complaint_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
