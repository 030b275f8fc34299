"""The wording of emails and letters as the portal assembles it (`portal.domains`): the admin
pages and their entry in the staff menu. A core package: the complaints domain renders its
emails through `portal.wording.services`."""

from __future__ import annotations

from portal.accounts.models import Role
from portal.domains import Domain, MenuEntry
from portal.wording import models
from portal.wording.views import router

DOMAIN = Domain(
    name="wording",
    routers=[router],
    menu=[MenuEntry("/staff/settings/wording", "Emails and letters", frozenset({Role.admin}), 70)],
    models=models,
)
