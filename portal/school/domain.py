"""The school's own settings as the portal assembles them (`portal.domains`): the admin pages for
the profile, the first-run setup steps, the crest image, and the menu entries: "School settings"
once the portal is open, "Set up the portal" until then.

The tables are the core's (`portal.models` imports them whatever is installed), so none here.
"""

from portal.accounts.models import Role
from portal.domains import SETTING_UP, Domain, MenuEntry
from portal.school.views import router

DOMAIN = Domain(
    name="school",
    routers=[router],
    menu=[
        MenuEntry("/staff/setup", "Set up the portal", frozenset({Role.admin}), 0, SETTING_UP),
        MenuEntry("/staff/settings", "School settings", frozenset({Role.admin}), order=30),
    ],
)
