"""The rules of the Complaints Procedure: receiving, routing, deadlines, stages and letters.

Views call these functions and commit; every state change writes the history and, where the
parent must know, queues an email in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Integer,
    and_,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import CalendarExhaustedError, DeadlineExplanation, SchoolCalendar, format_date
from portal.clock import school_today
from portal.complaints.models import (
    NO_DEADLINE,
    About,
    Attachment,
    CaseExclusion,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    ExclusionReason,
    MessageKind,
    Outcome,
    Panel,
    PersistentComplainant,
    Stage,
    Status,
    StatusCount,
)
from portal.complaints.naming import match_named_staff
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import (
    SECRET_PLACEHOLDER,
    InvalidAddress,
    OutboxMessage,
    OutboxStatus,
    normalised_address,
    queue_mail,
)
from portal.school.services import School, calendar_of, school_of
from portal.sealing import seal
from portal.signing import token_digest
from portal.wording.catalogue import CaseView
from portal.wording.services import render as render_wording

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REPLY_TEXT_LIMIT = 10_000


class ComplaintError(ValueError):
    """A step that breaks a rule of the procedure; the message is shown next to `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---------------------------------------------------------------- calendar and deadlines


def school_calendar(session: Session) -> SchoolCalendar:
    """The school's term dates as stored now (edited on the admin pages, no restart)."""
    return calendar_of(session)


def school_date(session: Session) -> date:
    """Today's date at the school, by the clock of the app that opened `session`."""
    return school_today(now_of(session))


def timescale_days(school: School, kind: DeadlineKind, stage: Stage) -> int:
    """The school's own timescale for this deadline, in school days."""
    if kind is DeadlineKind.acknowledge:
        return school.acknowledge_within_days
    if kind is DeadlineKind.escalate:
        return school.escalation_window_days
    if kind is DeadlineKind.panel:
        return school.stage2_outcome_days
    if stage is Stage.concern:
        return school.concern_response_days
    return school.stage1_response_days


def _set_deadline(
    session: Session, complaint: Complaint, kind: DeadlineKind | None, start: date | None
) -> None:
    complaint.deadline_extended_to = None
    complaint.reminded_for = None
    if kind is None or start is None:
        complaint.deadline_kind = None
        complaint.deadline_from = None
        complaint.deadline_school_days = None
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
        return
    days = timescale_days(school_of(session), kind, complaint.stage_enum)
    complaint.deadline_kind = kind
    complaint.deadline_from = start
    complaint.deadline_school_days = days
    try:
        complaint.next_deadline = compute_deadline(school_calendar(session), start, days)
    except CalendarExhaustedError:
        # The term dates run out before the deadline: keep its basis, so it is worked out the
        # moment the next dates are added, and show "not set yet" meanwhile. Never an error.
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
        return
    complaint.queue_date = complaint.next_deadline


def compute_deadline(calendar: SchoolCalendar, start: date, days: int) -> date:
    return calendar.add_school_days(calendar.next_school_day(start), days)


@dataclass(frozen=True)
class DeadlineView:
    """A case's next deadline, how it was worked out, and whether it has moved since stored."""

    kind: DeadlineKind
    due: date
    explanation: DeadlineExplanation | None
    extended_from: date | None
    moved_from: date | None
    overdue: bool


def deadline_view(session: Session, complaint: Complaint, today: date) -> DeadlineView | None:
    """Recompute from the stored basis, so a change to term dates or holidays shows at once."""
    if complaint.deadline_kind is None or complaint.deadline_from is None:
        return None
    explanation: DeadlineExplanation | None
    try:
        explanation = school_calendar(session).explain(
            complaint.deadline_from, complaint.deadline_school_days or 0
        )
        computed = explanation.deadline
    except CalendarExhaustedError:
        explanation = None
        if complaint.next_deadline is None and complaint.deadline_extended_to is None:
            return None  # not set yet: the term dates do not reach it
        computed = complaint.next_deadline or complaint.deadline_from
    due = complaint.deadline_extended_to or computed
    stored = complaint.next_deadline
    moved_from = stored if stored and stored != due else None
    return DeadlineView(
        kind=DeadlineKind(complaint.deadline_kind),
        due=due,
        explanation=explanation,
        extended_from=computed if complaint.deadline_extended_to else None,
        moved_from=moved_from,
        overdue=due < today and complaint.deadline_kind != DeadlineKind.escalate,
    )


def refresh_deadline(session: Session, complaint: Complaint) -> date | None:
    """Store the recomputed deadline when term dates or holidays moved it; record the move."""
    view = deadline_view(session, complaint, school_date(session))
    if view is None or view.due == complaint.next_deadline:
        return None
    old = complaint.next_deadline
    complaint.next_deadline = view.due
    complaint.queue_date = view.due
    complaint.reminded_for = None
    session.add(complaint)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:deadline:moved",
        actor=Actor.system(),
        from_value=old.isoformat() if old else None,
        to_value=view.due.isoformat(),
        detail={"reason": "term dates or bank holidays changed"},
    )
    return old


# ---------------------------------------------------------------- counts


def _count_key(status: str, about: str) -> str:
    return f"{status}:{about}"


def _adjust_count(session: Session, status: str, about: str, delta: int) -> None:
    """One atomic upsert, so two requests creating the same counter at once both count."""
    key = _count_key(status, about)
    dialect = session.get_bind().dialect.name
    insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_into(StatusCount).values(status=key, count=delta)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StatusCount.status], set_={"count": StatusCount.count + delta}
        )
    )


def claim(session: Session, complaint: Complaint) -> None:
    """Take the case for this change now: bump its version with a conditional UPDATE, so a second
    request that read the same version fails here (StaleDataError) before it writes anything."""
    flag_modified(complaint, "status")
    session.add(complaint)
    session.flush()


def _change_status(
    session: Session, complaint: Complaint, status: Status, actor: Actor, **detail: object
) -> None:
    old = complaint.status
    if old == status:
        return
    if complaint.id is not None:
        _adjust_count(session, old, complaint.about, -1)
    _adjust_count(session, status, complaint.about, +1)
    complaint.status = status
    complaint.is_active = status.is_active
    if not status.is_active:
        complaint.closed_at = now_of(session)
        complaint.deadline_kind = None
        complaint.next_deadline = None
        complaint.queue_date = NO_DEADLINE
    session.add(complaint)
    if complaint.id is not None:
        record_event(
            session,
            subject_type="complaint",
            subject_id=complaint.id,
            tag="complaint:status",
            actor=actor,
            from_value=old,
            to_value=status,
            detail=dict(detail) or None,
        )


def rebuild_status_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Recount the counter table from the cases themselves; returns what changed (was, now).

    The counters move in the same transaction as every change, so they should never drift; this
    is the repair (and the check) should a bulk edit or a restore ever bypass the services.
    """
    real = {
        _count_key(status, about): count
        for status, about, count in session.execute(
            select(Complaint.status, Complaint.about, func.count()).group_by(
                Complaint.status, Complaint.about
            )
        )
    }
    stored = {row.status: row for row in session.scalars(select(StatusCount).with_for_update())}
    changed: dict[str, tuple[int, int]] = {}
    for key in sorted(set(real) | set(stored)):
        now = real.get(key, 0)
        row = stored.get(key)
        was = row.count if row is not None else 0
        if was == now:
            continue
        changed[key] = (was, now)
        if row is None:
            session.add(StatusCount(status=key, count=now))
        else:
            row.count = now
            session.add(row)
    return changed


def status_counts(session: Session, user: StaffUser) -> dict[Status, int]:
    """Cases per status among those this person may see, from the counter table (24 rows)."""
    abouts = visible_abouts(user)
    totals = {status: 0 for status in Status}
    if not abouts:
        rows = session.execute(
            select(Complaint.status, func.count())
            .where(visibility_clause(user))
            .group_by(Complaint.status)
        )
        for status, count in rows:
            totals[Status(status)] = count
        return totals
    for row in session.scalars(select(StatusCount)):
        status, _, about = row.status.partition(":")
        if about in abouts:
            totals[Status(status)] += row.count
    # The counter counts every case of a kind; this person's queue lists fewer (those about
    # them) and more (those they handle or sit on the panel for). Both are few, found by index.
    kept_out = session.execute(
        select(Complaint.status, func.count())
        .join(CaseExclusion, CaseExclusion.complaint_id == Complaint.id)
        .where(CaseExclusion.user_id == user.id, Complaint.about.in_(abouts))
        .group_by(Complaint.status)
    )
    for status, count in kept_out:
        totals[Status(status)] -= count
    about_them = session.execute(
        select(Complaint.status, func.count())
        .where(
            Complaint.about_user_id == user.id,
            Complaint.about.in_(abouts),
            ~exists().where(
                CaseExclusion.complaint_id == Complaint.id, CaseExclusion.user_id == user.id
            ),
        )
        .group_by(Complaint.status)
    )
    for status, count in about_them:
        totals[Status(status)] -= count
    panel_cases = select(Panel.complaint_id).where(
        or_(
            Panel.member_1_id == user.id, Panel.member_2_id == user.id, Panel.member_3_id == user.id
        )
    )
    beyond = session.execute(
        select(Complaint.status, func.count())
        .where(
            Complaint.about.not_in(abouts),
            or_(Complaint.handler_user_id == user.id, Complaint.id.in_(panel_cases)),
            visibility_clause(user),
        )
        .group_by(Complaint.status)
    )
    for status, count in beyond:
        totals[Status(status)] += count
    return totals


# ---------------------------------------------------------------- who may see and handle what


def visible_abouts(user: StaffUser) -> set[str]:
    if user.has_role(Role.chair, Role.clerk):
        return {about.value for about in About}
    if user.has_role(Role.head):
        return {About.school, About.staff, About.governor}
    if user.has_role(Role.office):
        return {About.school, About.staff}
    return set()


def visibility_clause(user: StaffUser) -> ColumnElement[bool]:
    """The SQL filter for the cases this person may see. Never a case naming them."""
    abouts = visible_abouts(user)
    by_role = Complaint.about.in_(abouts) if abouts else false()
    panel_cases = select(Panel.complaint_id).where(
        or_(
            Panel.member_1_id == user.id,
            Panel.member_2_id == user.id,
            Panel.member_3_id == user.id,
        )
    )
    allowed = or_(by_role, Complaint.handler_user_id == user.id, Complaint.id.in_(panel_cases))
    not_about_them = or_(Complaint.about_user_id.is_(None), Complaint.about_user_id != user.id)
    not_excluded = ~exists().where(
        CaseExclusion.complaint_id == Complaint.id, CaseExclusion.user_id == user.id
    )
    return and_(allowed, not_about_them, not_excluded)


def is_excluded(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """True for the person a case is about, by the parent's words or by triage: never theirs."""
    if complaint.about_user_id == user.id:
        return True
    if complaint.id is None:
        return False
    return session.get(CaseExclusion, (complaint.id, user.id)) is not None


def excluded_user_ids(session: Session, complaint: Complaint) -> set[int]:
    ids = set(
        session.scalars(
            select(CaseExclusion.user_id).where(CaseExclusion.complaint_id == complaint.id)
        )
    )
    if complaint.about_user_id is not None:
        ids.add(complaint.about_user_id)
    return ids


def exclusions_for(session: Session, complaint: Complaint) -> list[CaseExclusion]:
    return list(
        session.scalars(
            select(CaseExclusion)
            .where(CaseExclusion.complaint_id == complaint.id)
            .order_by(CaseExclusion.created_at, CaseExclusion.user_id)
        )
    )


def exclude(
    session: Session,
    complaint: Complaint,
    user_id: int,
    reason: ExclusionReason,
    *,
    words: str = "",
    actor: Actor | None = None,
) -> None:
    """Keep `user_id` out of this case for good. An unsure match becomes sure, never the reverse."""
    row = session.get(CaseExclusion, (complaint.id, user_id))
    if row is not None:
        if row.reason == ExclusionReason.maybe_named_by_parent and reason != row.reason:
            row.reason = reason
            session.add(row)
        return
    session.add(
        CaseExclusion(
            complaint_id=complaint.id,
            user_id=user_id,
            reason=reason,
            matched_words=words[:200],
        )
    )
    session.flush()
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:exclude",
        actor=actor or Actor.system(),
        to_value=str(user_id),
        detail={"reason": reason.value, "words": words[:200]},
    )


def clear_unsure_exclusion(
    session: Session, complaint: Complaint, user: StaffUser, excluded_id: int
) -> None:
    """Someone who sorts cases says an unsure match is not the person the parent meant."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("exclusion", "You cannot sort this case")
    row = session.get(CaseExclusion, (complaint.id, excluded_id))
    if row is None or row.reason != ExclusionReason.maybe_named_by_parent:
        raise ComplaintError("exclusion", "Only an unsure match can be cleared")
    session.delete(row)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:exclude:cleared",
        actor=Actor.staff(user),
        from_value=str(excluded_id),
    )


def _exclude_named_at_receipt(session: Session, complaint: Complaint) -> None:
    """From the moment a case arrives, whoever the parent's words name is kept out of it."""
    staff = list(session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True))))
    if complaint.about == About.head:
        for user in staff:
            if user.has_role(Role.head):
                exclude(session, complaint, user.id, ExclusionReason.head_teacher)
    if complaint.about == About.school or not complaint.about_name.strip():
        return
    for match in match_named_staff(complaint.about_name, staff):
        reason = (
            ExclusionReason.named_by_parent if match.sure else ExclusionReason.maybe_named_by_parent
        )
        exclude(session, complaint, match.user.id, reason, words=match.words)


def can_see(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.id == complaint.id)
            .where(visibility_clause(user))
        )
    )


def can_triage(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    return user.has_role(Role.office, Role.chair, Role.clerk) and not is_excluded(
        session, user, complaint
    )


def can_handle(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """Stage 1 and concerns: the assigned handler. Stage 2: the clerk or the chair."""
    if is_excluded(session, user, complaint):
        return False
    if complaint.stage == Stage.stage2:
        return user.has_role(Role.clerk, Role.chair)
    return complaint.handler_user_id == user.id


def can_mark_persistent(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    if is_excluded(session, user, complaint):
        return False
    if complaint.about == About.head:
        return user.has_role(Role.chair)
    return user.has_role(Role.head, Role.chair)


def handler_roles(about: About) -> tuple[Role, ...]:
    """Routing: about the head -> chair; about a governor -> clerk; otherwise the head."""
    if about is About.head:
        return (Role.chair,)
    if about is About.governor:
        return (Role.clerk,)
    return (Role.head,)


def eligible_handlers(session: Session, complaint: Complaint) -> list[StaffUser]:
    roles = handler_roles(complaint.about_enum)
    users = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    excluded = excluded_user_ids(session, complaint)
    for linked in linked_cases(session, complaint):
        excluded |= excluded_user_ids(session, linked)
    return [u for u in users if u.has_role(*roles) and u.id not in excluded]


def staff_who_can_be_named(session: Session, about: About) -> list[StaffUser]:
    """Who a case can name: anyone on the staff list for 'a member of staff', governors (and the
    chair) for 'a governor', the head for 'the head teacher'. Checked again on the server."""
    users = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
        )
    )
    if about is About.staff:
        return users
    if about is About.governor:
        return [u for u in users if u.has_role(Role.governor, Role.chair)]
    if about is About.head:
        return [u for u in users if u.has_role(Role.head)]
    return []


def handler_of(session: Session, complaint: Complaint) -> StaffUser | None:
    return session.get(StaffUser, complaint.handler_user_id) if complaint.handler_user_id else None


def record_view(
    session: Session, complaint: Complaint, user: StaffUser, *, read: str | None = None
) -> None:
    """Every look at a case by staff goes in its history; `read` says what else was opened
    (a file, a letter, a parent's email in the outbox)."""
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:view",
        actor=Actor.staff(user),
        detail={"read": read} if read else None,
    )


# ---------------------------------------------------------------- receiving a complaint


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
class Received:
    complaint: Complaint
    access_token: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


def new_reference() -> str:
    """Like C-7K4P-2QX: random, no 0/O or 1/I/L to misread, 31^7 (27 billion) possibilities."""
    chars = [secrets.choice(REFERENCE_ALPHABET) for _ in range(7)]
    return "C-" + "".join(chars[:4]) + "-" + "".join(chars[4:])


def normalise_reference(text: str) -> str:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) == 8 and cleaned.startswith("C"):
        cleaned = cleaned[1:]
    if len(cleaned) != 7 or not set(cleaned) <= set(REFERENCE_ALPHABET):
        return ""
    return f"C-{cleaned[:4]}-{cleaned[4:]}"


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


def validate_new(new: NewComplaint, school: School, today: date) -> dict[str, str]:
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
) -> Received:
    """Record a new concern or complaint and queue its acknowledgement. The caller commits.

    `held`: it looks like junk (a form robot filled the hidden field). It is kept all the same,
    out of the queue, with its emails held, until office releases it: nothing sent vanishes.
    """
    now = now or now_of(session)
    today = school_today(now)
    school = school_of(session)
    errors = validate_new(new, school, today)
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ComplaintError(field_name, message)
    calendar = school_calendar(session)
    token = secrets.token_urlsafe(24)
    email = "" if new.anonymous else new.parent_email.strip()
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
        received_on=_received_on(calendar, today),
        is_late=bool(
            new.happened_on and new.happened_on < months_before(today, school.late_after_months)
        ),
    )
    # A held case has no deadline until office releases it into the queue.
    _set_deadline(
        session, complaint, None if held else DeadlineKind.acknowledge, complaint.received_on
    )
    persistent = _persistent_record(session, complaint.parent_email_normalised)
    if persistent is not None:
        complaint.persistent_matter = True
        complaint.lead_complaint_id = persistent.complaint_id
    _adjust_count(session, complaint.status, complaint.about, +1)
    session.add(complaint)
    session.flush()
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
    if email:
        _email_parent(
            session,
            settings,
            complaint,
            "complaint-received",
            private_link=f"{settings.base_url}/track/{token}",
        )
    if persistent is not None:
        _tell_procedure_complete(session, settings, complaint, persistent)
    # The confirmation page says nothing about other cases: whoever typed this address may not
    # own it, so what is known of the address's earlier matters goes only to that mailbox.
    return Received(complaint=complaint, access_token=token)


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
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.related_type == "complaint",
            OutboxMessage.related_id == str(complaint.id),
            OutboxMessage.status == OutboxStatus.held.value,
        )
        .values(status=OutboxStatus.queued.value, next_attempt_at=now_of(session))
    )


def _due(day: date | None) -> str:
    """A deadline for an email; when the term dates have run out there is none yet to give."""
    return format_date(day) if day is not None else "a date we will confirm soon"


def _by_when(complaint: Complaint, school: School) -> str:
    """ "by Monday 7 December 2026", or the timescale when the term dates have run out."""
    if complaint.next_deadline is not None:
        return f"by {format_date(complaint.next_deadline)}"
    return f"within {school.acknowledge_within_days} school days"


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


def _unused_reference(session: Session) -> str:
    while True:
        reference = new_reference()
        if session.scalar(select(Complaint.id).where(Complaint.reference == reference)) is None:
            return reference


def _persistent_record(session: Session, email: str) -> PersistentComplainant | None:
    if not email:
        return None
    return session.scalars(
        select(PersistentComplainant)
        .where(PersistentComplainant.email_normalised == email)
        .order_by(PersistentComplainant.id.desc())
    ).first()


def _kind_word(complaint: Complaint) -> str:
    return "concern" if complaint.stage == Stage.concern else "complaint"


def case_view(complaint: Complaint, school: School) -> CaseView:
    """The case as an email or letter template reads it: words, not the row."""
    return CaseView(
        reference=complaint.reference,
        kind=_kind_word(complaint),
        stage=complaint.stage_enum.label.lower(),
        is_concern=complaint.stage == Stage.concern,
        anonymous=complaint.anonymous,
        parent_name=complaint.parent_name,
        child_name=complaint.child_name,
        category=complaint.category,
        received_on=format_date(complaint.received_on) if complaint.received_on else "",
        deadline=_due(complaint.next_deadline),
        acknowledge_by=_by_when(complaint, school),
    )


def _email_parent(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    key: str,
    *,
    private_link: str | None = None,
    **values: str,
) -> None:
    """Queue the email `key` (portal.wording) to the parent, in the school's wording. A private
    link goes sealed, never into the stored body: the template only ever sees its placeholder."""
    if complaint.anonymous or not complaint.parent_email:
        return
    school = school_of(session)
    if private_link:
        values["private_link"] = SECRET_PLACEHOLDER
    message = render_wording(
        session,
        key,
        {"case": case_view(complaint, school), "recipient_name": complaint.parent_name, **values},
        school=school,
    )
    queue_mail(
        session,
        to=complaint.parent_email,
        subject=message.subject,
        body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
        related=("complaint", str(complaint.id)),
        sealed_secret=seal(settings.secret_key, private_link) if private_link else None,
        held=complaint.status == Status.held,
    )


def _email_staff(
    session: Session,
    settings: Settings,
    user: StaffUser | None,
    complaint: Complaint,
    key: str,
    **values: str,
) -> None:
    """Queue the email `key` to a member of staff: what happened and the link, no case details."""
    if user is None or not user.is_active:
        return
    school = school_of(session)
    message = render_wording(
        session,
        key,
        {"case": case_view(complaint, school), "recipient_name": user.name, **values},
        school=school,
    )
    queue_mail(
        session,
        to=user.email,
        subject=message.subject,
        body_text=(
            f"{message.body}\n\n"
            f"Open the case: {settings.base_url}/staff/complaints/{complaint.reference}\n"
            "(The case details are only on the portal, not in this email.)\n"
        ),
        related=("complaint", str(complaint.id)),
    )


def _add_message(
    session: Session,
    complaint: Complaint,
    kind: MessageKind,
    body: str,
    actor: Actor,
    *,
    outcome: str | None = None,
    new_deadline: date | None = None,
) -> ComplaintMessage:
    message = ComplaintMessage(
        complaint_id=complaint.id,
        kind=kind,
        author_type=actor.kind,
        author_user_id=actor.user_id,
        author_label=actor.label,
        body=body.strip(),
        outcome=outcome,
        new_deadline=new_deadline,
    )
    session.add(message)
    session.flush()
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag=f"complaint:message:{kind}",
        actor=actor,
        detail={"message_id": message.id},
    )
    return message


# ---------------------------------------------------------------- triage


@dataclass
class Triage:
    stage: Stage
    category: str
    handler_id: int | None
    about_user_id: int | None = None
    late_decision: str | None = None
    anonymous_decision: str | None = None
    notes: str = ""


def triage(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, decision: Triage
) -> None:
    """Office sorts a new case: concern or stage 1, category, who it names, who handles it."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("handler_id", "You cannot sort this case")
    if complaint.status not in (Status.new, Status.open) or complaint.stage == Stage.stage2:
        raise ComplaintError("stage", "Only new or open concerns and stage 1 cases can be sorted")
    if decision.stage not in (Stage.concern, Stage.stage1):
        raise ComplaintError("stage", "Select concern or stage 1 complaint")
    if decision.category not in school_of(session).categories:
        raise ComplaintError("category", "Select a category")
    if complaint.is_late and decision.late_decision not in ("investigate", "decline"):
        raise ComplaintError(
            "late_decision",
            f"This was raised more than {school_of(session).late_after_words} after it "
            "happened: record a decision",
        )
    if complaint.anonymous and decision.anonymous_decision not in ("investigate", "decline"):
        raise ComplaintError(
            "anonymous_decision", "Record whether to look into this anonymous case"
        )
    if decision.about_user_id is not None:
        nameable = {u.id for u in staff_who_can_be_named(session, complaint.about_enum)}
        if decision.about_user_id not in nameable:
            raise ComplaintError("about_user_id", "Select the person the complaint is about")
        if decision.about_user_id == user.id:
            raise ComplaintError(
                "about_user_id",
                "You cannot sort a case about yourself: ask a colleague to sort it",
            )
        complaint.about_user_id = decision.about_user_id
        exclude(
            session,
            complaint,
            decision.about_user_id,
            ExclusionReason.named_at_triage,
            actor=Actor.staff(user),
        )
    if decision.about_user_id is None and complaint.about == About.head:
        heads = [u for u in session.scalars(select(StaffUser)) if u.has_role(Role.head)]
        complaint.about_user_id = heads[0].id if len(heads) == 1 else complaint.about_user_id
        for head in heads:
            exclude(session, complaint, head.id, ExclusionReason.head_teacher)
    handler = session.get(StaffUser, decision.handler_id) if decision.handler_id else None
    if handler is None or handler.id not in {u.id for u in eligible_handlers(session, complaint)}:
        roles = ", ".join(role.label.lower() for role in handler_roles(complaint.about_enum))
        raise ComplaintError(
            "handler_id",
            f"Select a handler: this case must go to the {roles}, not the person named",
        )
    actor = Actor.staff(user)
    old_stage = complaint.stage
    complaint.stage = decision.stage
    complaint.category = decision.category
    complaint.late_decision = decision.late_decision if complaint.is_late else None
    complaint.anonymous_decision = decision.anonymous_decision if complaint.anonymous else None
    if decision.notes.strip():
        complaint.decision_notes = decision.notes.strip()
    first_triage = complaint.status == Status.new
    complaint.triaged_at = complaint.triaged_at or now_of(session)
    previous_handler = complaint.handler_user_id
    complaint.handler_user_id = handler.id
    declined = "decline" in (complaint.late_decision, complaint.anonymous_decision)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:triage",
        actor=actor,
        from_value=old_stage,
        to_value=decision.stage,
        detail={
            "category": decision.category,
            "handler": handler.name,
            "late_decision": complaint.late_decision,
            "anonymous_decision": complaint.anonymous_decision,
            "notes": decision.notes.strip(),
        },
    )
    if declined:
        _close_declined(session, settings, complaint, user, decision.notes)
        return
    if first_triage:
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
        _email_parent(
            session,
            settings,
            complaint,
            "case-being-looked-into",
            handler_name=handler.name,
        )
    elif old_stage != complaint.stage:
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
    session.add(complaint)
    if previous_handler != handler.id:
        _email_staff(
            session,
            settings,
            handler,
            complaint,
            "staff-case-given",
        )


def _close_declined(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, notes: str
) -> None:
    reason = notes.strip() or "The school has decided not to investigate."
    _add_message(
        session,
        complaint,
        MessageKind.school_message,
        f"We have decided not to look into this case. {reason}",
        Actor.staff(user),
    )
    _change_status(session, complaint, Status.closed, Actor.staff(user), declined=True)
    _email_parent(
        session,
        settings,
        complaint,
        "case-declined",
        reason=reason,
    )


def redirect_out_of_scope(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    user: StaffUser,
    *,
    procedure: str,
    reason: str,
) -> None:
    """Not for this procedure: tell the parent where to go instead, with the reason recorded."""
    if not can_triage(session, user, complaint):
        raise ComplaintError("procedure", "You cannot sort this case")
    chosen = school_of(session).procedure(procedure)
    if chosen is None:
        raise ComplaintError("procedure", "Select which procedure this belongs to")
    if len(reason.strip()) < 5:
        raise ComplaintError("reason", "Enter the reason, which the parent will read")
    if not complaint.is_active:
        raise ComplaintError("procedure", "This case is already closed")
    name = chosen.name
    where = f"{chosen.where} {chosen.url}".strip() if chosen.url else chosen.where
    complaint.redirect_to = name
    complaint.redirect_reason = reason.strip()
    _add_message(
        session,
        complaint,
        MessageKind.redirect_notice,
        f"This is about {name.lower()}, which has its own procedure. {where}\n\n{reason.strip()}",
        Actor.staff(user),
    )
    _change_status(session, complaint, Status.redirected, Actor.staff(user), procedure=procedure)
    _email_parent(
        session,
        settings,
        complaint,
        "case-redirected",
        procedure_name=name.lower(),
        where=where,
        reason=reason.strip(),
    )


def link_to_lead(session: Session, complaint: Complaint, lead: Complaint, user: StaffUser) -> None:
    """Duplicates and campaigns: one case leads; the others are answered with it."""
    if not (can_triage(session, user, complaint) or can_handle(session, user, complaint)):
        raise ComplaintError("lead_reference", "You cannot link this case")
    if not complaint.is_active or not lead.is_active:
        raise ComplaintError("lead_reference", "Only open cases can be linked")
    if lead.id == complaint.id:
        raise ComplaintError("lead_reference", "A case cannot lead itself")
    if linked_cases(session, complaint):
        raise ComplaintError(
            "lead_reference",
            f"{complaint.reference} already leads other cases, so it cannot follow one",
        )
    if lead.lead_complaint_id is not None:
        raise ComplaintError("lead_reference", f"{lead.reference} is itself linked to another case")
    if not can_see(session, user, lead):
        raise ComplaintError("lead_reference", "No case with that reference")
    if handler_roles(complaint.about_enum) != handler_roles(lead.about_enum):
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} is answered by someone else under the procedure, so the cases "
            "cannot be answered together",
        )
    if lead.handler_user_id is not None and lead.handler_user_id in excluded_user_ids(
        session, complaint
    ):
        raise ComplaintError(
            "lead_reference",
            f"{lead.reference} is handled by someone this case is about, so they cannot be linked",
        )
    complaint.lead_complaint_id = lead.id
    session.add(complaint)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:link",
        actor=Actor.staff(user),
        to_value=lead.reference,
    )


def link_to_lead_by_reference(
    session: Session, complaint: Complaint, reference: str, user: StaffUser
) -> Complaint:
    lead = find_by_reference(session, reference)
    if lead is None or not can_see(session, user, lead):
        raise ComplaintError("lead_reference", "No case with that reference")
    link_to_lead(session, complaint, lead, user)
    return lead


def may_answer_with_lead(session: Session, user: StaffUser, case: Complaint) -> bool:
    """A linked case gets its lead's letter only if the letter's author could answer it alone:
    they may see it, it is not about them, and its routing sends it to someone in their role."""
    return (
        not is_excluded(session, user, case)
        and can_see(session, user, case)
        and user.has_role(*handler_roles(case.about_enum))
    )


def linked_cases(session: Session, lead: Complaint) -> list[Complaint]:
    return list(
        session.scalars(
            select(Complaint).where(Complaint.lead_complaint_id == lead.id).order_by(Complaint.id)
        )
    )


# ---------------------------------------------------------------- responding


@dataclass
class Letter:
    outcome: Outcome
    investigated: str
    decision: str
    actions: str


def respond(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, letter: Letter
) -> list[Complaint]:
    """The concern reply or stage 1 letter; linked cases get the same letter. Returns all cases."""
    if complaint.status != Status.open or complaint.stage == Stage.stage2:
        raise ComplaintError("outcome", "Only an open concern or stage 1 case can be answered")
    if not can_handle(session, user, complaint):
        raise ComplaintError("outcome", "Only the case's handler can send its response")
    _check_letter(letter)
    answered = [complaint] + [
        case
        for case in linked_cases(session, complaint)
        if case.status == Status.open and may_answer_with_lead(session, user, case)
    ]
    today = school_today(now_of(session))
    for case in answered:
        body = stage1_letter_text(session, case, letter, user, today)
        _add_message(
            session,
            case,
            MessageKind.stage1_letter,
            body,
            Actor.staff(user),
            outcome=letter.outcome,
        )
        case.outcome = letter.outcome
        case.responded_on = today
        _change_status(session, case, Status.responded, Actor.staff(user))
        _set_deadline(session, case, DeadlineKind.escalate, today)
        _email_parent(
            session,
            settings,
            case,
            "response-ready",
        )
        session.add(case)
    return answered


def _check_letter(letter: Letter) -> None:
    if not isinstance(letter.outcome, Outcome):
        raise ComplaintError("outcome", "Select the outcome")
    for text_field in ("investigated", "decision"):
        if len(getattr(letter, text_field).strip()) < 10:
            raise ComplaintError(text_field, "Write this part of the letter")


def can_message(session: Session, user: StaffUser, complaint: Complaint) -> bool:
    """Messages to the parent come from whoever sorts or handles the case, not panel members."""
    return complaint.is_active and (
        can_triage(session, user, complaint) or can_handle(session, user, complaint)
    )


def stage1_letter_text(
    session: Session, complaint: Complaint, letter: Letter, user: StaffUser, today: date
) -> str:
    school = school_of(session)
    try:
        window = compute_deadline(school_calendar(session), today, school.escalation_window_days)
        by_when = f"by {format_date(window)}"
    except CalendarExhaustedError:
        by_when = f"within {school.escalation_window_days} school days of this letter"
    return render_wording(
        session,
        "stage1-letter",
        {**_letter_values(session, complaint, letter, user), "escalate_by": by_when},
        school=school,
    ).body


def _letter_values(
    session: Session, complaint: Complaint, letter: Letter, user: StaffUser
) -> dict[str, object]:
    """What both letters' templates read (portal.wording: stage1-letter, panel-outcome-letter)."""
    school = school_of(session)
    return {
        "case": case_view(complaint, school),
        "recipient_name": "parent or carer" if complaint.anonymous else complaint.parent_name,
        "outcome": letter.outcome.label,
        "investigated": letter.investigated.strip(),
        "decision": letter.decision.strip(),
        "actions": letter.actions.strip(),
        "signer_name": user.name,
        "signer_role": _signed_as(session, user),
    }


def send_deadline_update(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    user: StaffUser,
    *,
    new_date: date | None,
    reason: str,
) -> None:
    """The handler tells the parent the reply will be late: a new date and why."""
    if not complaint.is_active or complaint.deadline_kind not in (
        DeadlineKind.respond,
        DeadlineKind.panel,
    ):
        raise ComplaintError("new_date", "Only a case waiting for a response can have a new date")
    if not can_handle(session, user, complaint):
        raise ComplaintError("new_date", "Only the case's handler can change its date")
    current = complaint.next_deadline
    if new_date is None or (current and new_date <= current):
        raise ComplaintError("new_date", "Enter a new date later than the current one")
    if len(reason.strip()) < 10:
        raise ComplaintError("reason", "Explain why the reply will be late")
    complaint.deadline_extended_to = new_date
    complaint.next_deadline = new_date
    complaint.queue_date = new_date
    complaint.reminded_for = None
    session.add(complaint)
    _add_message(
        session,
        complaint,
        MessageKind.deadline_update,
        f"We need more time. We will now reply by {format_date(new_date)}.\n\n{reason.strip()}",
        Actor.staff(user),
        new_deadline=new_date,
    )
    _email_parent(
        session,
        settings,
        complaint,
        "new-date",
        new_date=format_date(new_date),
        reason=reason.strip(),
    )


def send_message(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, body: str
) -> ComplaintMessage:
    if not can_message(session, user, complaint):
        raise ComplaintError("body", "You cannot send messages on this case")
    if len(body.strip()) < 2:
        raise ComplaintError("body", "Write your message")
    message = _add_message(session, complaint, MessageKind.school_message, body, Actor.staff(user))
    _email_parent(
        session,
        settings,
        complaint,
        "school-message",
    )
    return message


def add_note(
    session: Session, complaint: Complaint, user: StaffUser, body: str
) -> ComplaintMessage:
    if len(body.strip()) < 2:
        raise ComplaintError("note", "Write your note")
    return _add_message(session, complaint, MessageKind.internal_note, body, Actor.staff(user))


# ---------------------------------------------------------------- the parent's actions


def check_reply(session: Session, settings: Settings, complaint: Complaint, body: str) -> None:
    """Refuse a reply before anything is stored: closed case, empty, too long, or too many today.

    The same text limit as the form's long answers; the daily limit stops a flood (or a stuck
    browser) burying the case, and the parent's words are kept on the page to send later.
    """
    if not complaint.is_active:
        raise ComplaintError("body", "This case is closed, so you cannot reply to it")
    if complaint.persistent_matter:
        raise ComplaintError(
            "body", "The school's complaints procedure on this matter is complete, so it is closed"
        )
    if len(body.strip()) < 2:
        raise ComplaintError("body", "Write your reply")
    if len(body) > REPLY_TEXT_LIMIT:
        raise ComplaintError("body", f"Your reply must be {REPLY_TEXT_LIMIT:,} characters or fewer")
    since = now_of(session) - timedelta(days=1)
    sent_today = session.scalar(
        select(func.count())
        .select_from(ComplaintMessage)
        .where(
            ComplaintMessage.complaint_id == complaint.id,
            ComplaintMessage.kind == MessageKind.parent_reply,
            ComplaintMessage.created_at > since,
        )
    )
    if (sent_today or 0) >= settings.replies_per_case_per_day:
        raise ComplaintError(
            "body",
            f"You have sent {settings.replies_per_case_per_day} replies on this case in the "
            "last 24 hours, which is the most we take in a day. We have kept what you wrote: "
            "send it tomorrow, or phone the school office if it is urgent",
        )


def parent_reply(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    body: str,
    attachment_ids: Sequence[int] = (),
) -> ComplaintMessage:
    check_reply(session, settings, complaint, body)
    message = _add_message(
        session, complaint, MessageKind.parent_reply, body, Actor.parent(complaint.display_name)
    )
    for attachment_id in attachment_ids:
        attachment = session.get(Attachment, attachment_id)
        if attachment is not None:
            attachment.complaint_id = complaint.id
            attachment.message_id = message.id
            attachment.draft_id = None
            session.add(attachment)
    handler = handler_of(session, complaint)
    _email_staff(
        session,
        settings,
        handler,
        complaint,
        "staff-parent-replied",
    )
    return message


def withdraw(session: Session, settings: Settings, complaint: Complaint, reason: str) -> None:
    """The parent withdraws; we confirm it in writing (a message on the case and an email)."""
    if not complaint.is_active:
        raise ComplaintError("reason", "This case is already closed")
    text = reason.strip() or "No reason given."
    _add_message(
        session,
        complaint,
        MessageKind.withdrawal,
        f"The parent withdrew this {_kind_word(complaint)}. Reason: {text}",
        Actor.parent(complaint.display_name),
    )
    _change_status(session, complaint, Status.withdrawn, Actor.parent(complaint.display_name))
    _email_parent(
        session,
        settings,
        complaint,
        "case-withdrawn",
        withdrawn_on=format_date(school_date(session)),
    )
    handler = handler_of(session, complaint)
    _email_staff(
        session,
        settings,
        handler,
        complaint,
        "staff-case-withdrawn",
    )


def escalation_open(complaint: Complaint, today: date) -> bool:
    return (
        complaint.status == Status.responded
        and complaint.deadline_kind == DeadlineKind.escalate
        # No date yet (the term dates ran out): the window stays open until one is set.
        and (complaint.next_deadline is None or today <= complaint.next_deadline)
        and not complaint.persistent_matter
    )


def escalate(
    session: Session,
    settings: Settings,
    complaint: Complaint,
    reasons: str,
    *,
    today: date | None = None,
) -> None:
    """After a stage 1 letter, inside the window: the governors' panel (stage 2) is opened.

    After a concern reply it becomes a formal stage 1 complaint instead.
    """
    today = today or school_today(now_of(session))
    if not escalation_open(complaint, today):
        raise ComplaintError(
            "reasons", "The time to ask for the next stage has passed, or this case is closed"
        )
    if len(reasons.strip()) < 10:
        raise ComplaintError("reasons", "Tell us why you are not satisfied")
    actor = Actor.parent(complaint.display_name)
    _add_message(session, complaint, MessageKind.escalation_request, reasons, actor)
    old_stage = complaint.stage
    calendar = school_calendar(session)
    if complaint.stage == Stage.concern:
        complaint.stage = Stage.stage1
        complaint.received_on = _received_on(calendar, today)
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.respond, complaint.received_on)
        handler = handler_of(session, complaint)
    else:
        complaint.stage = Stage.stage2
        complaint.escalated_on = _received_on(calendar, today)
        clerks = [
            u
            for u in session.scalars(
                select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
            )
            if u.has_role(Role.clerk) and u.id != complaint.about_user_id
        ]
        handler = clerks[0] if clerks else None
        complaint.handler_user_id = handler.id if handler else complaint.handler_user_id
        _change_status(session, complaint, Status.open, actor)
        _set_deadline(session, complaint, DeadlineKind.panel, complaint.escalated_on)
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:stage:escalate",
        actor=actor,
        from_value=old_stage,
        to_value=complaint.stage,
    )
    session.add(complaint)
    _email_parent(
        session,
        settings,
        complaint,
        "next-stage-requested",
    )
    _email_staff(
        session,
        settings,
        handler,
        complaint,
        "staff-next-stage",
    )


# ---------------------------------------------------------------- stage 2


def panel_for(session: Session, complaint: Complaint) -> Panel | None:
    return session.scalars(select(Panel).where(Panel.complaint_id == complaint.id)).first()


def involved_user_ids(session: Session, complaint: Complaint) -> set[int]:
    """Everyone who took part in the case before stage 2: they may not sit on the panel."""
    ids = {complaint.handler_user_id, complaint.about_user_id}
    ids.update(
        session.scalars(
            select(ComplaintMessage.author_user_id).where(
                ComplaintMessage.complaint_id == complaint.id,
                ComplaintMessage.kind.in_([MessageKind.stage1_letter, MessageKind.school_message]),
            )
        )
    )
    return {i for i in ids if i is not None}


def eligible_panel_members(session: Session, complaint: Complaint) -> list[StaffUser]:
    involved = involved_user_ids(session, complaint)
    users = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    return [
        u
        for u in users
        if u.has_role(Role.governor, Role.chair)
        and not u.has_role(Role.head)
        and u.id not in involved
    ]


def record_panel(
    session: Session,
    complaint: Complaint,
    user: StaffUser,
    *,
    hearing_on: date | None,
    member_ids: Sequence[int],
    papers: str,
    hearing_notes: str,
) -> Panel:
    if complaint.stage != Stage.stage2 or complaint.status != Status.open:
        raise ComplaintError("hearing_on", "A panel can only be recorded for an open stage 2 case")
    if not user.has_role(Role.clerk, Role.chair) or is_excluded(session, user, complaint):
        raise ComplaintError("hearing_on", "Only the clerk or the chair can record the panel")
    if hearing_on is None:
        raise ComplaintError("hearing_on", "Enter the date of the panel hearing")
    chosen = [int(m) for m in member_ids if m]
    if len(set(chosen)) != 3:
        raise ComplaintError("members", "Select three different panel members")
    allowed = {u.id for u in eligible_panel_members(session, complaint)}
    if not set(chosen) <= allowed:
        raise ComplaintError(
            "members", "Panel members must be governors who were not involved, and not the head"
        )
    claim(session, complaint)
    panel = panel_for(session, complaint) or Panel(complaint_id=complaint.id)
    panel.hearing_on = hearing_on
    panel.member_1_id, panel.member_2_id, panel.member_3_id = chosen
    panel.papers = papers.strip()
    panel.hearing_notes = hearing_notes.strip()
    panel.recorded_by_user_id = user.id
    session.add(panel)
    session.flush()
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:panel:record",
        actor=Actor.staff(user),
        to_value=hearing_on.isoformat(),
        detail={"members": chosen},
    )
    return panel


def send_panel_outcome(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, letter: Letter
) -> None:
    """The stage 2 letter closes the procedure and says where to go next."""
    if not can_handle(session, user, complaint) or complaint.stage != Stage.stage2:
        raise ComplaintError("outcome", "Only the clerk or chair can send the panel's outcome")
    if complaint.status != Status.open:
        raise ComplaintError("outcome", "This case is not waiting for a panel outcome")
    panel = panel_for(session, complaint)
    if panel is None or len(panel.member_ids) != 3:
        raise ComplaintError("outcome", "Record the panel (date and three members) first")
    _check_letter(letter)
    members = [session.get(StaffUser, m) for m in panel.member_ids]
    body = render_wording(
        session,
        "panel-outcome-letter",
        {
            **_letter_values(session, complaint, letter, user),
            "hearing_on": format_date(panel.hearing_on),
            "panel_members": ", ".join(m.name for m in members if m),
        },
    ).body
    _add_message(
        session,
        complaint,
        MessageKind.stage2_letter,
        body,
        Actor.staff(user),
        outcome=letter.outcome,
    )
    complaint.outcome = letter.outcome
    _change_status(session, complaint, Status.closed, Actor.staff(user))
    _email_parent(
        session,
        settings,
        complaint,
        "panel-outcome-ready",
    )


# ---------------------------------------------------------------- persistent complainants


def mark_persistent(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser, reason: str
) -> None:
    if not can_mark_persistent(session, user, complaint):
        raise ComplaintError("persistent_reason", "Only the head teacher or chair can do this")
    if len(reason.strip()) < 10:
        raise ComplaintError("persistent_reason", "Record the reason")
    if complaint.anonymous or not complaint.parent_email_normalised:
        raise ComplaintError("persistent_reason", "An anonymous case cannot be marked")
    session.add(
        PersistentComplainant(
            email_normalised=complaint.parent_email_normalised,
            complaint_id=complaint.id,
            reason=reason.strip(),
            marked_by_user_id=user.id,
        )
    )
    complaint.persistent_matter = True
    record_event(
        session,
        subject_type="complaint",
        subject_id=complaint.id,
        tag="complaint:persistent",
        actor=Actor.staff(user),
        detail={"reason": reason.strip()},
    )
    text = (
        "The school has completed its complaints procedure on this matter. We will not reopen "
        "it or answer further messages about the same matter. If you raise something new, we "
        "will look at it."
    )
    _add_message(session, complaint, MessageKind.school_message, text, Actor.staff(user))
    if complaint.is_active:
        _change_status(session, complaint, Status.closed, Actor.staff(user), persistent=True)
    session.add(complaint)
    _email_parent(
        session,
        settings,
        complaint,
        "procedure-complete",
    )


def close_as_same_matter(
    session: Session, settings: Settings, complaint: Complaint, user: StaffUser
) -> None:
    """A new submission from someone marked persistent, on the matter already closed."""
    if not complaint.persistent_matter or complaint.lead_complaint_id is None:
        raise ComplaintError("procedure", "This case is not linked to a completed matter")
    if not complaint.is_active:
        raise ComplaintError("procedure", "This case is already closed")
    if not can_triage(session, user, complaint) and not can_mark_persistent(
        session, user, complaint
    ):
        raise ComplaintError("procedure", "You cannot close this case")
    lead = session.get(Complaint, complaint.lead_complaint_id)
    text = (
        f"This is about the same matter as {lead.reference if lead else 'an earlier case'}, "
        "where the school's complaints procedure is complete. It will not be reopened."
    )
    _add_message(session, complaint, MessageKind.school_message, text, Actor.staff(user))
    _change_status(session, complaint, Status.closed, Actor.staff(user), same_matter=True)
    _email_parent(
        session,
        settings,
        complaint,
        "same-matter",
        earlier_reference=lead.reference if lead else "",
    )


# ---------------------------------------------------------------- finding cases


def find_by_reference(session: Session, reference: str) -> Complaint | None:
    normalised = normalise_reference(reference)
    if not normalised:
        return None
    return session.scalars(select(Complaint).where(Complaint.reference == normalised)).first()


def find_for_parent(session: Session, reference: str, email: str) -> Complaint | None:
    """Reference plus email, both required to match; says nothing about which one was wrong."""
    complaint = find_by_reference(session, reference)
    email = normalise_email(email)
    if complaint is None or not email or complaint.parent_email_normalised != email:
        return None
    return complaint


def find_by_token(session: Session, token: str) -> Complaint | None:
    if not token or len(token) > 100:
        return None
    return session.scalars(
        select(Complaint).where(Complaint.access_token_hash == token_digest(token))
    ).first()


def messages_for(
    session: Session, complaint: Complaint, *, for_parent: bool
) -> list[ComplaintMessage]:
    statement = select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint.id)
    if for_parent:
        statement = statement.where(ComplaintMessage.kind != MessageKind.internal_note)
    return list(session.scalars(statement.order_by(ComplaintMessage.id)))


def attachments_for(
    session: Session, complaint: Complaint, *, for_parent: bool = False
) -> list[Attachment]:
    """A case's files; for the parent, never one attached to an internal note."""
    statement = select(Attachment).where(Attachment.complaint_id == complaint.id)
    if for_parent:
        notes = select(ComplaintMessage.id).where(
            ComplaintMessage.complaint_id == complaint.id,
            ComplaintMessage.kind == MessageKind.internal_note,
        )
        statement = statement.where(
            or_(Attachment.message_id.is_(None), Attachment.message_id.not_in(notes))
        )
    return list(session.scalars(statement.order_by(Attachment.id)))


@dataclass
class QueueFilters:
    status: str | None = None
    stage: str | None = None
    category: str | None = None
    handler_id: int | None = None
    overdue: bool = False
    anonymous: bool = False
    search: str = ""
    include_closed: bool = False


@dataclass
class QueuePage:
    cases: list[Complaint]
    next_cursor: str | None


def queue_page(
    session: Session,
    user: StaffUser,
    filters: QueueFilters,
    *,
    after: str | None = None,
    limit: int = 25,
    today: date | None = None,
) -> QueuePage:
    """Cases sorted by next deadline (no deadline last), keyset-paginated on (deadline, id)."""
    today = today or school_today(now_of(session))
    sort_date = Complaint.queue_date
    statement = select(Complaint).where(visibility_clause(user))
    if filters.status in {s.value for s in Status}:
        statement = statement.where(Complaint.status == filters.status)
    elif not filters.include_closed:
        statement = statement.where(Complaint.is_active.is_(True))
    if filters.stage in {s.value for s in Stage}:
        statement = statement.where(Complaint.stage == filters.stage)
    if filters.category:
        statement = statement.where(Complaint.category == filters.category)
    if filters.handler_id:
        statement = statement.where(Complaint.handler_user_id == filters.handler_id)
    if filters.overdue:
        statement = statement.where(
            Complaint.next_deadline < today, Complaint.deadline_kind != DeadlineKind.escalate
        )
    if filters.anonymous:
        statement = statement.where(Complaint.anonymous.is_(True))
    if filters.search.strip():
        statement = statement.where(search_clause(session, filters.search))
    if after:
        cursor_date, _, cursor_id = after.partition("_")
        try:
            after_date, after_id = date.fromisoformat(cursor_date), int(cursor_id)
        except ValueError:
            after_date, after_id = None, None
        if after_date is not None:
            statement = statement.where(
                tuple_(sort_date, Complaint.id) > tuple_(literal(after_date), literal(after_id))
            )
    statement = statement.order_by(sort_date, Complaint.id).limit(limit + 1)
    cases = list(session.scalars(statement))
    next_cursor = None
    if len(cases) > limit:
        cases = cases[:limit]
        last = cases[-1]
        next_cursor = f"{last.queue_date.isoformat()}_{last.id}"
    return QueuePage(cases=cases, next_cursor=next_cursor)


SEARCH_SET_LIMIT = 2000


def search_clause(session: Session, text: str) -> ColumnElement[bool]:
    """Reference, email or name exactly, or the words of the case (the full-text index).

    Words found in few cases: the matching ids are fetched first and only they are sorted.
    Words found in many cases: the queue is read in deadline order and each case tested, which
    finds a page of matches quickly. Either way the database's full-text index does the work.
    """
    text = text.strip()
    if "@" in text:
        return Complaint.parent_email_normalised == normalise_email(text)
    lowered = text.lower()
    exact = Complaint.parent_name_normalised == lowered
    reference = normalise_reference(text)
    if reference:
        exact = or_(exact, Complaint.reference == reference)
    words = [w for w in "".join(c if c.isalnum() else " " for c in lowered).split() if len(w) > 1]
    if not words:
        return exact
    if session.get_bind().dialect.name == "postgresql":
        matching = sql_text(
            "SELECT id FROM complaint WHERE to_tsvector('simple', parent_name || ' ' || "
            "what_happened) @@ to_tsquery('simple', :words) LIMIT :limit"
        ).bindparams(words=" & ".join(f"{w}:*" for w in words), limit=SEARCH_SET_LIMIT + 1)
        document = literal_column(
            "to_tsvector('simple', complaint.parent_name || ' ' || complaint.what_happened)"
        )
        per_case = document.op("@@")(func.to_tsquery("simple", " & ".join(f"{w}:*" for w in words)))
    else:
        fts_words = " ".join(f'"{w}"*' for w in words)
        matching = sql_text(
            "SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH :words LIMIT :limit"
        ).bindparams(words=fts_words, limit=SEARCH_SET_LIMIT + 1)
        per_case = Complaint.id.in_(
            sql_text("SELECT rowid FROM complaint_fts WHERE complaint_fts MATCH :fts_words")
            .bindparams(fts_words=fts_words)
            .columns(column("rowid", Integer))
        )
    ids = list(session.scalars(matching))
    if len(ids) <= SEARCH_SET_LIMIT:
        return or_(exact, Complaint.id.in_(ids)) if ids else exact
    return or_(exact, per_case)


# ---------------------------------------------------------------- reminders


@dataclass
class ReminderReport:
    reminded: int = 0
    closed: int = 0
    moved: int = 0


def remind(session: Session, settings: Settings, *, today: date | None = None) -> ReminderReport:
    """Safe to run every hour: each deadline is reminded once; lapsed windows are closed."""
    today = today or school_today(now_of(session))
    calendar = school_calendar(session)
    report = ReminderReport()
    try:
        horizon = calendar.add_school_days(
            calendar.next_school_day(today), school_of(session).reminder_days_before
        )
    except CalendarExhaustedError:
        # Beyond the known term dates: remind by calendar days rather than not at all.
        horizon = today + timedelta(days=school_of(session).reminder_days_before)
    active = session.scalars(
        select(Complaint).where(Complaint.is_active.is_(True), Complaint.deadline_kind.is_not(None))
    )
    for complaint in list(active):
        if refresh_deadline(session, complaint):
            report.moved += 1
        due = complaint.next_deadline
        if due is None:
            continue
        if complaint.deadline_kind == DeadlineKind.escalate:
            if due < today:
                text = "The time to ask for the next stage has passed, so this case is now closed."
                _add_message(session, complaint, MessageKind.school_message, text, Actor.system())
                _change_status(session, complaint, Status.closed, Actor.system(), lapsed=True)
                report.closed += 1
            continue
        if due <= horizon and complaint.reminded_for != due:
            handler = handler_of(session, complaint)
            recipients = [handler] if handler else _office_staff(session)
            for person in recipients:
                _email_staff(
                    session,
                    settings,
                    person,
                    complaint,
                    "staff-reminder",
                    due_what=DeadlineKind(complaint.deadline_kind).label,
                    due_on=format_date(due),
                )
            complaint.reminded_for = due
            session.add(complaint)
            report.reminded += 1
    return report


def _office_staff(session: Session) -> list[StaffUser]:
    users = session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)))
    return [u for u in users if u.has_role(Role.office)]


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, StaffUser]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(wanted)))}


def overdue_marker(complaint: Complaint, today: date) -> bool:
    return bool(
        complaint.next_deadline
        and complaint.next_deadline < today
        and complaint.deadline_kind != DeadlineKind.escalate
    )


def _signed_as(session: Session, user: StaffUser) -> str:
    """The line under a letter's signature: roles and the school."""
    return f"{', '.join(user.role_labels)}, {school_of(session).name}"
