"""Complaints that came by phone, letter, email or in person: office logs them for the parent.

A logged case goes through the very same path as the parent's own form (`receiving.submit`):
reference, private link, exclusions of the person named, acknowledgement letter, deadline,
counts and history. What differs is only how it came: the channel, the day the parent says the
school received it (deadlines count from that day), who logged it, and a postal address when the
parent has no email, so that the acknowledgement and every later letter go on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import Channel, Complaint
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.receiving import (
    Intake,
    NewComplaint,
    Received,
    submit,
    validate_new,
)
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event
from portal.school.services import School, school_of
from portal.sealing import SealError, unseal

LOGGED_TAG = "complaint:logged"  # portal.complaints.timeline.Tag.logged
LOGGING_ROLES = (Role.office, Role.chair, Role.clerk)
LOGGED_CHANNELS = (Channel.phone, Channel.letter, Channel.email, Channel.in_person)
# A letter can sit in a pile for a while, but a "date received" more than a year back is
# almost surely a typing slip (2025 for 2026); an older matter is still the handler's call
# through the late flag, which counts from the date received.
OLDEST_STATED = timedelta(days=365)
ADDRESS_LIMIT = 500

# The parent's form speaks to the parent; office reads the same rules about the parent.
STAFF_WORDS = {
    "category": "Select what the concern or complaint is about",
    "parent_name": "Enter the parent's full name",
    "parent_email": "Enter the parent's email address in the correct format, like "
    "name@example.com, or leave it empty",
    "happened_on": "The date it happened must be today or in the past",
}


@dataclass(frozen=True)
class LoggedComplaint:
    """What office typed: the parent's answers, how it came and when, a postal address."""

    new: NewComplaint
    channel: str
    stated_on: date | None
    parent_address: str = ""


def may_log(user: StaffUser) -> bool:
    """Those who sort cases log them: office, and the chair and clerk (who sort what office may
    not see)."""
    return user.has_role(*LOGGING_ROLES)


def validate_logged(logged: LoggedComplaint, school: School, today: date) -> dict[str, str]:
    """Every problem with what office typed, field id -> what to do."""
    errors: dict[str, str] = {}
    if logged.channel not in {channel.value for channel in LOGGED_CHANNELS}:
        errors["channel"] = "Select how the concern or complaint came to the school"
    stated = logged.stated_on
    if stated is None:
        errors["received_on"] = "Enter the date the school received it"
    elif stated > today:
        errors["received_on"] = "The date received must be today or in the past"
    elif stated < today - OLDEST_STATED:
        errors["received_on"] = (
            f"The date received must be after {format_date(today - OLDEST_STATED)}. Check the year"
        )
    new = logged.new
    for field_name, message in validate_new(new, school, today, email_required=False).items():
        errors.setdefault(field_name, STAFF_WORDS.get(field_name, message))
    if (
        stated is not None
        and new.happened_on is not None
        and "happened_on" not in errors
        and new.happened_on > stated
    ):
        errors["happened_on"] = "The date it happened must be on or before the date received"
    if not new.anonymous and not new.parent_email.strip() and not logged.parent_address.strip():
        errors["parent_address"] = (
            "Enter the parent's postal address, so that we can send letters by post, "
            "or enter their email address"
        )
    if len(logged.parent_address) > ADDRESS_LIMIT:
        errors["parent_address"] = f"The postal address must be {ADDRESS_LIMIT} characters or fewer"
    return errors


def log_complaint(
    session: Session,
    settings: Settings,
    logged: LoggedComplaint,
    user: StaffUser,
    *,
    token_hash: str | None = None,
) -> Received:
    """Record a concern or complaint office took down for a parent. The caller commits.

    `token_hash`: the digest of the form's one-time token; the same form sent twice makes one
    case (see `logged_with`), and two at once meet the unique column.
    """
    if not may_log(user):
        raise ComplaintError("channel", "You cannot log concerns or complaints")
    now = now_of(session)
    errors = validate_logged(logged, school_of(session), school_today(now))
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ComplaintError(field_name, message)
    assert logged.stated_on is not None
    channel = Channel(logged.channel)
    received = submit(
        session,
        settings,
        logged.new,
        now=now,
        intake=Intake(
            channel=channel,
            stated_on=logged.stated_on,
            logged_by=user,
            parent_address=logged.parent_address,
            token_hash=token_hash,
        ),
    )
    record_event(
        session,
        subject_type="complaint",
        subject_id=received.complaint.id,
        tag=LOGGED_TAG,
        actor=Actor.staff(user),
        to_value=channel.value,
        detail={"stated_on": logged.stated_on, "by_post": received.complaint.by_post},
    )
    return received


def logged_with(session: Session, token_hash: str) -> Complaint | None:
    """The case an earlier sending of the same form made, if any."""
    return session.scalars(
        select(Complaint).where(Complaint.intake_token_hash == token_hash)
    ).first()


def paper_link(settings: Settings, complaint: Complaint) -> str | None:
    """The private link of a parent with no email, for the letter office prints; None when the
    case has none (the parent has email: it went there) or the secret key has changed."""
    if not complaint.paper_link_sealed:
        return None
    try:
        return unseal(settings.secret_key, complaint.paper_link_sealed)
    except SealError:
        return None
