"""The term dates pages as the portal assembles them (`portal.domains`): the admins' pages,
reached from School settings (no menu entry of their own). The school package is core; this only
plugs its pages in."""

from __future__ import annotations

from portal.domains import Domain
from portal.school.term_dates_views import router

DOMAIN = Domain(
    name="term-dates",
    routers=[router],
)
