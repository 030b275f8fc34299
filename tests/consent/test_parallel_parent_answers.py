"""Two parents answering for one child at the same moment: both answers are kept as records
(answers are only ever added), the no wins, and both are told."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.consent.models import AnswerHow, ConsentRecord
from portal.mail import OutboxMessage
from tests.conftest import TEST_SECRET, csrf_of, page
from tests.consent.families import sign_in_parent, two_families

pytestmark = pytest.mark.committed


def test_two_parents_answering_at_once_are_both_kept(app, db_session):
    family = two_families(db_session)
    millie = family.pupils["millie"]
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    sign_in_parent(clients[0], db_session, TEST_SECRET, "sarah@example.com")
    sign_in_parent(clients[1], db_session, TEST_SECRET, "tom@example.com")
    forms = []
    for client in clients:
        shown = client.get("/photos/answers")
        form = page(shown).select_one(f"form[action='/photos/answers/{millie.id}']")
        hidden = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
        forms.append({**hidden, "csrf_token": csrf_of(shown)})
    plans = [{"answer_video": "yes"}, {"answer_video": "no"}]
    codes = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            f"/photos/answers/{millie.id}", data={**forms[i], **plans[i]}, follow_redirects=False
        )
        codes[i] = response.status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [303, 303]
    db_session.expire_all()
    kept = db_session.scalars(select(ConsentRecord)).all()
    assert sorted(r.answer for r in kept) == [False, True]
    assert {r.how for r in kept} == {AnswerHow.online}
    subjects = db_session.scalars(select(OutboxMessage.subject)).all()
    # Whichever came second saw the disagreement and told both parents.
    assert sum("different answers" in s for s in subjects) >= 2
