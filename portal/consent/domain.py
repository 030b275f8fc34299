"""Photo consent as the portal assembles it (`portal.domains`): the parents' pages (/photos),
the pupil register pages, the photo check, the consent reports, parents' confirmations and school
events, and the consent settings, and their staff menu entries."""

from __future__ import annotations

from portal.consent import models
from portal.consent.confirmation_views import CONFIRMATION_ROLES
from portal.consent.confirmation_views import router as confirmation_router
from portal.consent.parent_views import router as parent_router
from portal.consent.photo_check_views import CHECK_ROLES
from portal.consent.photo_check_views import router as photo_check_router
from portal.consent.register_views import PUPIL_ROLES
from portal.consent.register_views import router as register_router
from portal.consent.report_views import REPORT_ROLES
from portal.consent.report_views import router as report_router
from portal.consent.settings_views import SETTINGS_ROLES
from portal.consent.settings_views import router as settings_router
from portal.domains import Domain, MenuEntry

DOMAIN = Domain(
    name="consent",
    routers=[
        parent_router,
        register_router,
        photo_check_router,
        report_router,
        confirmation_router,
        settings_router,
    ],
    menu=[
        MenuEntry("/staff/pupils", "Pupils", frozenset(PUPIL_ROLES), order=12),
        MenuEntry("/staff/photo-check", "Photo check", frozenset(CHECK_ROLES), order=13),
        MenuEntry("/staff/consent-reports", "Consent reports", frozenset(REPORT_ROLES), order=14),
        MenuEntry("/staff/confirmations", "Confirmations", frozenset(CONFIRMATION_ROLES), order=15),
        MenuEntry(
            "/staff/consent-settings", "Consent settings", frozenset(SETTINGS_ROLES), order=31
        ),
    ],
    models=models,
)
