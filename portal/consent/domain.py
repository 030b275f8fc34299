"""Photo consent as the portal assembles it (`portal.domains`): the parents' pages (/photos),
the pupil register pages and the photo check, and their staff menu entries."""

from __future__ import annotations

from portal.consent import models
from portal.consent.parent_views import router as parent_router
from portal.consent.photo_check_views import CHECK_ROLES
from portal.consent.photo_check_views import router as photo_check_router
from portal.consent.register_views import PUPIL_ROLES
from portal.consent.register_views import router as register_router
from portal.domains import Domain, MenuEntry

DOMAIN = Domain(
    name="consent",
    routers=[parent_router, register_router, photo_check_router],
    menu=[
        MenuEntry("/staff/pupils", "Pupils", frozenset(PUPIL_ROLES), order=12),
        MenuEntry("/staff/photo-check", "Photo check", frozenset(CHECK_ROLES), order=13),
    ],
    models=models,
)
