"""Stage 2: the governors' panel and its outcome."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar as ICalendar
from icalendar import Event as ICalEvent
from sqlalchemy import (
    select,
)
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import (
    Complaint,
    ComplaintMessage,
    MessageKind,
    Panel,
    Stage,
    Status,
)
from portal.complaints.services.access import (
    can_handle,
    excluded_user_ids,
    handler_of,
    involved_user_ids,
    is_excluded,
    linked_cases,
)
from portal.complaints.services.deadlines import school_calendar
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.letter_text import Letter, _check_letter, _letter_values
from portal.complaints.services.linked import bring_along, followers, group_lead, is_follower
from portal.complaints.services.notices import _email_parent, _email_staff
from portal.complaints.services.state import _add_message, _change_status, claim
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event
from portal.wording.services import render as render_wording


def panel_for(session: Session, complaint: Complaint) -> Panel | None:
    return session.scalars(select(Panel).where(Panel.complaint_id == complaint.id)).first()


def eligible_panel_members(session: Session, complaint: Complaint) -> list[StaffUser]:
    """Governors not involved, and nobody this case or a case heard with it names."""
    involved = involved_user_ids(session, complaint) | excluded_user_ids(session, complaint)
    for linked in linked_cases(session, complaint):
        involved |= excluded_user_ids(session, linked)
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


HEARING_FORMATS = {
    "in_person": "In person",
    "video": "By video call",
    "papers": "On the papers only (nobody attends)",
}
SCHOOL_TIME_ZONE = ZoneInfo("Europe/London")
PAPERS_DAYS_BEFORE = 5  # school days before the hearing that papers are due
TIME_FORMAT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def record_panel(
    session: Session,
    complaint: Complaint,
    user: StaffUser,
    *,
    hearing_on: date | None,
    member_ids: Sequence[int],
    papers: str,
    hearing_notes: str,
    hearing_time: str = "",
    hearing_format: str = "in_person",
    hearing_place: str = "",
    settings: Settings | None = None,
) -> Panel:
    """Arrange (or change) the panel: date, time, how and where, three governors. The parent
    and each member are told, and told again when any of it changes."""
    if complaint.stage != Stage.stage2 or complaint.status != Status.open:
        raise ComplaintError("hearing_on", "A panel can only be recorded for an open stage 2 case")
    if is_follower(complaint):
        raise ComplaintError(
            "hearing_on", "This case is heard with its lead case: record the panel there"
        )
    if not user.has_role(Role.clerk, Role.chair) or is_excluded(session, user, complaint):
        raise ComplaintError("hearing_on", "Only the clerk or the chair can record the panel")
    if hearing_on is None:
        raise ComplaintError("hearing_on", "Enter the date of the panel hearing")
    today = school_today(now_of(session))
    existing = panel_for(session, complaint)
    hearing_time = hearing_time.strip()
    if hearing_time and not TIME_FORMAT.match(hearing_time):
        raise ComplaintError("hearing_time", "Enter the time like 18:00, or leave it empty")
    if hearing_format not in HEARING_FORMATS:
        raise ComplaintError("hearing_format", "Select how the panel meets")
    if len(hearing_place.strip()) > 200:
        raise ComplaintError(
            "hearing_place", "Where the panel meets must be 200 characters or fewer"
        )
    chosen = [int(m) for m in member_ids if m]
    if len(set(chosen)) != 3:
        raise ComplaintError("members", "Select three different panel members")
    allowed = {u.id for u in eligible_panel_members(session, complaint)}
    if not set(chosen) <= allowed:
        raise ComplaintError(
            "members", "Panel members must be governors who were not involved, and not the head"
        )
    claim(session, complaint)
    panel = existing or Panel(complaint_id=complaint.id)
    before = _arrangement(panel) if existing is not None else None
    panel.hearing_on = hearing_on
    panel.hearing_time = hearing_time
    panel.hearing_format = hearing_format
    panel.hearing_place = hearing_place.strip()
    panel.papers_by = papers_due(session, hearing_on, today)
    panel.member_1_id, panel.member_2_id, panel.member_3_id = chosen
    panel.papers = papers.strip()
    panel.hearing_notes = hearing_notes.strip()
    panel.recorded_by_user_id = user.id
    session.add(panel)
    session.flush()
    if settings is not None and _arrangement(panel) != before:
        tell_about_hearing(session, settings, complaint, panel)
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
    if is_follower(complaint):
        raise ComplaintError("outcome", "This case is heard with its lead case")
    panel = panel_for(session, complaint)
    if panel is None or len(panel.member_ids) != 3:
        raise ComplaintError("outcome", "Record the panel (date and three members) first")
    if panel.hearing_on is not None and school_today(now_of(session)) < panel.hearing_on:
        raise ComplaintError(
            "outcome",
            f"The panel meets on {format_date(panel.hearing_on)}: send its outcome after the "
            "hearing (or change the hearing date if it met earlier)",
        )
    _check_letter(letter)
    members = panel_members_of(session, panel)
    # Every linked case heard with this one gets the panel's letter, addressed to its parent.
    bring_along(session, settings, complaint, Actor.staff(user))
    heard = [complaint] + [
        case
        for case in followers(session, complaint)
        if case.stage == Stage.stage2
        and case.status == Status.open
        and can_handle(session, user, case)
    ]
    for case in heard:
        body = panel_letter_text(session, case, letter, user, panel, members)
        _add_message(
            session,
            case,
            MessageKind.stage2_letter,
            body,
            Actor.staff(user),
            outcome=letter.outcome,
        )
        case.outcome = letter.outcome
        _change_status(session, case, Status.closed, Actor.staff(user))
        _email_parent(
            session,
            settings,
            case,
            "panel-outcome-ready",
        )


def panel_members_of(session: Session, panel: Panel) -> list[StaffUser]:
    return [user for m in panel.member_ids if (user := session.get(StaffUser, m)) is not None]


def panel_letter_text(
    session: Session,
    case: Complaint,
    letter: Letter,
    user: StaffUser,
    panel: Panel,
    members: list[StaffUser],
) -> str:
    """The panel's outcome letter to one parent, as it is sent (and as its preview shows it)."""
    return render_wording(
        session,
        "panel-outcome-letter",
        {
            **_letter_values(session, case, letter, user),
            "hearing_on": format_date(panel.hearing_on),
            "panel_members": ", ".join(m.name for m in members),
        },
    ).body


def _arrangement(panel: Panel) -> tuple[object, ...]:
    """What the parent and the members are told: a change to any of it tells them again."""
    return (
        panel.hearing_on,
        panel.hearing_time,
        panel.hearing_format,
        panel.hearing_place,
        tuple(panel.member_ids),
    )


def papers_due(session: Session, hearing_on: date, today: date) -> date:
    """Papers are due PAPERS_DAYS_BEFORE school days before the hearing (calendar days where the
    term dates do not reach), never before today."""
    calendar = school_calendar(session)
    day, counted = hearing_on, 0
    while counted < PAPERS_DAYS_BEFORE and day > today:
        day -= timedelta(days=1)
        if not calendar.covers(day) or calendar.is_school_day(day):
            counted += 1
    return max(day, today)


def hearing_words(panel: Panel) -> tuple[str, str]:
    """ "Tuesday 12 January 2027 at 18:00" and "In person: the school library"."""
    when = format_date(panel.hearing_on) if panel.hearing_on else "a date to be set"
    if panel.hearing_time:
        when = f"{when} at {panel.hearing_time}"
    how = HEARING_FORMATS.get(panel.hearing_format, "In person")
    if panel.hearing_place:
        how = f"{how}: {panel.hearing_place}"
    return when, how


def tell_about_hearing(
    session: Session, settings: Settings, complaint: Complaint, panel: Panel
) -> None:
    """The parent (and every linked case heard with this one) and each member: when, how, who,
    and the date for papers."""
    when, how = hearing_words(panel)
    members = [session.get(StaffUser, member) for member in panel.member_ids]
    names = [member.name for member in members if member is not None]
    values = {
        "hearing_when": when,
        "hearing_how": how,
        "panel_members": ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
        if names
        else "",
        "papers_by": format_date(panel.papers_by) if panel.papers_by else "",
    }
    heard = [complaint] + [
        case
        for case in followers(session, complaint)
        if case.stage == Stage.stage2 and case.status == Status.open
    ]
    for case in heard:
        _email_parent(session, settings, case, "panel-arranged", **values)
    for member in members:
        _email_staff(session, settings, member, complaint, "staff-panel-member", **values)


def hearing_panel(session: Session, case: Complaint) -> Panel | None:
    """The panel that hears this case: its own, or its lead's when it is heard with a lead."""
    return panel_for(session, group_lead(session, case))


def hearing_invitation(panel: Panel, case: Complaint, school_name: str, stamp: datetime) -> bytes:
    """An iCalendar invitation (.ics) for the hearing: the whole day when no time is set, else
    90 minutes from its time, in the school's time zone. It names no child and no details."""
    calendar = ICalendar()
    calendar.add("prodid", "-//School parent portal//Complaints panel//EN")
    calendar.add("version", "2.0")
    event = ICalEvent()
    event.add("uid", f"panel-{panel.id}-{case.reference}@parent-portal")
    event.add("dtstamp", stamp.replace(tzinfo=UTC))
    assert panel.hearing_on is not None
    if panel.hearing_time:
        hour, minute = (int(part) for part in panel.hearing_time.split(":"))
        start = datetime.combine(panel.hearing_on, time(hour, minute), tzinfo=SCHOOL_TIME_ZONE)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=90))
    else:
        event.add("dtstart", panel.hearing_on)
        event.add("dtend", panel.hearing_on + timedelta(days=1))
    event.add("summary", f"Governors' complaint panel hearing ({case.reference})")
    _when, how = hearing_words(panel)
    event.add("location", panel.hearing_place or how)
    event.add(
        "description",
        f"{school_name}: the governors' panel hears complaint {case.reference}. {how}.",
    )
    calendar.add_component(event)
    return calendar.to_ical()


COMPANION_LIMIT = 200


def ask_for_companion(
    session: Session, settings: Settings, case: Complaint, name: str
) -> ComplaintMessage | None:
    """The parent asks to bring someone to the hearing: a message on their case (the clerk sees
    it and is emailed), and on the panel when it is this case's own."""
    name = " ".join(name.split())
    if case.stage != Stage.stage2 or case.status != Status.open:
        raise ComplaintError("companion_name", "The hearing is over, or there is none yet")
    panel = hearing_panel(session, case)
    if panel is None or panel.hearing_on is None:
        raise ComplaintError("companion_name", "The hearing has not been arranged yet")
    if len(name) < 2:
        raise ComplaintError("companion_name", "Enter the name of the person you will bring")
    if len(name) > COMPANION_LIMIT:
        raise ComplaintError(
            "companion_name", f"The name must be {COMPANION_LIMIT} characters or fewer"
        )
    if panel.complaint_id == case.id and panel.companion_name == name:
        return None  # the same request again (a second press of the button): already told
    # Of two requests at once, one is recorded and told; the other fails here, not twice.
    claim(session, case)
    actor = Actor.parent(case.display_name)
    message = _add_message(
        session,
        case,
        MessageKind.parent_reply,
        f"I would like to bring {name} with me to the panel hearing.",
        actor,
    )
    if panel.complaint_id == case.id:
        panel.companion_name = name
        panel.companion_asked_at = now_of(session)
        session.add(panel)
    _email_staff(session, settings, handler_of(session, case), case, "staff-parent-replied")
    return message
