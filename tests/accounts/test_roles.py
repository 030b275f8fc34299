"""Every role against every staff route: only the roles allowed get in."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.mail import queue_mail
from tests.conftest import csrf_of
from tests.factories import make_user, sign_in

ADMIN_ONLY_PAGES = [
    "/staff/users",
    "/staff/users/new",
    "/staff/users/{user_id}",
    "/staff/policy",
    "/staff/policy/new",
    "/staff/outbox",
    "/staff/outbox/{message_id}",
]
ADMIN_ONLY_FORMS = [
    (
        "/staff/users/new",
        {
            "name": "X",
            "email": "x@school.example",
            "password": "a-long-enough-password",
            "roles": ["office"],
        },
    ),
    ("/staff/users/{user_id}", {"name": "Renamed", "roles": ["office"]}),
    ("/staff/users/{user_id}/active", {"active": "no"}),
    ("/staff/users/{user_id}/password", {"new_password": "a-long-enough-password"}),
    (
        "/staff/policy/new",
        {"version": "9", "effective_on": "2026-09-01", "body_markdown": "x" * 80},
    ),
    ("/staff/outbox/{message_id}/retry", {}),
]


@pytest.fixture
def targets(db_session):
    other = make_user(db_session, Role.office, name="Other Person")
    message = queue_mail(db_session, to="parent@example.com", subject="Hello", body_text="Hi")
    db_session.commit()
    return {"user_id": other.id, "message_id": message.id}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_admin_pages_only_when_admin(client, db_session, targets, role):
    user = make_user(db_session, role)
    sign_in(client, user)
    for path in ADMIN_ONLY_PAGES:
        response = client.get(path.format(**targets), follow_redirects=False)
        expected = 200 if role == Role.admin else 403
        assert response.status_code == expected, (role, path, response.status_code)


@pytest.mark.parametrize("role", [role for role in Role if role != Role.admin])
def test_non_admins_cannot_change_anything(client, db_session, targets, role):
    user = make_user(db_session, role)
    sign_in(client, user)
    token = csrf_of(client.get("/staff"))
    for path, data in ADMIN_ONLY_FORMS:
        response = client.post(
            path.format(**targets), data={**data, "csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 403, (role, path)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_staff_home_with_only_their_menu(client, db_session, role):
    user = make_user(db_session, role)
    sign_in(client, user)
    response = client.get("/staff")
    assert response.status_code == 200
    assert ("/staff/users" in response.text) == (role == Role.admin)


def test_signed_out_visitors_are_sent_to_sign_in_from_every_staff_page(client, targets):
    for path in ["/staff", *ADMIN_ONLY_PAGES]:
        response = client.get(path.format(**targets), follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/staff/login?next=")
