"""The staff account form takes exactly one email address, checked like every other email field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, StaffUser
from tests.conftest import page, post_form
from tests.factories import make_user, sign_in


@pytest.mark.parametrize(
    "email",
    [
        "janet@school.example, head@school.example",
        "janet@school.example;head@school.example",
        "Janet <janet@school.example>",
        "janet@school",
    ],
)
def test_an_account_is_not_made_for_a_list_of_addresses(client, db_session, email):
    sign_in(client, make_user(db_session, Role.admin))
    before = db_session.scalar(select(func.count()).select_from(StaffUser))

    response = post_form(
        client,
        "/staff/users/new",
        {"name": "Janet Okafor", "email": email, "password": "a-long-enough-password"},
    )

    assert response.status_code == 422
    summary = page(response).select_one(".govuk-error-summary")
    assert summary is not None
    assert "Enter one email address, like name@example.com" in summary.get_text()
    field = page(response).select_one("input[name=email]")
    assert field is not None and field["value"] == email  # what was typed is kept
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(StaffUser)) == before


def test_one_address_is_accepted_and_stored_lower_case(client, db_session):
    sign_in(client, make_user(db_session, Role.admin))
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "Janet Okafor",
            "email": "  Janet.Okafor@School.example ",
            "password": "a-long-enough-password",
            "roles": ["office"],
        },
    )
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.scalars(
        select(StaffUser.email).where(StaffUser.name == "Janet Okafor")
    ).all() == ["janet.okafor@school.example"]
