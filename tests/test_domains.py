"""The house the domains plug into: a new package and one line in the list of installed domains
give the portal its pages, its entries in the staff menu and its panels on the staff home page."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal import domains
from portal.accounts.models import Role
from portal.app import create_app
from portal.config import Settings
from portal.domains import INSTALLED_DOMAINS
from tests.conftest import page
from tests.factories import make_user, sign_in

NOTICES_DOMAIN = '''
"""A throwaway domain, written by tests/test_domains.py: the clerk's notices."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.domains import Domain, HomePanel, MenuEntry
from portal.inputs import CleanInputRoute
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
ClerkUser = Annotated[StaffUser, Depends(require_role(Role.clerk))]


@router.get("/staff/notices")
def notices(request: Request, clerk: ClerkUser):
    return render(request, "notices/notices.html")


def waiting_panel(request, session, user):
    return {"waiting": 3} if user.has_role(Role.clerk) else None


DOMAIN = Domain(
    name="notices",
    routers=[router],
    menu=[MenuEntry("/staff/notices", "Notices", frozenset({Role.clerk}), order=35)],
    home_panels=[HomePanel("notices/staff-home-waiting.html", waiting_panel, order=15)],
)
'''

TEMPLATES = {
    "notices.html": """
        {% extends "layouts/base.html" %}
        {% block title %}Notices{% endblock %}
        {% block content %}<h1 class="govuk-heading-xl">Notices</h1>{% endblock %}
    """,
    "staff-home-waiting.html": """
        <h2 class="govuk-heading-l" id="notices-waiting">Notices</h2>
        <p class="govuk-body">{{ panel.waiting }} notices are waiting for you.</p>
    """,
}


@pytest.fixture
def notices_app(app: FastAPI, settings: Settings, tmp_path: Path) -> Iterator[FastAPI]:
    """The portal with one more installed domain, a package that exists only for this test
    (its templates in the school's override folder, as a new domain's would be in templates/)."""
    package = tmp_path / "code" / "house_notices"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The clerk\'s notices."""\n')
    (package / "domain.py").write_text(NOTICES_DOMAIN)
    templates = tmp_path / "templates" / "notices"
    templates.mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (templates / name).write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path / "code"))
    with_notices = settings.model_copy(update={"templates_override_dir": tmp_path / "templates"})
    try:
        notices = create_app(with_notices, app.state.clock, (*INSTALLED_DOMAINS, "house_notices"))
        notices.state.sessions = app.state.sessions  # inside the test's transaction too
        yield notices
        notices.state.engine.dispose()
    finally:
        sys.path.remove(str(tmp_path / "code"))
        for name in [name for name in sys.modules if name.startswith("house_notices")]:
            del sys.modules[name]


def _browser(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver", raise_server_exceptions=False)


def _menu(response) -> list[str]:  # type: ignore[no-untyped-def]
    links = page(response).select("#navigation a.govuk-service-navigation__link")
    return [a.text.strip() for a in links]


def test_a_new_domain_brings_its_page_menu_entry_and_home_panel(notices_app, db_session):
    clerk = make_user(db_session, Role.clerk)
    with _browser(notices_app) as browser:
        sign_in(browser, clerk)
        home = browser.get("/staff")
        assert home.status_code == 200
        assert _menu(home) == ["Home", "Complaints", "Log a complaint", "Notices"]
        assert page(home).select_one("#notices-waiting") is not None
        assert "3 notices are waiting for you." in home.text
        cards = [a["href"] for a in page(home).select(".school-card a")]
        assert cards == ["/staff/complaints", "/staff/complaints/new", "/staff/notices"]
        # Panels come in their order whichever domain brings them: Notices (15) before the
        # complaints' "Your cases" (20).
        headings = [h.text.strip() for h in page(home).select("h2.govuk-heading-l")]
        assert headings == ["Notices", "Your cases"]
        notices = browser.get("/staff/notices")
        assert notices.status_code == 200
        assert page(notices).select_one("h1").text == "Notices"


def test_a_new_domain_shows_nothing_to_roles_it_does_not_concern(notices_app, db_session):
    office = make_user(db_session, Role.office)
    with _browser(notices_app) as browser:
        sign_in(browser, office)
        home = browser.get("/staff")
        assert "Notices" not in _menu(home)
        assert page(home).select_one("#notices-waiting") is None
        assert browser.get("/staff/notices").status_code == 403


def test_the_portal_without_the_domain_has_no_trace_of_it(client, db_session):
    sign_in(client, make_user(db_session, Role.clerk))
    home = client.get("/staff")
    assert "Notices" not in _menu(home)
    assert client.get("/staff/notices").status_code == 404


def test_the_installed_domains_give_the_staff_menu_of_every_role(client, db_session):
    everyone = make_user(db_session, *Role)
    sign_in(client, everyone)
    assert _menu(client.get("/staff")) == [
        "Home",
        "Complaints",
        "Log a complaint",
        "Pupils",
        "Photo check",
        "Consent reports",
        "Confirmations",
        "News",
        "Comments",
        "Comment words",
        "Staff accounts",
        "Policy",
        "School settings",
        "Consent settings",
        "Comment settings",
        "Outbox",
    ]


def test_every_installed_domain_is_a_package_with_its_description():
    assembled = domains.installed()
    assert [domain.name for domain in assembled.domains] == [
        "guidance",
        "accounts",
        "admin",
        "complaints",
        "consent",
        "channel",
        "moderation",
        "school",
        "term-dates",
        "wording",
    ]
    assert [entry.order for entry in assembled.menu] == sorted(e.order for e in assembled.menu)


def test_the_schema_has_every_installed_domains_tables():
    from portal.models import DOMAIN_MODELS, metadata

    names = {module.__name__ for module in DOMAIN_MODELS}
    assert names == {
        "portal.guidance.models",
        "portal.accounts.models",
        "portal.complaints.models",
        "portal.consent.models",
        "portal.channel.models",
        "portal.moderation.models",
        "portal.wording.models",
    }
    assert {"complaint", "staff_user", "policy_version", "wording_override", "news_post"} <= set(
        metadata.tables
    )


def test_a_package_without_a_domain_description_is_refused(tmp_path, monkeypatch):
    package = tmp_path / "not_a_domain"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "domain.py").write_text("DOMAIN = {'name': 'nope'}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="not a Domain"):
        domains.load_domain("not_a_domain")
    for name in [name for name in sys.modules if name.startswith("not_a_domain")]:
        del sys.modules[name]
