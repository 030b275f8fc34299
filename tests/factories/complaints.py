"""Cases in every state of the procedure, built through the same services the portal uses.

    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "open", about=About.head)
    case, link_token = make_case_with_link(db_session, settings, cast, "responded")
    case = submit(db_session, settings, about=About.staff)  # "new", no cast needed

States, in order: "new" (submitted), "open" (triaged), "responded" (stage 1 letter sent),
"stage2" (the parent escalated), "panel" (panel recorded), "closed" (panel outcome sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints import attachments, services
from portal.complaints.models import About, Complaint, Outcome, Stage
from portal.config import Settings
from tests.factories.staff import make_user

STATES = ("new", "open", "responded", "stage2", "panel", "closed")
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Cast:
    """The school's people for a case: who sorts, who answers, who sits on panels."""

    office: StaffUser
    head: StaffUser
    chair: StaffUser
    clerk: StaffUser
    governors: list[StaffUser] = field(default_factory=list)

    def handler_for(self, about: About) -> StaffUser:
        return {About.head: self.chair, About.governor: self.clerk}.get(about, self.head)


def make_cast(session: Session) -> Cast:
    return Cast(
        office=make_user(session, Role.office, name="Janet Okafor"),
        head=make_user(session, Role.head, name="David Morgan"),
        chair=make_user(session, Role.chair, name="Helen Price"),
        clerk=make_user(session, Role.clerk, name="Tom Baxter"),
        governors=[
            make_user(session, Role.governor, name=name)
            for name in ("Aisha Rahman", "Mark Ellis", "Sarah Lee")
        ],
    )


def answers(**overrides: Any) -> services.NewComplaint:
    """A parent's answers, with sensible defaults for everything not given."""
    values: dict[str, Any] = {
        "formal": True,
        "about": About.school,
        "about_name": "",
        "category": "Behaviour and bullying",
        "what_happened": "My son was pushed over in the playground and nobody told me about it.",
        "happened_on": None,
        "done_so_far": "I spoke to his class teacher at pick-up.",
        "put_right": "Tell me what happened and make sure it stops.",
        "anonymous": False,
        "parent_name": "Alex Parent",
        "parent_email": "alex.parent@example.com",
        "parent_phone": "07700 900123",
        "child_name": "Sam Parent",
    }
    values.update(overrides)
    return services.NewComplaint(**values)


def letter(outcome: Outcome = Outcome.partly_upheld, **overrides: str) -> services.Letter:
    values = {
        "investigated": "We spoke to the staff on duty and read the incident log.",
        "decision": "Staff should have told you the same day. We are sorry they did not.",
        "actions": "Staff will phone parents on the day of any injury.",
    }
    values.update(overrides)
    return services.Letter(outcome=outcome, **values)


def add_file(session: Session, settings: Settings, filename: str = "evidence.pdf") -> int:
    """A stored PDF waiting in a draft, for `make_case(..., attachment_ids=[...])`."""
    stored = attachments.store(
        session, settings, filename=filename, content=PDF_BYTES, draft_id="factory-draft"
    )
    session.commit()
    return stored.id


def submit(
    session: Session, settings: Settings, *, now: datetime | None = None, **answer_overrides: Any
) -> Complaint:
    """A parent's case, just received (state "new"), committed."""
    return make_case(session, settings, None, "new", now=now, **answer_overrides)


def sort_case(
    session: Session,
    settings: Settings,
    case: Complaint,
    by: StaffUser,
    *,
    handler: StaffUser,
    stage: Stage | None = None,
    about_user: StaffUser | None = None,
    notes: str = "",
) -> None:
    """Sort a case as the office does on its page: its stage (as it is, unless given), its own
    category, the handler; a late or anonymous case is to be looked into. The caller commits."""
    services.triage(
        session,
        settings,
        case,
        by,
        services.Triage(
            stage=stage or Stage(case.stage),
            category=case.category,
            handler_id=handler.id,
            about_user_id=about_user.id if about_user else None,
            late_decision="investigate" if case.is_late else None,
            anonymous_decision="investigate" if case.anonymous else None,
            notes=notes,
        ),
    )


def make_case(
    session: Session,
    settings: Settings,
    cast: Cast | None,
    state: str = "open",
    **options: Any,
) -> Complaint:
    """Submit a case and walk it through the procedure to `state`, committing each step.
    Options are `make_case_with_link`'s."""
    return make_case_with_link(session, settings, cast, state, **options)[0]


def make_case_with_link(
    session: Session,
    settings: Settings,
    cast: Cast | None,
    state: str = "open",
    *,
    now: datetime | None = None,
    stage: Stage | None = None,
    about_user: StaffUser | None = None,
    handler: StaffUser | None = None,
    sorted_by: StaffUser | None = None,
    panel: list[StaffUser] | None = None,
    hearing_on: date | None = None,
    response: services.Letter | None = None,
    panel_outcome: services.Letter | None = None,
    **answer_overrides: Any,
) -> tuple[Complaint, str]:
    """The case and the token of the private link the parent was given. Without a `cast`, the
    people are the ones given (`sorted_by`, `handler`...), and the handler is otherwise the first
    the portal offers."""
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}")
    new = answers(**answer_overrides)
    received = services.submit(session, settings, new, now=now)
    complaint = received.complaint
    session.commit()
    link = (complaint, received.access_token)
    if state == "new":
        return link

    if handler is None:
        handler = (
            cast.handler_for(new.about)
            if cast is not None
            else services.eligible_handlers(session, complaint)[0]
        )
    if sorted_by is None:
        assert cast is not None, "give `sorted_by` or a cast"
        office_may = new.about in (About.school, About.staff) and about_user is not cast.office
        sorted_by = cast.office if office_may else cast.chair
    sort_case(
        session,
        settings,
        complaint,
        sorted_by,
        handler=handler,
        stage=stage,
        about_user=about_user,
        notes="Sorted by the test factory.",
    )
    session.commit()
    if state == "open":
        return link

    services.respond(session, settings, complaint, handler, response or letter())
    session.commit()
    if state == "responded":
        return link

    services.escalate(
        session, settings, complaint, "The school has not dealt with the real problem at all."
    )
    session.commit()
    if state == "stage2":
        return link

    assert cast is not None, "give a cast for the governors' panel"
    clerk = cast.clerk
    members = panel or cast.governors
    services.record_panel(
        session,
        complaint,
        clerk,
        # The hearing is today by default: a panel's outcome may only be sent once it has met.
        hearing_on=hearing_on or services.school_date(session),
        member_ids=[member.id for member in members],
        papers="The stage 1 letter and the parent's request.",
        hearing_notes="The parent and the head teacher both spoke.",
    )
    session.commit()
    if state == "panel":
        return link

    services.send_panel_outcome(
        session, settings, complaint, clerk, panel_outcome or letter(Outcome.upheld)
    )
    session.commit()
    return link
