"""The demo comments: every state on the first public post, and none when there is no post."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.demo import load_demo_pupils
from portal.moderation.demo import load_demo_comments
from portal.moderation.models import Comment, Commenter, ExternalComment
from portal.moderation.services import comments
from tests.factories import make_user
from tests.moderation.helpers import public_post


def test_the_demo_has_comments_in_every_state(db_session, settings):
    make_user(db_session, Role.head, email="head@brookfield-primary.example")
    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    load_demo_pupils(db_session)
    db_session.commit()
    post = public_post(db_session)
    load_demo_comments(db_session, settings)
    load_demo_comments(db_session, settings)  # once only
    db_session.commit()
    states = Counter(c.status for c in db_session.scalars(select(Comment)))
    assert states["pending"] >= 3 and states["approved"] >= 3 and states["rejected"] == 1
    assert any(c.original_body for c in db_session.scalars(select(Comment)))
    assert any(c.report_count for c in db_session.scalars(select(Comment)))
    assert db_session.scalars(select(Commenter).where(Commenter.blocked)).all()
    assert len(db_session.scalars(select(ExternalComment)).all()) == 2
    shown = comments.public_comments(db_session, post.id)
    assert all("Maya Patel" not in c.body for c in shown)


def test_no_public_post_no_comments(db_session, settings):
    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    load_demo_comments(db_session, settings)
    assert db_session.scalars(select(Comment)).all() == []
