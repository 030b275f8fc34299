"""Photo consent as the portal assembles it (`portal.domains`): the parents' pages (/photos),
the pupil register pages, the photo check, parents'
confirmations and school events, and their staff menu entries."""

from __future__ import annotations

from portal.consent import models
from portal.consent.confirmation_views import CONFIRMATION_ROLES
from portal.consent.confirmation_views import router as confirmation_router
from portal.consent.parent_views import router as parent_router
from portal.consent.photo_check_views import CHECK_ROLES
from portal.consent.photo_check_views import router as photo_check_router
from portal.consent.register_views import PUPIL_ROLES
from portal.consent.register_views import router as register_router
from portal.domains import Domain, MenuEntry

DOMAIN = Domain(
    name="consent",
    routers=[parent_router, register_router, photo_check_router, confirmation_router],
    menu=[
        MenuEntry("/staff/pupils", "Pupils", frozenset(PUPIL_ROLES), order=12),
        MenuEntry("/staff/photo-check", "Photo check", frozenset(CHECK_ROLES), order=13),
        MenuEntry("/staff/confirmations", "Confirmations", frozenset(CONFIRMATION_ROLES), order=14),
    ],
    models=models,
)
