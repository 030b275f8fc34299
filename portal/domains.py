"""The installed domains, and what each one brings to the portal.

A domain is one package (`portal.complaints`, `portal.guidance`, ...) whose `domain.py` exports
`DOMAIN`, a `Domain`: its routers, its entries in the staff menu, its panels on the staff home
page and its tables. `create_app` includes the routers, the staff menu and home page are built
from the entries and panels, and `portal.models` (so Alembic and the tests) imports the tables,
all from `INSTALLED_DOMAINS`. Adding a domain is a new package and one line there.

This module imports no domain by name (it loads them from the list), so every domain may import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from fastapi import APIRouter, Request
    from sqlmodel import Session

INSTALLED_DOMAINS: tuple[str, ...] = (
    "portal.guidance",
    "portal.accounts",
    "portal.admin",
    "portal.complaints",
    "portal.consent",
    "portal.channel",
    "portal.moderation",
    "portal.school",
    "portal.school.term_dates_domain",
    "portal.wording",
)


class HasRoles(Protocol):
    """A signed-in member of staff, as far as the menu and panels need (`StaffUser`)."""

    def has_role(self, *roles: Any) -> bool: ...


# When a menu entry is shown. A new portal is set up by an admin (`/staff/setup`) before it opens;
# until then most staff pages only send the admin back to the setup steps, so their links wait.
OPEN = "open"  # once the portal is open (the default)
SETTING_UP = "setting up"  # only while the portal is being set up
ALWAYS = "always"  # both: the page works before the portal opens too


@dataclass(frozen=True)
class MenuEntry:
    """A link in the staff menu (and a card on the staff home page, except Home itself).

    `roles` are the `Role` values whose holders see it; None shows it to all staff. Entries are
    shown by `order`, lowest first, whichever domain they come from; `when` is OPEN, SETTING_UP
    or ALWAYS (above).
    """

    href: str
    text: str
    roles: frozenset[str] | None
    order: int
    when: str = OPEN

    def shown_to(self, user: HasRoles, *, setting_up: bool = False) -> bool:
        if self.when != ALWAYS and (self.when == SETTING_UP) != setting_up:
            return False
        return self.roles is None or user.has_role(*self.roles)


PanelContext = Callable[["Request", "Session", Any], Mapping[str, Any] | None]


@dataclass(frozen=True)
class HomePanel:
    """A part of the staff home page: `context(request, session, user)` says what it shows, or
    None when it has nothing for this person (the panel is left out); `template` renders it and
    reads what it was given as `panel`. Panels are shown by `order`, lowest first."""

    template: str
    context: PanelContext
    order: int


@dataclass(frozen=True)
class Domain:
    """What one domain package brings: see the module's docstring."""

    name: str
    routers: Sequence[APIRouter] = ()
    menu: Sequence[MenuEntry] = ()
    home_panels: Sequence[HomePanel] = ()
    models: ModuleType | None = None  # the module holding its tables
    # Told when a member of staff is given roles (session, user, roles, actor), in the same
    # transaction: how the staff accounts reach a domain without importing it.
    on_roles_given: Callable[[Session, Any, frozenset[str], Any], None] | None = None
    # Parts of a public news post's page (/news/<slug>) that another domain adds, such as its
    # comments: `context(request, session, post)` says what each shows, or None to leave it out.
    post_panels: Sequence[HomePanel] = ()
    # Told when photo consent may have changed for these pupils (an answer recorded, a
    # safeguarding flag set, pupils leaving or changed in a register import, a consent setting
    # changed, and daily as answers lapse) at this moment, in the same transaction: how the
    # news channel hears of a withdrawal without consent importing it (`pupil_consent_changed`).
    # The ids may be the whole register: read them in chunks.
    on_pupil_consent_changed: Callable[[Session, Iterable[int], datetime], None] | None = None


@dataclass(frozen=True)
class ShownPanel:
    template: str
    panel: Mapping[str, Any]


@dataclass(frozen=True)
class Installed:
    """The installed domains, assembled: what the app, the menu and the home page read."""

    domains: tuple[Domain, ...]
    menu: tuple[MenuEntry, ...] = field(init=False)
    home_panels: tuple[HomePanel, ...] = field(init=False)
    post_panels: tuple[HomePanel, ...] = field(init=False)

    def __post_init__(self) -> None:
        entries = [entry for domain in self.domains for entry in domain.menu]
        panels = [panel for domain in self.domains for panel in domain.home_panels]
        object.__setattr__(self, "menu", tuple(sorted(entries, key=lambda entry: entry.order)))
        object.__setattr__(self, "home_panels", tuple(sorted(panels, key=lambda p: p.order)))
        on_posts = [panel for domain in self.domains for panel in domain.post_panels]
        object.__setattr__(self, "post_panels", tuple(sorted(on_posts, key=lambda p: p.order)))

    @property
    def routers(self) -> list[APIRouter]:
        return [router for domain in self.domains for router in domain.routers]

    def staff_navigation(self, user: HasRoles, setting_up: bool = False) -> list[dict[str, str]]:
        """The staff menu, showing only what this person's roles may open, and while the portal
        is `setting_up`, only what works before it opens."""
        return [
            {"href": entry.href, "text": entry.text}
            for entry in self.menu
            if entry.shown_to(user, setting_up=setting_up)
        ]

    def panels_for(self, request: Request, session: Session, user: HasRoles) -> list[ShownPanel]:
        """The home page panels that have something for this person, in order."""
        shown = []
        for panel in self.home_panels:
            context = panel.context(request, session, user)
            if context is not None:
                shown.append(ShownPanel(template=panel.template, panel=context))
        return shown

    def panels_for_post(self, request: Request, session: Session, post: Any) -> list[ShownPanel]:
        """The parts other domains add to a public news post's page, in order."""
        shown = []
        for panel in self.post_panels:
            context = panel.context(request, session, post)
            if context is not None:
                shown.append(ShownPanel(template=panel.template, panel=context))
        return shown


def pupil_consent_changed(session: Session, pupil_ids: Iterable[int], at: datetime) -> None:
    """Tell every installed domain that consent may have changed for these pupils: called by
    photo consent when answers are recorded, a pupil is restricted, a register import marks
    pupils left or changes what the check reads, a consent setting the check reads changes
    (every pupil on the register), and by the daily `portal consent-invitations` (every pupil)."""
    ids = sorted({int(pupil_id) for pupil_id in pupil_ids})
    if not ids:
        return
    for domain in installed().domains:
        if domain.on_pupil_consent_changed is not None:
            domain.on_pupil_consent_changed(session, ids, at)


def load_domain(package: str) -> Domain:
    """The `DOMAIN` a package's `domain.py` exports (or, for a plain module such as
    `portal.school.term_dates_domain`, the module's own `DOMAIN`)."""
    module = importlib.import_module(package)
    if hasattr(module, "__path__"):  # a package: its description is in its domain.py
        module = importlib.import_module(f"{package}.domain")
    domain = module.DOMAIN
    if not isinstance(domain, Domain):
        raise TypeError(f"{package}.domain.DOMAIN is not a Domain")
    return domain


def installed(packages: Iterable[str] = INSTALLED_DOMAINS) -> Installed:
    return Installed(tuple(load_domain(package) for package in packages))


def models_modules(packages: Iterable[str] = INSTALLED_DOMAINS) -> list[ModuleType]:
    """Every installed domain's tables module: importing them puts the tables in the metadata."""
    return [domain.models for domain in installed(packages).domains if domain.models is not None]
