"""Two members of staff entering answers for one pupil at once: both are kept (answers are only
ever added), and the refusal among them wins."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import ConsentRecord, Contact, Pupil
from tests.conftest import csrf_of, page
from tests.consent.helpers import ROWS, import_file, pupil_file
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.committed


def test_answers_entered_at_once_are_all_kept_and_refusal_wins(app, db_session):
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    sign_in(clients[0], make_user(db_session, Role.office))
    sign_in(clients[1], make_user(db_session, Role.admin))
    import_file(clients[0], pupil_file(*ROWS))
    pupil_id = db_session.scalar(select(Pupil.id).where(Pupil.mis_id == "A001"))
    url = f"/staff/pupils/{pupil_id}/answers"
    sarah = db_session.scalar(select(Contact.id).where(Contact.email == "sarah@example.com"))
    tom = db_session.scalar(select(Contact.id).where(Contact.email == "tom@example.com"))
    plans = [
        {"contact_id": str(sarah), "how": "phone", "call_note": "Rang", "answer_video": "yes"},
        {"contact_id": str(tom), "how": "phone", "call_note": "Rang too", "answer_video": "no"},
    ]
    tokens = [csrf_of(client.get(url)) for client in clients]
    codes = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            url, data={"csrf_token": tokens[i], **plans[i]}, follow_redirects=False
        )
        codes[i] = response.status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [303, 303]
    db_session.expire_all()
    assert len(db_session.scalars(select(ConsentRecord)).all()) == 2
    shown = page(clients[0].get(f"/staff/pupils/{pupil_id}"))
    video = next(tr for tr in shown.select("#decisions tbody tr") if tr.th.text == "Video")
    assert [td.text for td in video.select("td")][:2] == ["No", "Refused"]
