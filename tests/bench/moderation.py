"""Comment moderation at size: the moderators' queue with 100,000 comments waiting, and the
comments section of a news post with 500 approved comments.

    .venv/bin/python -m tests.bench.moderation --database sqlite|postgresql [--requests 200]

A fresh, migrated database (tests/bench/databases.py) gets the demo school, then 100,000
pending comments from 2,000 commenters spread over the demo's public posts, flagged as screening
would flag them (about one in five a pupil's name, one in twenty a phone number, one in twenty
"reads like a complaint", one in fifty a word to check), and one more public post with 500
approved comments (and 50 rejected, 50 waiting, which it must not show). Timed, one request at a
time after a warm-up, through `create_app` as tests/bench/inprocess.py does:

- the queue's first page, as the demo's office moderator (GET /staff/moderation);
- the queue filtered by a rule (GET /staff/moderation?rule=phone_number: 5,000 comments);
- the comments section of the post with 500 comments: `post_comments`' context (the moderation
  panel, through the installed domains as the post page asks for it) and its template rendered.

Prints figures only, with the machine and its load average; docs/performance.md quotes them.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import time
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text
from sqlmodel import Session
from starlette.requests import Request

from portal.accounts.models import Role, StaffUser
from portal.app import create_app
from portal.channel.models import Post, PostStatus
from portal.clock import SystemClock
from portal.config import Settings
from portal.demo import DEMO_PASSWORD, load_demo
from portal.domains import installed
from portal.moderation.models import Comment, Commenter, CommentFlag, CommentStatus
from portal.moderation.screening import Rule
from tests.bench.databases import BENCH_DIR, fresh_database
from tests.bench.inprocess import OFFICE_EMAIL, Measure, sign_in
from tests.bench.report import TIMING_HEADER, Timing, load_average, machine

QUEUED = 100_000
COMMENTERS = 2_000
APPROVED_ON_POST = 500
FILTER_RULE = Rule.phone_number.value
QUEUE_FIRST = "moderation queue, first page, 100,000 waiting (GET /staff/moderation)"
QUEUE_FILTERED = f"moderation queue filtered by rule ({FILTER_RULE}, 5,000 of 100,000)"
PANEL = "post comments panel, 500 approved (context + render)"
POST_PAGE = "post page /news/<slug>, 500 approved comments (whole request)"
WORDS = (
    "Lovely day, thank you to everyone who helped.",
    "The races were brilliant and the children loved it.",
    "Could the photos go on the website please?",
    "Well done to the whole of Year 4, so proud.",
    "Great to see so many families there.",
)
# rule, share of comments, where in the text (start, end) and what it matched
FLAGS = (
    (Rule.pupil_name.value, 0.20, "Millie Jones"),
    (Rule.phone_number.value, 0.05, "07700 900123"),
    (Rule.complaint.value, 0.05, "complain"),
    (Rule.suspect_word.value, 0.02, "ofsted"),
)


def bench_settings(url: str) -> Settings:
    return Settings(
        environment="production",
        database_url=url,
        secret_key=secrets.token_urlsafe(48),
        attachments_dir=BENCH_DIR / "attachments",
        smtp_host="",
        rate_limit_storage="memory://",
        _env_file=None,
    )


def _commenters(session: Session, now: datetime) -> list[int]:
    session.execute(
        insert(Commenter),
        [
            {
                "email": f"commenter{i:05d}@e.example",
                "display_name": f"Parent {i}",
                "created_at": now - timedelta(days=30),
                "confirmed_at": now - timedelta(days=30),
                "blocked": False,
                "blocked_reason": "",
            }
            for i in range(COMMENTERS)
        ],
    )
    return list(session.scalars(select(Commenter.id).where(Commenter.email.like("commenter%"))))  # type: ignore[union-attr]


def _comment(post_id: int, commenter_id: int, body: str, when: datetime, status: str) -> dict:  # type: ignore[type-arg]
    queued = status == CommentStatus.pending.value
    return {
        "post_id": post_id,
        "commenter_id": commenter_id,
        "display_name": "A parent",
        "body": body,
        "status": status,
        "queued": queued,
        "queued_at": when if queued else None,
        "on_register": False,
        "posted_anyway": False,
        "created_at": when,
        "decided_at": None if queued else when + timedelta(hours=1),
        "decision_reason": "",
        "report_count": 0,
    }


def _flag(comment_id: int, rule: str, row: dict, matched: str) -> dict:  # type: ignore[type-arg]
    """A flag as screening keeps it, with its comment's queued_at (as the services keep it)."""
    body = row["body"]
    start = body.index(matched)
    return {
        "comment_id": comment_id,
        "queued_at": row["queued_at"],
        "rule": rule,
        "severity": "hold",
        "start": start,
        "end": start + len(matched),
        "matched": matched,
        "context": body[max(0, start - 30) : start + len(matched) + 30],
        "explanation": "bench",
    }


def seed(session: Session, rng: random.Random, now: datetime) -> Post:
    """The 100,000 comments waiting (with their flags) and the post with 500 approved."""
    posts = list(session.scalars(select(Post.id).where(Post.status == PostStatus.approved.value)))
    author = session.scalar(
        select(StaffUser.id).where(StaffUser.role_names.contains(Role.head.value)).limit(1)  # type: ignore[attr-defined]
    )
    busy = Post(
        slug="bench-sports-day",
        title="Sports day (500 comments)",
        summary="A busy post",
        body_markdown="A great day.",
        status=PostStatus.approved.value,
        author_id=author,
        created_at=now - timedelta(days=10),
        updated_at=now - timedelta(days=10),
        approved_at=now - timedelta(days=9),
        publish_at=now - timedelta(days=9),
    )
    session.add(busy)
    session.flush()
    assert busy.id is not None
    posts.append(busy.id)
    commenters = _commenters(session, now)
    start = now - timedelta(days=60)
    step = timedelta(days=59) / QUEUED
    for chunk in range(0, QUEUED, 10_000):
        rows, flag_plan = [], []
        for i in range(chunk, min(chunk + 10_000, QUEUED)):
            body = rng.choice(WORDS)
            chosen = [(rule, m) for rule, share, m in FLAGS if rng.random() < share]
            for _rule, matched in chosen:
                body += f" {matched} {rng.choice(WORDS)}"
            rows.append(
                _comment(
                    rng.choice(posts),
                    rng.choice(commenters),
                    body,
                    start + step * i,
                    CommentStatus.pending.value,
                )
            )
            flag_plan.append(chosen)
        first = (session.scalar(select(Comment.id).order_by(Comment.id.desc()).limit(1)) or 0) + 1  # type: ignore[union-attr]
        session.execute(insert(Comment), rows)
        ids = list(
            session.scalars(select(Comment.id).where(Comment.id >= first).order_by(Comment.id))
        )
        flags = [
            _flag(comment_id, rule, row, matched)
            for comment_id, row, chosen in zip(ids, rows, flag_plan, strict=True)
            for rule, matched in chosen
        ]
        if flags:
            session.execute(insert(CommentFlag), flags)
    on_post = []
    for i in range(APPROVED_ON_POST + 100):
        status = (
            CommentStatus.approved.value
            if i < APPROVED_ON_POST
            else (CommentStatus.rejected.value if i % 2 else CommentStatus.pending.value)
        )
        when = now - timedelta(days=9) + timedelta(minutes=5 * i)
        on_post.append(_comment(busy.id, rng.choice(commenters), rng.choice(WORDS), when, status))
    session.execute(insert(Comment), on_post)
    session.commit()
    session.execute(sql_text("ANALYZE"))
    session.commit()
    return busy


def _panel(app, engine, post_id: int, measure: Measure) -> Timing:  # type: ignore[no-untyped-def]
    timing = Timing(PANEL)
    scope = {
        "type": "http",
        "app": app,
        "headers": [],
        "path": "/news/bench-sports-day",
        "method": "GET",
        "query_string": b"",
    }
    template = app.state.templates.get_template("moderation/post-comments.html")
    domains = installed()
    for i in range(measure.warmup + measure.requests):
        with Session(engine) as session:
            post = session.get(Post, post_id)
            request = Request(scope)
            began = time.perf_counter()
            shown = domains.panels_for_post(request, session, post)
            html = template.render(
                panel=shown[0].panel, school=app.state.school_for(request), csrf_token="x"
            )
            elapsed = time.perf_counter() - began
        if html.count('class="app-comment"') != APPROVED_ON_POST:
            timing.note = "wrong number of comments shown"
            timing.samples = []
            return timing
        if i >= measure.warmup:
            timing.samples.append(elapsed)
    return timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.moderation", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row (200)")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    rng = random.Random(20261206)
    measure = Measure(args.requests, args.warmup)
    with fresh_database(args.database) as database:
        settings = bench_settings(database.url)
        app = create_app(settings)
        engine = app.state.engine
        now = SystemClock().now()
        with Session(engine, expire_on_commit=False) as session:
            load_demo(session, settings, only_if_empty=True)
            session.commit()
            began = time.perf_counter()
            busy = seed(session, rng, now)
            filtered = session.scalar(
                select(func.count()).select_from(CommentFlag).where(CommentFlag.rule == FILTER_RULE)
            )
            print(
                f"seeded {QUEUED:,} waiting comments ({filtered:,} flagged {FILTER_RULE}) and "
                f"{APPROVED_ON_POST} approved on one post in {time.perf_counter() - began:.1f} s",
                flush=True,
            )
        timings: list[Timing] = []
        with TestClient(app, raise_server_exceptions=False) as staff:
            problem = sign_in(staff, OFFICE_EMAIL, DEMO_PASSWORD)
            if problem:
                print(problem)
                return 1
            timings.append(measure.run(QUEUE_FIRST, lambda i: staff.get("/staff/moderation")))
            timings.append(
                measure.run(
                    QUEUE_FILTERED,
                    lambda i: staff.get("/staff/moderation", params={"rule": FILTER_RULE}),
                )
            )
        timings.append(_panel(app, engine, busy.id or 0, measure))
        # The whole page a parent opens: the post, its picture-less body and the 500 comments,
        # through the app as any request (sign-in cookie none, compression as a browser asks).
        with TestClient(app, raise_server_exceptions=False) as parent:
            shown = parent.get("/news/bench-sports-day").text.count('class="app-comment"')
            if shown != APPROVED_ON_POST:
                print(f"the post page shows {shown} comments, not {APPROVED_ON_POST}")
                return 1
            timings.append(
                measure.run(
                    POST_PAGE,
                    lambda i: parent.get(
                        "/news/bench-sports-day", headers={"Accept-Encoding": "gzip"}
                    ),
                )
            )
        engine.dispose()
    facts = machine()
    print(
        f"\nComment moderation on {database.version}; {facts['cpus']} CPUs ({facts['cpu_model']}), "
        f"{facts['memory']}, Python {facts['python']}; load average {load_average()}\n"
    )
    print(TIMING_HEADER)
    for timing in timings:
        print(timing.row())
    return 0 if all(t.samples for t in timings) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
