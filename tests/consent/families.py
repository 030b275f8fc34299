"""Families on the register for the parents' pages: pupils and their contacts, made directly,
and a parent signed in the way a parent does it (ask for a link, open it, continue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from portal.consent.models import Contact, Pupil, PupilContact
from portal.mail import OutboxMessage
from portal.sealing import unseal
from tests.pages import csrf_of


@dataclass
class Family:
    pupils: dict[str, Pupil] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)


def add_pupil(
    session: Session,
    family: Family,
    key: str,
    first: str,
    last: str,
    *,
    born: date = date(2017, 3, 21),
    class_name: str = "3B",
    on_roll: bool = True,
) -> Pupil:
    pupil = Pupil(
        mis_id=f"T-{key}",
        legal_first_name=first,
        legal_last_name=last,
        year_group="Year 3",
        class_name=class_name,
        date_of_birth=born,
        on_roll=on_roll,
        left_on=None if on_roll else date(2026, 7, 22),
    )
    session.add(pupil)
    session.flush()
    family.pupils[key] = pupil
    return pupil


def link(
    session: Session,
    family: Family,
    pupil_key: str,
    name: str,
    email: str | None,
    *,
    responsibility: bool = True,
    relationship: str = "Mother",
) -> Contact:
    contact = family.contacts.get(email or name)
    if contact is None:
        contact = Contact(name=name, email=email)
        session.add(contact)
        session.flush()
        family.contacts[email or name] = contact
    session.add(
        PupilContact(
            pupil_id=family.pupils[pupil_key].id,
            contact_id=contact.id,
            relationship=relationship,
            parental_responsibility=responsibility,
            priority=len(family.contacts),
            current=True,
        )
    )
    session.flush()
    return contact


def two_families(session: Session) -> Family:
    """The Joneses (Millie and Lily, two parents with parental responsibility and a grandmother
    without), the Patels (Maya), a pupil who has left (Jack, a Jones too)."""
    family = Family()
    add_pupil(session, family, "millie", "Millie", "Jones")
    add_pupil(session, family, "lily", "Lily", "Jones", born=date(2015, 12, 1), class_name="4M")
    add_pupil(session, family, "maya", "Maya", "Patel", born=date(2017, 6, 5))
    add_pupil(session, family, "jack", "Jack", "Jones", born=date(2014, 8, 8), on_roll=False)
    for child in ("millie", "lily", "jack"):
        link(session, family, child, "Sarah Jones", "sarah@example.com")
        link(session, family, child, "Tom Jones", "tom@example.com", relationship="Father")
    link(
        session,
        family,
        "millie",
        "Ama Jones",
        "ama@example.com",
        responsibility=False,
        relationship="Grandmother",
    )
    link(session, family, "maya", "Nisha Patel", "nisha@example.com")
    session.commit()
    return family


def last_link(session: Session, secret_key: str, email: str) -> str:
    """The sign-in link in the latest email to `email`, as the parent's mailbox shows it."""
    session.expire_all()
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None and message.sealed_secret, f"no sign-in link to {email}"
    return unseal(secret_key, message.sealed_secret)


def ask_for_link(client: TestClient, email: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/photos"))
    return client.post(
        "/photos", data={"csrf_token": token, "email": email}, follow_redirects=False
    )


def sign_in_parent(client: TestClient, session: Session, secret_key: str, email: str) -> None:
    """Ask for a link at /photos, open it from the email and continue: signed in."""
    assert ask_for_link(client, email).status_code == 200
    path = "/" + last_link(session, secret_key, email).split("/", 3)[3]
    opened = client.get(path)
    assert opened.status_code == 200, opened.text
    used = client.post(path, data={"csrf_token": csrf_of(opened)}, follow_redirects=False)
    assert used.status_code == 303, used.text
    assert used.headers["location"] == "/photos/answers"
