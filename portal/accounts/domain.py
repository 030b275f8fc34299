"""Staff accounts as the portal assembles them (`portal.domains`): sign-in, the staff home page
(which shows every domain's panels) and the admin pages for accounts."""

from portal.accounts import models
from portal.accounts.models import Role
from portal.accounts.views import router
from portal.domains import ALWAYS, Domain, MenuEntry

DOMAIN = Domain(
    name="accounts",
    routers=[router],
    menu=[
        MenuEntry("/staff", "Home", None, order=0),
        MenuEntry("/staff/users", "Staff accounts", frozenset({Role.admin}), 20, ALWAYS),
    ],
    models=models,
)
