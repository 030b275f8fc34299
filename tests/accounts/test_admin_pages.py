"""Admin pages for staff accounts: add, change roles, switch off, set a password."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role, StaffUser
from tests.conftest import page, post_form, text_of
from tests.factories import admin_client, make_user


def test_admin_adds_a_staff_account_with_roles(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "Janet Okafor",
            "email": "Janet@School.example",
            "password": "a-long-enough-password",
            "roles": ["office", "governor"],
        },
    )
    assert response.status_code == 303
    db_session.expire_all()
    user = db_session.scalars(
        select(StaffUser).where(StaffUser.email == "janet@school.example")
    ).one()
    assert user.roles == {Role.office, Role.governor}
    listing = client.get("/staff/users")
    assert "Janet Okafor" in text_of(listing)


def test_bad_input_is_explained_and_nothing_typed_is_lost(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "Tom Baxter",
            "email": "tom@school.example",
            "password": "short",
            "roles": ["clerk"],
        },
    )
    assert response.status_code == 422
    html = page(response)
    assert "at least 12 characters" in html.select_one(".govuk-error-summary").text
    assert html.select_one(".govuk-error-summary a")["href"] == "#password"
    assert html.select_one("#name")["value"] == "Tom Baxter"
    assert html.select_one("#email")["value"] == "tom@school.example"
    assert html.select_one("input[value=clerk]").has_attr("checked")


def test_a_user_needs_at_least_one_role(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    response = post_form(
        client,
        "/staff/users/new",
        {"name": "No Roles", "email": "none@school.example", "password": "a-long-enough-password"},
    )
    assert response.status_code == 422
    assert "Select at least one role" in text_of(response)


def test_duplicate_email_is_refused(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    existing = make_user(db_session, Role.office)
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "Someone",
            "email": existing.email,
            "password": "a-long-enough-password",
            "roles": ["office"],
        },
    )
    assert response.status_code == 422
    assert "already exists" in text_of(response)


def test_admin_changes_roles_and_it_is_recorded(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    user = make_user(db_session, Role.office)
    response = post_form(
        client,
        f"/staff/users/{user.id}",
        {"name": user.name, "roles": ["office", "head"]},
    )
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(StaffUser, user.id).roles == {Role.office, Role.head}
    assert "account:roles" in text_of(client.get(f"/staff/users/{user.id}"))


def test_admin_switches_an_account_off_and_back_on(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    user = make_user(db_session, Role.office)
    post_form(
        client,
        f"/staff/users/{user.id}/active",
        {"active": "no"},
        from_page=f"/staff/users/{user.id}",
    )
    db_session.expire_all()
    assert db_session.get(StaffUser, user.id).is_active is False
    post_form(
        client,
        f"/staff/users/{user.id}/active",
        {"active": "yes"},
        from_page=f"/staff/users/{user.id}",
    )
    db_session.expire_all()
    assert db_session.get(StaffUser, user.id).is_active is True


def test_admin_cannot_switch_off_their_own_account(client, db_session):
    admin = admin_client(client, db_session, name="Priya Shah")
    response = post_form(
        client,
        f"/staff/users/{admin.id}/active",
        {"active": "no"},
        from_page=f"/staff/users/{admin.id}",
    )
    assert response.status_code == 422
    assert "cannot disable your own account" in text_of(response)


def test_the_last_admin_cannot_lose_the_admin_role(client, db_session):
    admin = admin_client(client, db_session, name="Priya Shah")
    response = post_form(
        client, f"/staff/users/{admin.id}", {"name": admin.name, "roles": ["office"]}
    )
    assert response.status_code == 422
    assert "at least one active administrator" in text_of(response)


def test_admin_sets_a_new_password_which_signs_them_out(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    user = make_user(db_session, Role.office)
    response = post_form(
        client,
        f"/staff/users/{user.id}/password",
        {"new_password": "a-brand-new-password"},
        from_page=f"/staff/users/{user.id}",
    )
    assert response.status_code == 303
    from tests.factories import sign_in as sign_in_with

    client.cookies.clear()
    sign_in_with(client, user, password="a-brand-new-password")


def test_unknown_user_page_is_not_found(client, db_session):
    admin_client(client, db_session, name="Priya Shah")
    assert client.get("/staff/users/999999").status_code == 404
