"""Receiving a concern or complaint from a parent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from portal.accounts.models import StaffUser
from portal.calendar import CalendarExhaustedError, SchoolCalendar, format_date
from portal.clock import school_today
from portal.complaints.models import (
    About,
    Attachment,
    Channel,
    Complaint,
    DeadlineKind,
    MessageKind,
    PersistentComplainant,
    Stage,
    Status,
)
from portal.complaints.services.access import _exclude_named_at_receipt, can_triage
from portal.complaints.services.deadlines import _set_deadline, compute_deadline, school_calendar
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.notices import (
    _email_parent,
    case_view,
    parent_email,
    parent_mail,
    queue_parent_mail,
)
from portal.complaints.services.queue import REFERENCE_ALPHABET, normalise_email
from portal.complaints.services.state import (
    _add_message,
    _adjust_count,
    _change_status,
    _new_message,
    _save_message,
)
from portal.config import Settings
from portal.db import insert_now, now_of
from portal.history import Actor, record_event
from portal.mail import (
    InvalidAddress,
    OutboxMessage,
    OutboxStatus,
    normalised_address,
)
from portal.school.services import School, school_of
from portal.sealing import seal
from portal.signing import token_digest
from portal.wording.services import render as render_wording


@dataclass
class NewComplaint:
    """A parent's answers, as collected by the form."""

    formal: bool
    about: About
    about_name: str
    category: str
    what_happened: str
    happened_on: date | None
    done_so_far: str
    put_right: str
    anonymous: bool
    parent_name: str = ""
    parent_email: str = ""
    parent_phone: str = ""
    child_name: str = ""
    attachment_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Intake:
    """How a case office logs reached the school (see `services.logging`): the channel, the day
    the parent says it was received, who logged it, a postal address, the form's token digest."""

    channel: Channel
    stated_on: date
    logged_by: StaffUser
    parent_address: str = ""
    token_hash: str | None = None


@dataclass(frozen=True)
class Received:
    complaint: Complaint
    access_token: str


def new_reference() -> str:
    """Like C-7K4P-2QX: random, no 0/O or 1/I/L to misread, 31^7 (27 billion) possibilities."""
    chars = [secrets.choice(REFERENCE_ALPHABET) for _ in range(7)]
    return "C-" + "".join(chars[:4]) + "-" + "".join(chars[4:])


def months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year
    while month <= 0:
        month += 12
        year -= 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    return date(year, month, 28)


def validate_new(
    new: NewComplaint, school: School, today: date, *, email_required: bool = True
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if new.category not in school.categories:
        errors["category"] = "Select what your concern or complaint is about"
    if len(new.what_happened.strip()) < 10:
        errors["what_happened"] = "Tell us what happened"
    if new.happened_on and new.happened_on > today:
        errors["happened_on"] = "The date it happened must be today or in the past"
    if not new.anonymous:
        if not new.parent_name.strip():
            errors["parent_name"] = "Enter your full name"
        try:
            if email_required or new.parent_email.strip():
                normalised_address(new.parent_email)
        except InvalidAddress as error:
            several = any(mark in new.parent_email.strip() for mark in ",; ")
            errors["parent_email"] = (
                error.message
                if several
                else "Enter an email address in the correct format, like name@example.com"
            )
    return errors


def submit(
    session: Session,
    settings: Settings,
    new: NewComplaint,
    *,
    now: datetime | None = None,
    held: bool = False,
    intake: Intake | None = None,
) -> Received:
    """Record a new concern or complaint and queue its acknowledgement. The caller commits.

    `held`: it looks like junk (a form robot filled the hidden field). It is kept all the same,
    out of the queue, with its emails held, until office releases it: nothing sent vanishes.

    `intake`: office logged it (phone, letter, email, in person). It is received on the day the
    parent stated, counted as usual, and the parent may have no email (letters go by post).
    """
    now = now or now_of(session)
    today = school_today(now)
    school = school_of(session)
    errors = validate_new(new, school, today, email_required=intake is None)
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ComplaintError(field_name, message)
    calendar = school_calendar(session)
    token = secrets.token_urlsafe(24)
    email = "" if new.anonymous else new.parent_email.strip()
    arrived = intake.stated_on if intake is not None else today
    complaint = Complaint(
        reference=_unused_reference(session),
        access_token_hash=token_digest(token),
        stage=Stage.stage1 if new.formal else Stage.concern,
        status=Status.held if held else Status.new,
        is_active=not held,
        asked_for_formal=new.formal,
        about=new.about,
        about_name=new.about_name.strip()[:200],
        category=new.category,
        what_happened=new.what_happened.strip(),
        happened_on=new.happened_on,
        done_so_far=new.done_so_far.strip(),
        put_right=new.put_right.strip(),
        anonymous=new.anonymous,
        parent_name="" if new.anonymous else new.parent_name.strip()[:200],
        parent_name_normalised="" if new.anonymous else new.parent_name.strip().lower()[:200],
        parent_email=email,
        parent_email_normalised=normalise_email(email),
        parent_phone="" if new.anonymous else new.parent_phone.strip()[:40],
        child_name=new.child_name.strip()[:200],
        received_at=now,
        received_on=_received_on(calendar, arrived),
        is_late=bool(
            new.happened_on and new.happened_on < months_before(arrived, school.late_after_months)
        ),
    )
    if intake is not None:
        complaint.channel = intake.channel
        complaint.logged_by_user_id = intake.logged_by.id
        complaint.stated_received_on = intake.stated_on
        complaint.parent_address = "" if new.anonymous else intake.parent_address.strip()[:500]
        complaint.intake_token_hash = intake.token_hash
        if complaint.by_post:
            complaint.paper_link_sealed = seal(settings.secret_key, _track_link(settings, token))
    # A held case has no deadline until office releases it into the queue.
    _set_deadline(
        session, complaint, None if held else DeadlineKind.acknowledge, complaint.received_on
    )
    persistent = _persistent_record(session, complaint.parent_email_normalised)
    if persistent is not None:
        complaint.persistent_matter = True
        complaint.lead_complaint_id = persistent.complaint_id
    # The letter and the email are written, checked and sealed before anything is saved: the
    # first write takes the database's write lock (SQLite) until the commit, so the lock is held
    # for the saving only.
    response_by = reply_due_words(session, complaint)
    letter = None if held else acknowledgement_letter(session, complaint, response_by)
    acknowledgement = None
    if letter is not None:
        acknowledgement = _new_message(MessageKind.acknowledgement, letter, Actor.system())
    received_email = parent_email(
        session, complaint, "complaint-received", private_link=True, response_by=response_by
    )
    received_mail = None
    if received_email is not None:
        private_link = _track_link(settings, token)
        received_mail = parent_mail(
            session, settings, complaint, received_email, private_link=private_link
        )
    insert_now(session, complaint)
    _exclude_named_at_receipt(session, complaint)
    for attachment_id in new.attachment_ids:
        attachment = session.get(Attachment, attachment_id)
        if attachment is not None:
            attachment.complaint_id = complaint.id
            attachment.draft_id = None
            session.add(attachment)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:receive",
        actor=Actor.parent(complaint.display_name or "Anonymous parent"),
        to_value=Status.new,
        detail={
            "stage": complaint.stage,
            "received_on": complaint.received_on,
            "late": complaint.is_late,
            "anonymous": complaint.anonymous,
            "persistent": complaint.persistent_matter,
        },
    )
    if received_mail is not None:
        queue_parent_mail(session, settings, complaint, received_mail)
    if acknowledgement is not None:
        _save_message(session, complaint, acknowledgement, Actor.system())
    if persistent is not None:
        _tell_procedure_complete(session, settings, complaint, persistent)
    # Last: every submission updates this one counter row, and on PostgreSQL the row stays locked
    # until the commit, so the others wait only for the end of this request, not all of it.
    _adjust_count(session, complaint.status, complaint.about, +1)
    # The confirmation page says nothing about other cases: whoever typed this address may not
    # own it, so what is known of the address's earlier matters goes only to that mailbox.
    return Received(complaint=complaint, access_token=token)


def _track_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/track/{token}"


def release_held(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser
) -> None:
    """Office looked at a case held as possible junk and found a real parent: it joins the queue
    as if it had just arrived (its deadline counts from when it was received), and the parent's
    held acknowledgement goes out."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("release", "You cannot sort this case")
    if complaint.status != Status.held:
        raise ComplaintError("release", "This case is not held")
    _change_status(session, complaint, Status.new, Actor.staff(user), released=True)
    _set_deadline(session, complaint, DeadlineKind.acknowledge, complaint.received_on)
    acknowledge(session, complaint, reply_due_words(session, complaint))
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.related_type == "complaint",
            OutboxMessage.related_id == str(complaint.id),
            OutboxMessage.status == OutboxStatus.held.value,
        )
        .values(status=OutboxStatus.queued.value, next_attempt_at=now_of(session))
    )


def reply_due_words(session: Session, complaint: Complaint) -> str:
    """When the parent should have the full reply, counted from the day it was received: "by
    Wednesday 16 December 2026", or the timescale when the term dates do not reach that far."""
    school = school_of(session)
    days = (
        school.stage1_response_days if complaint.asked_for_formal else school.concern_response_days
    )
    if complaint.received_on is None:
        return f"within {days} school days"
    try:
        due = compute_deadline(school_calendar(session), complaint.received_on, days)
    except CalendarExhaustedError:
        return f"within {days} school days"
    return f"by {format_date(due)}"


def acknowledge(session: Session, complaint: Complaint, response_by: str) -> None:
    """The acknowledgement: a letter on the case (the parent reads and downloads it; office
    prints it for a parent with no email), sent the moment the case is received, so always
    inside the acknowledgement timescale. Its email is the "complaint-received" one."""
    letter = acknowledgement_letter(session, complaint, response_by)
    _add_message(session, complaint, MessageKind.acknowledgement, letter, Actor.system())


def acknowledgement_letter(session: Session, complaint: Complaint, response_by: str) -> str:
    """The acknowledgement letter's text (it reads the case's words, not its id)."""
    school = school_of(session)
    return render_wording(
        session,
        "acknowledgement-letter",
        {
            "case": case_view(complaint, school),
            "recipient_name": "parent or carer" if complaint.anonymous else complaint.parent_name,
            "response_by": response_by,
        },
        school=school,
    ).body


def _tell_procedure_complete(
    session: Session, settings: Settings, complaint: Complaint, persistent: PersistentComplainant
) -> None:
    lead = session.get(Complaint, persistent.complaint_id)
    _email_parent(
        session,
        settings,
        complaint,
        "earlier-matter-complete",
        earlier_reference=lead.reference if lead is not None else "",
    )


def _received_on(calendar: SchoolCalendar, today: date) -> date:
    """The next school day; today itself when the term dates have run out (it is still received)."""
    try:
        return calendar.next_school_day(today)
    except CalendarExhaustedError:
        return today


# The final "Send" of a rush reads these two for every case: built once, with bound values, they
# cost a third of a statement built afresh (SQLAlchemy makes a cache key for each new statement).
_REFERENCE_TAKEN = select(Complaint.id).where(Complaint.reference == bindparam("reference"))
_LATEST_PERSISTENT_RECORD = (
    select(PersistentComplainant.id)
    .where(PersistentComplainant.email_normalised == bindparam("email"))
    .order_by(col(PersistentComplainant.id).desc())
    .limit(1)
)


def _unused_reference(session: Session) -> str:
    connection = session.connection()
    while True:
        reference = new_reference()
        if connection.execute(_REFERENCE_TAKEN, {"reference": reference}).first() is None:
            return reference


def _persistent_record(session: Session, email: str) -> PersistentComplainant | None:
    if not email:
        return None
    # The id first (a column read); the row, rarely there, only when it is.
    found = session.connection().execute(_LATEST_PERSISTENT_RECORD, {"email": email}).scalar()
    return session.get(PersistentComplainant, found) if found is not None else None
