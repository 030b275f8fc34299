"""Photo consent as the portal assembles it (`portal.domains`): the pupil register pages and
their staff menu entry."""

from __future__ import annotations

from portal.consent import models
from portal.consent.register_views import PUPIL_ROLES
from portal.consent.register_views import router as register_router
from portal.domains import Domain, MenuEntry

DOMAIN = Domain(
    name="consent",
    routers=[register_router],
    menu=[MenuEntry("/staff/pupils", "Pupils", frozenset(PUPIL_ROLES), order=12)],
    models=models,
)
