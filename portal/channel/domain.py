"""The news channel as the portal assembles it (`portal.domains`): the public news pages and
feed, the staff news pages, the "News" menu entry, the head's panel of posts waiting for
approval and the warning panel for posts showing a pupil whose consent changed, and its answer
when photo consent changes (`on_pupil_consent_changed`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.channel import models
from portal.channel.public_views import router as public_router
from portal.channel.services import workflow
from portal.channel.services.watch import pupil_consent_changed
from portal.channel.staff_views import router as staff_router
from portal.domains import Domain, HomePanel, MenuEntry


def waiting_panel(request: Request, session: Session, user: StaffUser) -> Mapping[str, Any] | None:
    """Posts waiting for this person's approval; nothing when there are none."""
    waiting = workflow.waiting_for(session, user)
    return {"posts": waiting} if waiting else None


def flagged_panel(request: Request, session: Session, user: StaffUser) -> Mapping[str, Any] | None:
    """Public posts showing a pupil whose consent changed: for the head and office."""
    if not workflow.may_take_down(user):
        return None
    flagged = workflow.flagged_posts(session)
    return {"posts": flagged} if flagged else None


DOMAIN = Domain(
    name="channel",
    routers=[public_router, staff_router],
    menu=[MenuEntry("/staff/news", "News", frozenset(workflow.NEWS_ROLES), order=16)],
    home_panels=[
        HomePanel("channel/staff-home-flagged.html", flagged_panel, order=5),
        HomePanel("channel/staff-home-waiting.html", waiting_panel, order=18),
    ],
    models=models,
    on_pupil_consent_changed=pupil_consent_changed,
)
