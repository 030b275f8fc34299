"""Comment moderation as the portal assembles it (`portal.domains`): the parents' comment pages,
the comments section on a news post's page, and the moderators' pages with their menu entries."""

from __future__ import annotations

from portal.domains import Domain, HomePanel, MenuEntry
from portal.moderation import models
from portal.moderation.comment_views import router as comment_router
from portal.moderation.panel import PANEL_TEMPLATE, post_comments
from portal.moderation.services.decisions import MODERATOR_ROLES
from portal.moderation.staff_views import SETTINGS_ROLES, WORD_ROLES
from portal.moderation.staff_views import router as staff_router

DOMAIN = Domain(
    name="moderation",
    routers=[comment_router, staff_router],
    menu=[
        MenuEntry("/staff/moderation", "Comments", frozenset(MODERATOR_ROLES), order=16),
        MenuEntry("/staff/moderation/words", "Comment words", frozenset(WORD_ROLES), order=17),
        MenuEntry(
            "/staff/moderation/settings", "Comment settings", frozenset(SETTINGS_ROLES), order=32
        ),
    ],
    post_panels=[HomePanel(PANEL_TEMPLATE, post_comments, order=50)],
    models=models,
)
