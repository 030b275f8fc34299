"""The school's news for parents: a post's page (/news/<slug>, the demo trip with its picture),
the news list and the feed. Comments are not there yet: the moderation work adds 500 to the post
and times it again.

Run by `python -m tests.bench` (rows whose names start "news"); `--cases 0 --no-load --only news`
times only these.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from portal.channel.demo import load_demo_news
from portal.config import Settings
from tests.bench.report import Timing

POST = "news post /news/<slug>, with a picture, no comments"
LISTING = "news list /news"
FEED = "news feed /news/feed.atom"
NAMES = (POST, LISTING, FEED)
SLUG = "year-3-at-the-city-museum"


def measure_news(settings: Settings, app, parent: TestClient, measure) -> list[Timing]:  # type: ignore[no-untyped-def]
    """The demo's posts (added if the database has none), then each wanted row."""
    names = [name for name in NAMES if measure.wanted(name)]
    if not names:
        return []
    with Session(app.state.engine, expire_on_commit=False) as session:
        load_demo_news(session, settings)
        session.commit()
    paths = {POST: f"/news/{SLUG}", LISTING: "/news", FEED: "/news/feed.atom"}
    return [measure.run(name, lambda i, path=paths[name]: parent.get(path)) for name in names]
