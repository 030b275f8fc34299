"""Staff accounts, and signing in as one the way a browser does."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.accounts.services import create_user
from tests.pages import csrf_of

PASSWORD = "correct-horse-battery"
_numbers = itertools.count(1)


def make_user(
    session: Session, *roles: Role, name: str | None = None, email: str | None = None
) -> StaffUser:
    number = next(_numbers)
    user = create_user(
        session,
        email=email or f"staff{number}@school.example",
        name=name or f"Staff Member {number}",
        password=PASSWORD,
        roles=roles or (Role.office,),
    )
    session.commit()
    return user


def sign_in(client: TestClient, user: StaffUser, password: str = PASSWORD) -> None:
    login = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_of(login)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def admin_client(client: TestClient, session: Session, name: str = "Ada Admin") -> StaffUser:
    """A new admin, signed in on `client`."""
    admin = make_user(session, Role.admin, name=name)
    sign_in(client, admin)
    return admin
