"""The Complaints Procedure as the portal assembles it (`portal.domains`): the parents' form and
tracking pages, the staff pages, the staff menu entry and the "Your cases" home panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.complaints import models, services
from portal.complaints.access_notices import roles_given
from portal.complaints.form_views import router as form_router
from portal.complaints.inbound_views import SORT_ROLES
from portal.complaints.inbound_views import router as inbound_router
from portal.complaints.logged_views import router as logged_router
from portal.complaints.services.inbound import held_count
from portal.complaints.staff_views import router as staff_router
from portal.complaints.term_changes import recompute_open_cases
from portal.complaints.track_views import router as track_router
from portal.domains import Domain, HomePanel, MenuEntry
from portal.school.term_dates import on_term_dates_changed

# Everyone with a part in the procedure: office triages, head and chair handle, a senior leader
# looks into the cases given to them, clerk and governors sit on panels.
COMPLAINT_ROLES = frozenset(
    {Role.office, Role.head, Role.senior_leader, Role.chair, Role.clerk, Role.governor}
)


def your_cases_panel(
    request: Request, session: Session, user: StaffUser
) -> Mapping[str, Any] | None:
    """What is this person's move (soonest date first, so overdue cases lead), apart from what
    waits for someone else; each line says what to do, or who it waits for."""
    if not user.has_role(*COMPLAINT_ROLES):
        return None
    home = services.home_lists(session, user)
    shown = [*home.your_move, *home.waiting]
    names = services.users_by_id(
        session,
        [case.handler_user_id for case in shown] + [case.delegate_user_id for case in shown],
    )
    return {
        "your_move": [(case, services.next_move(case)) for case in home.your_move],
        "your_move_count": home.your_move_count,
        "waiting": [(case, services.waiting_for(case, names)) for case in home.waiting],
        "counts": services.status_counts(session, user),
        "today": services.school_date(session),
    }


def held_emails_panel(
    request: Request, session: Session, user: StaffUser
) -> Mapping[str, Any] | None:
    """Parents' emails waiting for someone who sorts cases; nothing when there are none."""
    if not user.has_role(*SORT_ROLES):
        return None
    count = held_count(session, user)
    return {"count": count} if count else None


# A change to the term dates moves every open case's deadline at once, in the same transaction.
on_term_dates_changed(recompute_open_cases)

DOMAIN = Domain(
    name="complaints",
    # The held emails' and the logged complaint's pages come before the case page, whose
    # {reference} would take "emails" and "new".
    routers=[form_router, track_router, inbound_router, logged_router, staff_router],
    menu=[
        MenuEntry("/staff/complaints", "Complaints", COMPLAINT_ROLES, order=10),
        MenuEntry(
            "/staff/complaints/new", "Log a complaint", frozenset(services.LOGGING_ROLES), order=11
        ),
    ],
    home_panels=[
        HomePanel("complaints/staff-home-your-cases.html", your_cases_panel, order=20),
        HomePanel("complaints/staff-home-held-emails.html", held_emails_panel, order=21),
    ],
    models=models,
    on_roles_given=roles_given,
)
