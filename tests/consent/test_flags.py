"""Safeguarding flags: set by office or the head with a reason, seen in full only by the roles
the settings name; everyone else sees "restricted", and the history never holds the reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import ConsentSettings, Pupil, SafeguardingFlag
from portal.consent.services import flags
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, import_file, pupil_file
from tests.factories import make_user, sign_in

REASON = "Placed with foster carers; birth family must not find the school"


@pytest.fixture
def pupil(client, db_session) -> Pupil:
    sign_in(client, make_user(db_session, Role.office))
    import_file(client, pupil_file(*ROWS))
    client.cookies.clear()
    db_session.expire_all()
    return db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))


def restrict(client, pupil: Pupil, **data):  # type: ignore[no-untyped-def]
    url = f"/staff/pupils/{pupil.id}"
    token = csrf_of(client.get(url))
    return client.post(
        url + "/restrict",
        data={"csrf_token": token, "kind": "looked_after", "reason": REASON, **data},
        follow_redirects=False,
    )


def test_the_head_restricts_a_pupil_and_office_reads_why_but_admin_only_sees_restricted(
    client, db_session, pupil
):
    head = make_user(db_session, Role.head, name="David Morgan")
    sign_in(client, head)
    response = restrict(client, pupil)
    assert response.status_code == 303
    shown = page(client.get(f"/staff/pupils/{pupil.id}"))
    assert "Restricted" in shown.select_one("#restricted").text
    assert REASON in shown.select_one("#flag-reason").text
    assert "Looked after" in shown.select_one("#restricted").text

    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.office))
    assert REASON in text_of(client.get(f"/staff/pupils/{pupil.id}"))

    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.admin))
    shown = client.get(f"/staff/pupils/{pupil.id}")
    assert "Restricted" in page(shown).select_one("#restricted").text
    assert REASON not in shown.text
    assert "Looked after" not in shown.text
    assert page(shown).select_one("#lift") is None
    token = csrf_of(shown)
    refused = client.post(
        f"/staff/pupils/{pupil.id}/restrict",
        data={"csrf_token": token, "kind": "other", "reason": "x"},
        follow_redirects=False,
    )
    assert refused.status_code == 403

    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == flags.FLAG_SET_TAG)
    ).all()
    assert [e.actor_user_id for e in events] == [head.id]
    assert all(REASON not in (e.detail or "") for e in events)
    assert flags.restricted(db_session, [pupil.id]) == {pupil.id}


def test_the_setting_names_who_reads_the_reason(client, db_session, pupil):
    db_session.add(ConsentSettings(flag_roles="head", validity="school_year"))
    db_session.commit()
    sign_in(client, make_user(db_session, Role.head))
    restrict(client, pupil)
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.office))
    shown = client.get(f"/staff/pupils/{pupil.id}")
    assert "Restricted" in page(shown).select_one("#restricted").text
    assert REASON not in shown.text


def test_a_restriction_needs_a_kind_and_a_reason(client, db_session, pupil):
    sign_in(client, make_user(db_session, Role.office))
    response = restrict(client, pupil, kind="", reason="   ")
    assert response.status_code == 422
    text = text_of(response)
    assert "Choose why this pupil's photos are restricted" in text
    assert "Write the reason" in text
    response = restrict(client, pupil, kind="nonsense\u202e", reason="x" * 5000)
    assert response.status_code == 422
    assert "2,000 characters or fewer" in text_of(response)
    assert db_session.scalar(select(SafeguardingFlag)) is None


def test_a_second_restriction_is_refused_and_lifting_keeps_the_record(client, db_session, pupil):
    sign_in(client, make_user(db_session, Role.office))
    restrict(client, pupil)
    again = restrict(client, pupil, kind="other", reason="Another")
    assert again.status_code == 422
    assert "already restricted" in text_of(again)
    flag = db_session.scalar(select(SafeguardingFlag))
    shown = client.get(f"/staff/pupils/{pupil.id}")
    lift = client.post(
        f"/staff/pupils/{pupil.id}/restrict/{flag.id}/lift",
        data={"csrf_token": csrf_of(shown)},
        follow_redirects=False,
    )
    assert lift.status_code == 303
    lifted_twice = client.post(
        f"/staff/pupils/{pupil.id}/restrict/{flag.id}/lift",
        data={"csrf_token": csrf_of(shown)},
        follow_redirects=False,
    )
    assert lifted_twice.status_code == 422
    assert "already lifted" in text_of(lifted_twice)
    db_session.expire_all()
    rows = db_session.scalars(select(SafeguardingFlag)).all()
    assert [(row.active, row.reason) for row in rows] == [(False, REASON)]
    assert flags.restricted(db_session, [pupil.id]) == set()
    assert page(client.get(f"/staff/pupils/{pupil.id}")).select_one("#not-restricted")


def test_other_roles_cannot_open_the_register(client, db_session, pupil):
    for role in (Role.chair, Role.clerk, Role.governor, Role.senior_leader):
        client.cookies.clear()
        sign_in(client, make_user(db_session, role))
        assert client.get(f"/staff/pupils/{pupil.id}").status_code == 403
