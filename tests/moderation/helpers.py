"""A public news post of our own (the channel's pages are built elsewhere), families on the
register, a signed-in commenter and a moderator."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.channel.models import Post, PostStatus
from portal.db import now_of
from portal.mail import OutboxMessage
from portal.moderation.models import Comment, ModerationWord, WordKind
from portal.moderation.services.commenters import Identity, commenter_for_contact
from portal.moderation.services.comments import send_comment
from tests.consent.families import Family, sign_in_parent, two_families
from tests.factories import make_user
from tests.pages import csrf_of

SECRET_WORD = "flibbertigibbet"  # a banned word of our own, whatever the engine's defaults


def public_post(
    session: Session, slug: str = "sports-day", *, author: StaffUser | None = None
) -> Post:
    now = now_of(session)
    author = author or make_user(session, Role.head, name="Head Writer")
    post = Post(
        slug=slug,
        title="Sports day" if slug == "sports-day" else slug.replace("-", " ").title(),
        summary="How sports day went",
        body_markdown="A great day.",
        status=PostStatus.approved.value,
        author_id=author.id,
        created_at=now - timedelta(days=2),
        updated_at=now - timedelta(days=2),
        approved_at=now - timedelta(days=1),
        publish_at=now - timedelta(days=1),
    )
    session.add(post)
    session.commit()
    return post


def draft_post(session: Session, author: StaffUser) -> Post:
    now = now_of(session)
    post = Post(
        slug="not-yet",
        title="Not yet",
        status=PostStatus.draft.value,
        author_id=author.id,
        created_at=now,
        updated_at=now,
    )
    session.add(post)
    session.commit()
    return post


def parent_identity(session: Session, family: Family, email: str = "sarah@example.com") -> Identity:
    contact = family.contacts[email]
    return Identity(commenter=commenter_for_contact(session, contact), contact=contact)


def pending_comment(
    session: Session, post: Post, who: Identity, body: str = "Lovely day, well done all."
) -> Comment:
    sent = send_comment(session, post, who, body, who.default_name())
    session.commit()
    assert sent.comment is not None
    return sent.comment


# What alembic/versions/0028_comment_moderation.py seeds.
SEEDED_BANNED = ("kill you",)
SEEDED_SUSPECT = ("sue", "solicitor", "ofsted", "police", "social services", "facebook", "disgrace")


def default_words(session: Session) -> None:
    """The word lists migration 0028 seeds, back when a committed test has emptied every table
    (so a test's words do not depend on which tests its worker ran before it)."""
    if session.scalar(select(ModerationWord.id).limit(1)) is not None:
        return
    for kind, listed in ((WordKind.banned, SEEDED_BANNED), (WordKind.suspect, SEEDED_SUSPECT)):
        for word in listed:
            session.add(ModerationWord(kind=kind.value, word=word, added_at=now_of(session)))
    session.commit()


def world(session: Session) -> tuple[Family, Post]:
    default_words(session)
    family = two_families(session)
    return family, public_post(session)


def signed_in_parent(
    client: TestClient, session: Session, secret: str, email: str = "sarah@example.com"
) -> None:
    sign_in_parent(client, session, secret, email)


def comment_form(client: TestClient, slug: str = "sports-day"):  # type: ignore[no-untyped-def]
    return client.get(f"/news/{slug}/comment")


def send(client: TestClient, data: dict, slug: str = "sports-day"):  # type: ignore[no-untyped-def]
    token = csrf_of(comment_form(client, slug))
    return client.post(
        f"/news/{slug}/comment", data={"csrf_token": token, **data}, follow_redirects=False
    )


def mails_to(session: Session, address: str) -> list[OutboxMessage]:
    session.expire_all()
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


def moderator(session: Session, role: Role = Role.office, name: str = "Olive Office") -> StaffUser:
    return make_user(session, role, name=name)
