"""The staff menu while a new portal is being set up shows only what works before it opens:
every other staff page would only send the admin back to /staff/setup."""

from __future__ import annotations

from portal.accounts.models import Role
from tests.conftest import page
from tests.factories import make_user, sign_in
from tests.school.helpers import send
from tests.school.test_first_run import empty_portal


def _menu(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    links = page(response).select("#navigation a.govuk-service-navigation__link")
    return {a.text.strip(): a["href"] for a in links}


def _every_link_opens(client, menu: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for text, href in menu.items():
        response = client.get(href, follow_redirects=False)
        assert response.status_code == 200, (text, href, response.headers.get("location"))


def test_while_setting_up_the_menu_shows_only_pages_that_work(app, client, db_session):
    admin = make_user(db_session, Role.admin, Role.head, Role.office, name="Ada Admin")
    empty_portal(app)
    sign_in(client, admin)

    steps = client.get("/staff/setup")
    assert _menu(steps) == {"Set up the portal": "/staff/setup", "Staff accounts": "/staff/users"}
    current = page(steps).select_one("#navigation a[aria-current=page]")
    assert current is not None and current.text.strip() == "Set up the portal"
    _every_link_opens(client, _menu(steps))
    assert _menu(client.get("/staff/users")) == _menu(steps)

    response = send(
        client,
        "/staff/setup/school",
        {
            "name": "Oakfield Primary",
            "contact_email": "office@oakfield.example",
            "contact_phone": "01632 960000",
            "contact_address": "Oak Lane, Oakfield OK1 1AA",
        },
    )
    assert response.status_code == 303
    after_first_step = client.get("/staff/setup/timescales")
    assert _menu(after_first_step) == _menu(steps)
    _every_link_opens(client, _menu(after_first_step))


def test_once_open_the_menu_has_no_setup_link(client, db_session):
    admin = make_user(db_session, Role.admin, Role.head, Role.office)
    sign_in(client, admin)
    menu = _menu(client.get("/staff"))
    assert "Set up the portal" not in menu
    assert {"Home", "Complaints", "Staff accounts", "School settings"} <= set(menu)
    _every_link_opens(client, menu)


def test_staff_who_are_not_admins_get_no_menu_links_while_setting_up(app, client, db_session):
    office = make_user(db_session, Role.office)
    empty_portal(app)
    sign_in(client, office)
    response = client.get("/staff")
    assert response.status_code == 503
    assert _menu(response) == {}
