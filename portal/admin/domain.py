"""The admin pages for the portal's shared machinery, as the portal assembles them
(`portal.domains`): the outbox, and the staff home's warning that the term dates run out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlmodel import Session

from portal import term_dates
from portal.accounts.models import Role, StaffUser
from portal.admin.views import router
from portal.domains import Domain, HomePanel, MenuEntry


def term_dates_panel(
    request: Request, session: Session, user: StaffUser
) -> Mapping[str, Any] | None:
    """Admins are told on their home page when the known term dates are about to run out."""
    if not user.has_role(Role.admin):
        return None
    warning = term_dates.running_out(session, request.app.state.settings)
    return {"warning": warning} if warning else None


DOMAIN = Domain(
    name="admin",
    routers=[router],
    menu=[MenuEntry("/staff/outbox", "Outbox", frozenset({Role.admin}), order=40)],
    home_panels=[HomePanel("admin/staff-home-term-dates.html", term_dates_panel, order=10)],
)
