"""The news channel's people, pupils and posts, made through the services."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.channel.models import Post
from portal.channel.services import images, workflow
from portal.config import Settings
from portal.consent.models import AnswerHow, Pupil
from portal.consent.services import answers
from portal.consent.services.purposes import purposes
from tests.consent.families import Family, add_pupil, link
from tests.factories import make_user


def png(width: int = 2400, height: int = 1200, colour: str = "green") -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (width, height), colour)
    picture.save(buffer, format="PNG", pnginfo=_metadata())
    return buffer.getvalue()


def _metadata():  # type: ignore[no-untyped-def]
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Location", "51.5N 0.1W")
    return info


@dataclass
class People:
    office: StaffUser
    head: StaffUser
    chair: StaffUser
    senior: StaffUser
    governor: StaffUser
    admin: StaffUser


@pytest.fixture
def people(db_session: Session) -> People:
    return People(
        office=make_user(db_session, Role.office, name="Janet Okafor"),
        head=make_user(db_session, Role.head, name="David Morgan"),
        chair=make_user(db_session, Role.chair, Role.governor, name="Helen Price"),
        senior=make_user(db_session, Role.senior_leader, name="Daniel Mensah"),
        governor=make_user(db_session, Role.governor, name="Aisha Rahman"),
        admin=make_user(db_session, Role.admin, name="Priya Shah"),
    )


def say_website(
    session: Session, user: StaffUser, pupil: Pupil, contact_id: int, yes: bool, naming: bool
) -> None:
    website = next(p for p in purposes(session) if p.key == "website")
    answers.record_answers(
        session,
        user,
        pupil,
        contact_id,
        AnswerHow.phone,
        [answers.Answer(website, yes, naming if yes else None)],
        call_note="Rang the office",
    )


@dataclass
class Register:
    allowed: Pupil  # yes to the website, and to naming
    unnamed: Pupil  # yes to the website, no to naming
    refused: Pupil  # no to the website
    contacts: dict[str, int]


@pytest.fixture
def register(db_session: Session, people: People) -> Register:
    family = Family()
    allowed = add_pupil(db_session, family, "P1", "Amelia", "Jones")
    unnamed = add_pupil(db_session, family, "P2", "Kwame", "Mensah")
    refused = add_pupil(db_session, family, "P3", "Zoe", "Clarke")
    contacts = {
        "P1": link(db_session, family, "P1", "Sarah Jones", "sarah@example.com").id,
        "P2": link(db_session, family, "P2", "Ama Mensah", "ama@example.com").id,
        "P3": link(db_session, family, "P3", "Rob Clarke", "rob@example.com").id,
    }
    say_website(db_session, people.office, allowed, contacts["P1"], True, True)
    say_website(db_session, people.office, unnamed, contacts["P2"], True, False)
    say_website(db_session, people.office, refused, contacts["P3"], False, False)
    db_session.commit()
    return Register(allowed, unnamed, refused, contacts)  # type: ignore[arg-type]


def draft(session: Session, author: StaffUser, title: str = "Sports day") -> Post:
    post = workflow.create_post(
        session,
        author,
        title=title,
        summary="Races, sunshine and a tug of war.",
        body="We had a **wonderful** afternoon.\n\nThank you to every family who came.",
    )
    session.commit()
    return post


def with_picture(
    session: Session, settings: Settings, author: StaffUser, post: Post, pupils: list[Pupil]
) -> Post:
    images.add_image(
        session, settings, author, post, filename="race.png", content=png(), alt_text="A race"
    )
    if pupils:
        workflow.add_pupils(session, author, post, [p.id for p in pupils])  # type: ignore[misc]
        workflow.answer_pupils(session, author, post, workflow.LISTED)
    else:
        workflow.answer_pupils(session, author, post, workflow.NOBODY)
    session.commit()
    return post


def sent(session: Session, author: StaffUser, post: Post) -> Post:
    workflow.submit(session, author, post, seen_revision=post.revision, base_url="http://test")
    session.commit()
    return post


def approved_with(session, settings, people, pupils, publish_at=None, title="Sports day"):  # type: ignore[no-untyped-def]
    """A post showing these pupils, approved by the head to go out now or at `publish_at`."""
    post = draft(session, people.office, title)
    with_picture(session, settings, people.office, post, pupils)
    sent(session, people.office, post)
    workflow.approve(session, people.head, post, seen_revision=post.revision, publish_at=publish_at)
    session.commit()
    return post
