"""The queue filtered by a rule reads the flags' `queued_at` (migration 0029): kept in step with the
comment when it is sent, decided, reported back into the queue, and when a report and a decision
come at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from portal.moderation.models import Comment, CommentFlag
from portal.moderation.services import comments, decisions
from portal.moderation.services.decisions import PAGE_SIZE, Action, Decision
from tests.moderation.helpers import moderator, parent_identity, pending_comment, world


def flag_times(session: Session, comment_id: int) -> list[object]:
    session.expire_all()
    return list(
        session.scalars(select(CommentFlag.queued_at).where(CommentFlag.comment_id == comment_id))
    )


def in_step(session: Session, comment_id: int) -> bool:
    comment = session.get(Comment, comment_id)
    assert comment is not None
    times = flag_times(session, comment_id)
    assert times, "the comment has no flags"
    expected = comment.queued_at if comment.queued else None
    return all(t == expected for t in times)


def rule_ids(session: Session, rule: str, page: int = 1) -> list[int]:
    return [item.comment.id for item in decisions.queue_page(session, rule=rule, page=page).items]


def test_flags_follow_the_comment_into_and_out_of_the_queue(db_session, settings):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    office = moderator(db_session)
    named = pending_comment(db_session, post, who, "Well done Maya Patel, and Maya Patel's team!")
    phone = pending_comment(db_session, post, who, "Ring me on 07700 900123 please")
    assert in_step(db_session, named.id) and in_step(db_session, phone.id)
    assert flag_times(db_session, named.id)[0] == named.queued_at
    # Two flags of the same rule on one comment: listed once.
    assert rule_ids(db_session, "pupil_name") == [named.id]
    assert rule_ids(db_session, "phone_number") == [phone.id]
    assert decisions.queue_page(db_session, rule="pupil_name").total == 1

    assert decisions.decide(db_session, settings, named.id, Decision(Action.approve), office)
    db_session.commit()
    assert set(flag_times(db_session, named.id)) == {None}
    assert rule_ids(db_session, "pupil_name") == []
    assert decisions.queue_page(db_session, rule="pupil_name").total == 0

    # A parent's report puts it back in the queue, with its first queued_at.
    first_queued = db_session.get(Comment, named.id).queued_at
    reporter = parent_identity(db_session, family, "tom@example.com")
    assert comments.report(db_session, named, reporter.commenter, "Names a child")
    db_session.commit()
    assert in_step(db_session, named.id)
    assert set(flag_times(db_session, named.id)) == {first_queued}
    assert rule_ids(db_session, "pupil_name") == [named.id]


def test_the_filtered_queue_is_oldest_first_across_pages(db_session, settings, clock):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    sent = []
    for i in range(PAGE_SIZE + 3):
        sent.append(pending_comment(db_session, post, who, f"Comment {i} about Maya Patel"))
        if i % 7 == 0:
            pending_comment(db_session, post, who, f"Comment {i} with nothing flagged")
        clock.advance(timedelta(minutes=1))
    first, second = rule_ids(db_session, "pupil_name"), rule_ids(db_session, "pupil_name", 2)
    assert first + second == [c.id for c in sent]
    page = decisions.queue_page(db_session, rule="pupil_name")
    assert (page.total, page.pages, page.has_next) == (PAGE_SIZE + 3, 2, True)
    assert not decisions.queue_page(db_session, rule="pupil_name", page=2).has_next
    assert rule_ids(db_session, "no_such_rule") == []


@pytest.mark.committed
def test_a_report_and_a_decision_at_once_leave_the_flags_in_step(app, db_session, settings):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    office = moderator(db_session)
    comment = pending_comment(db_session, post, who, "Well done Maya Patel!")
    assert decisions.decide(db_session, settings, comment.id, Decision(Action.approve), office)
    db_session.commit()
    reporter = parent_identity(db_session, family, "tom@example.com")
    db_session.commit()
    assert comments.report(db_session, comment, reporter.commenter, "First report")
    db_session.commit()
    second = parent_identity(db_session, family, "ama@example.com")
    db_session.commit()
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def decide() -> None:
        with app.state.sessions() as session:
            barrier.wait()
            results["decided"] = decisions.decide(
                session, settings, comment.id, Decision(Action.approve), office
            )
            session.commit()

    def report() -> None:
        with app.state.sessions() as session:
            row = session.get(Comment, comment.id)
            barrier.wait()
            results["reported"] = comments.report(
                session, row, session.get(type(second.commenter), second.commenter.id), "Again"
            )
            session.commit()

    threads = [threading.Thread(target=decide), threading.Thread(target=report)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {"decided": True, "reported": True}
    assert in_step(db_session, comment.id)
    queued = db_session.get(Comment, comment.id).queued
    assert rule_ids(db_session, "pupil_name") == ([comment.id] if queued else [])
