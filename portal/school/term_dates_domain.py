"""The term dates pages as the portal assembles them (`portal.domains`): the admins' page and
its menu entry. The school package is core; this only plugs its pages in."""

from __future__ import annotations

from portal.accounts.models import Role
from portal.domains import Domain, MenuEntry
from portal.school.term_dates_views import router

DOMAIN = Domain(
    name="term-dates",
    routers=[router],
    menu=[MenuEntry("/staff/settings/term-dates", "Term dates", frozenset({Role.admin}), order=45)],
)
