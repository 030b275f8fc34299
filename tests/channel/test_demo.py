"""The demo school's news: `make run` shows posts out, one waiting, one returned, a draft and
one for next week, and the trip's picture of a pupil whose parents agreed."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role
from portal.channel.demo import load_demo_news
from portal.channel.models import Post, PostImage, PostPupil, PostStatus
from portal.channel.services import images
from portal.consent.demo import load_demo_pupils
from portal.db import now_of
from portal.demo import DEMO_STAFF
from tests.conftest import page
from tests.factories import make_user, sign_in


def test_the_demo_news(client, db_session, settings):
    for name, email, roles in DEMO_STAFF:
        make_user(db_session, *roles, name=name, email=email)
    load_demo_pupils(db_session)
    load_demo_news(db_session, settings)
    load_demo_news(db_session, settings)  # once only
    db_session.commit()
    posts = db_session.scalars(select(Post)).all()
    by_status: dict[str, int] = {}
    for post in posts:
        by_status[post.status] = by_status.get(post.status, 0) + 1
    assert by_status == {
        PostStatus.approved: 4,
        PostStatus.awaiting_approval: 1,
        PostStatus.returned: 1,
        PostStatus.draft: 1,
    }
    scheduled = [p for p in posts if p.status == "approved" and p.publish_at > now_of(db_session)]
    assert len(scheduled) == 1
    image = db_session.scalar(select(PostImage))
    assert images.path_of(settings, image).exists()
    assert db_session.scalar(select(PostPupil)).named is True
    news = page(client.get("/news"))
    assert len(news.select("#posts li")) == 3
    trip = client.get("/news/year-3-at-the-city-museum")
    assert trip.status_code == 200
    assert client.get(f"/news/images/{image.stored_name}").status_code == 200
    sign_in(client, make_user(db_session, Role.office))
    assert client.get("/staff/news").status_code == 200
