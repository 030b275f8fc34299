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
from portal.complaints.staff_views import router as staff_router
from portal.complaints.track_views import router as track_router
from portal.domains import Domain, HomePanel, MenuEntry

# Everyone with a part in the procedure: office triages, head and chair handle, clerk and
# governors sit on panels.
COMPLAINT_ROLES = frozenset({Role.office, Role.head, Role.chair, Role.clerk, Role.governor})


def your_cases_panel(
    request: Request, session: Session, user: StaffUser
) -> Mapping[str, Any] | None:
    """What needs this person's attention: their own cases, soonest deadline first."""
    if not user.has_role(*COMPLAINT_ROLES):
        return None
    filters = services.QueueFilters(handler_id=user.id)
    return {
        "my_cases": services.queue_page(session, user, filters, limit=10).cases,
        "counts": services.status_counts(session, user),
        "today": services.school_date(session),
    }


DOMAIN = Domain(
    name="complaints",
    routers=[form_router, track_router, staff_router],
    menu=[MenuEntry("/staff/complaints", "Complaints", COMPLAINT_ROLES, order=10)],
    home_panels=[HomePanel("complaints/staff-home-your-cases.html", your_cases_panel, order=20)],
    models=models,
    on_roles_given=roles_given,
)
