"""The guidance domain as the portal assembles it (`portal.domains`)."""

from portal.accounts.models import Role
from portal.domains import Domain, MenuEntry
from portal.guidance import models
from portal.guidance.views import router

DOMAIN = Domain(
    name="guidance",
    routers=[router],
    menu=[MenuEntry("/staff/policy", "Policy", frozenset({Role.admin}), order=30)],
    models=models,
)
