"""The demo school's news: three posts out (sports day, the harvest festival, and the Year 3
trip with a picture of Millie Jones, whose parents agreed to the website and to naming), one
waiting for the head, one returned with comments, a draft with a picture of a chess board whose
pupils are not given yet, and one approved for next week. Written by the demo office and deputy
head through the services, approved by the demo head. The pictures are drawn with Pillow when
the demo is loaded (no picture is kept in git)."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select, update
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.channel.models import Post
from portal.channel.services import images, workflow
from portal.config import Settings
from portal.consent.models import Pupil
from portal.db import now_of

OFFICE = "office@brookfield-primary.example"
HEAD = "head@brookfield-primary.example"
DEPUTY = "deputy@brookfield-primary.example"
BASE_URL = "http://localhost:8000"

SPORTS_DAY = """\
What an afternoon! Every class ran, jumped and threw in the sunshine, and the tug of war
between the Year 4 classes went to three pulls.

## Results

- Sprint: Oak class
- Relay: Willow class
- Egg and spoon: everyone who finished with an egg

Thank you to every family who came to cheer, and to the PTA for the drinks stall.
"""

HARVEST = """\
Thank you for the tins, jars and packets you sent in for our harvest festival. Together we
filled **42 boxes** for the local food bank.

The children sang *Cauliflowers Fluffy* and Year 3 read poems they wrote about autumn.
"""

TRIP = """\
Year 3 spent Tuesday at the city museum, where they handled Roman coins and tried on a
legionary's helmet. Millie asked the guide the question of the day: "Did Roman children have
homework?" (They did.)

Thank you to the parents who came along to help.
"""

WAITING = """\
Our Christmas fair is on Friday 11 December from 3:15pm in the hall. There will be a tombola,
a cake stall and a visit from someone in a red coat.

Please send in bottles for the tombola by Wednesday.
"""

RETURNED = """\
The choir sang at the care home on Friday and the residents loved it.
"""

DRAFT = """\
Notes for the spring term clubs: football, chess, coding and gardening. Times to follow.
"""

SCHEDULED = """\
The school closes at 1:30pm on Friday 18 December. Merry Christmas to all our families, and
we look forward to seeing you on Tuesday 5 January.
"""


def _picture() -> bytes:
    """A made-up picture: a sunny sky, a museum's columns, and two figures."""
    image = Image.new("RGB", (1200, 800), "#bfe3f5")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 620, 1200, 800), fill="#7cb56b")
    draw.polygon([(250, 250), (950, 250), (600, 120)], fill="#d9d2c5")
    draw.rectangle((250, 250, 950, 600), fill="#efe9dc")
    for x in range(300, 950, 130):
        draw.rectangle((x, 280, x + 50, 600), fill="#d9d2c5")
    for x, colour in ((480, "#c0392b"), (640, "#2e86c1")):
        draw.ellipse((x, 560, x + 50, 610), fill="#f1c27d")
        draw.rectangle((x, 610, x + 50, 700), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chess_board() -> bytes:
    """A made-up picture for the clubs: a chess board on a table."""
    image = Image.new("RGB", (900, 900), "#a47148")
    draw = ImageDraw.Draw(image)
    for row in range(8):
        for column in range(8):
            colour = "#f0d9b5" if (row + column) % 2 == 0 else "#b58863"
            x, y = 130 + column * 80, 130 + row * 80
            draw.rectangle((x, y, x + 80, y + 80), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _user(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def _write(session: Session, author: StaffUser, title: str, summary: str, body: str) -> Post:
    return workflow.create_post(session, author, title=title, summary=summary, body=body)


def _send(session: Session, author: StaffUser, post: Post) -> None:
    workflow.submit(session, author, post, seen_revision=post.revision, base_url=BASE_URL)


def _approve(session: Session, head: StaffUser, post: Post, days_ago: int | None) -> None:
    workflow.approve(session, head, post, seen_revision=post.revision, publish_at=None)
    if days_ago:  # a demo post that went out some days ago
        session.execute(
            update(Post)
            .where(Post.id == post.id)
            .values(publish_at=now_of(session) - timedelta(days=days_ago, hours=3))
            .execution_options(synchronize_session=False)
        )
        session.refresh(post)


def load_demo_news(session: Session, settings: Settings) -> None:
    """Add the demo posts (once: nothing is added when posts exist)."""
    if session.scalar(select(Post.id).limit(1)) is not None:
        return
    office, head, deputy = _user(session, OFFICE), _user(session, HEAD), _user(session, DEPUTY)
    if office is None or head is None or deputy is None:
        return
    sports = _write(
        session, office, "Sports day: a sunny afternoon of races", "Every class ran.", SPORTS_DAY
    )
    _send(session, office, sports)
    _approve(session, head, sports, days_ago=20)
    harvest = _write(
        session, deputy, "Harvest festival: 42 boxes for the food bank", "Thank you.", HARVEST
    )
    _send(session, deputy, harvest)
    _approve(session, head, harvest, days_ago=9)
    trip = _write(session, office, "Year 3 at the city museum", "Romans, coins and helmets.", TRIP)
    millie = session.scalar(select(Pupil).where(Pupil.mis_id == "B3001"))
    images.add_image(
        session,
        settings,
        office,
        trip,
        filename="museum.png",
        content=_picture(),
        alt_text="Two Year 3 pupils in front of the columns of the city museum",
    )
    if millie is not None:
        workflow.add_pupils(session, office, trip, [millie.id])  # type: ignore[list-item]
        workflow.answer_pupils(session, office, trip, workflow.NAMED)
    else:
        workflow.answer_pupils(session, office, trip, workflow.NOBODY)
    _send(session, office, trip)
    _approve(session, head, trip, days_ago=2)

    fair = _write(session, office, "Christmas fair on Friday 11 December", "", WAITING)
    _send(session, office, fair)
    choir = _write(session, deputy, "The choir at Elmfield care home", "", RETURNED)
    _send(session, deputy, choir)
    workflow.return_post(
        session,
        head,
        choir,
        seen_revision=choir.revision,
        comments="Lovely. Please add which day it was and thank the care home staff.",
        base_url=BASE_URL,
    )
    clubs = _write(session, office, "Spring term clubs", "", DRAFT)
    images.add_image(  # the office has still to say who is in it
        session,
        settings,
        office,
        clubs,
        filename="chess.png",
        content=_chess_board(),
        alt_text="An empty chess board on a wooden table, ready for the chess club",
    )
    closing = _write(
        session, office, "End of term: we close at 1:30pm on 18 December", "", SCHEDULED
    )
    _send(session, office, closing)
    workflow.approve(
        session,
        head,
        closing,
        seen_revision=closing.revision,
        publish_at=now_of(session) + timedelta(days=7),
    )
