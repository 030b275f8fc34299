"""The wording of emails and letters as the portal assembles it (`portal.domains`): the admin
pages, reached from the school settings page (no menu entry of their own). A core package: the
complaints domain renders its emails through `portal.wording.services`."""

from __future__ import annotations

from portal.domains import Domain
from portal.wording import models
from portal.wording.views import router

DOMAIN = Domain(
    name="wording",
    routers=[router],
    models=models,
)
