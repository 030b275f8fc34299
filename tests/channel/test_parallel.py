"""Approving at once, on committed transactions: two heads approving the same post, or the
author changing it while the head approves: exactly one wins, the other is told calmly."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.channel.models import Post, PostStatus
from portal.history import HistoryEvent
from tests.channel.conftest import draft, sent
from tests.conftest import csrf_of, page
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed


def race(app, users, requests):  # type: ignore[no-untyped-def]
    """Each user's client reads its page first, then all send at once."""
    clients = [TestClient(app, raise_server_exceptions=False) for _ in users]
    for client, user in zip(clients, users, strict=True):
        sign_in(client, user)
    tokens = [
        csrf_of(c.get(page_url)) for c, (page_url, _u, _d) in zip(clients, requests, strict=True)
    ]
    responses: list = [None] * len(users)
    barrier = threading.Barrier(len(users))

    def run(i: int) -> None:
        _page, url, data = requests[i]
        barrier.wait()
        responses[i] = clients[i].post(
            url, data={**data, "csrf_token": tokens[i]}, follow_redirects=False
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_two_heads_approving_at_once_approve_once(app, db_session):
    office = make_user(db_session, Role.office)
    heads = [make_user(db_session, Role.head), make_user(db_session, Role.head)]
    post = sent(db_session, office, draft(db_session, office))
    url = f"/staff/news/{post.id}"
    data = {"revision": str(post.revision), "when": "now"}
    responses = race(app, heads, [(url, url + "/approve", data)] * 2)
    codes = sorted(r.status_code for r in responses)
    assert codes == [303, 409], codes
    loser = next(r for r in responses if r.status_code == 409)
    assert "approved already" in page(loser).select_one(".govuk-error-summary").text
    db_session.expire_all()
    assert db_session.get(Post, post.id).status == PostStatus.approved
    approvals = db_session.scalar(
        select(func.count()).select_from(HistoryEvent).where(HistoryEvent.tag == "news:approved")
    )
    assert approvals == 1


def test_the_author_editing_while_the_head_approves_one_wins(app, db_session):
    office = make_user(db_session, Role.office)
    head = make_user(db_session, Role.head)
    post = sent(db_session, office, draft(db_session, office))
    url = f"/staff/news/{post.id}"
    edit = {
        "revision": str(post.revision),
        "title": "A changed title",
        "summary": "",
        "body_markdown": "New words.",
    }
    approve = {"revision": str(post.revision), "when": "now"}
    responses = race(
        app,
        [office, head],
        [(url + "/edit", url + "/edit", edit), (url, url + "/approve", approve)],
    )
    codes = [r.status_code for r in responses]
    db_session.expire_all()
    final = db_session.get(Post, post.id)
    if codes == [303, 409]:  # the edit won: the head must read it again
        assert final.status == PostStatus.awaiting_approval and final.title == "A changed title"
        assert "changed this post" in page(responses[1]).select_one(".govuk-error-summary").text
    else:  # the approval won: the author is told the post changed meanwhile
        assert codes == [422, 303], codes
        assert final.status == PostStatus.approved and final.title == "Sports day"
        assert "approved or took down" in page(responses[0]).select_one(".govuk-error-summary").text
