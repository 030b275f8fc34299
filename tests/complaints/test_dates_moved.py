"""When the school's term dates or timescales change, every open case's date is worked out
again at once (one transaction), recorded on each case, and each parent whose date moved is told
the new date and why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.calendar import format_date
from portal.complaints import services
from portal.complaints.models import Complaint
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.factories import admin_client, make_case, make_cast
from tests.school.helpers import send

TIMESCALES = {
    "acknowledge_within_days": "5",
    "concern_response_days": "10",
    "stage1_response_days": "15",
    "escalation_window_days": "10",
    "stage2_outcome_days": "20",
    "late_after_months": "3",
    "reminder_days_before": "2",
}


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _moved_mail(db_session, case: Complaint) -> list[OutboxMessage]:
    return list(
        db_session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == case.parent_email,
                OutboxMessage.subject.like("A new date%"),
            )
        )
    )


def test_a_longer_stage_1_timescale_moves_open_cases_and_tells_each_parent(
    client, db_session, settings
):
    cast = make_cast(db_session)
    waiting = make_case(db_session, settings, cast, "open")
    other = make_case(db_session, settings, cast, "open", parent_email="other@example.com")
    answered = make_case(db_session, settings, cast, "responded", parent_email="done@example.com")
    before = {case.id: case.next_deadline for case in (waiting, other, answered)}

    admin_client(client, db_session)
    assert send(client, "/staff/settings/timescales", TIMESCALES).status_code == 303

    db_session.expire_all()
    calendar = services.school_calendar(db_session)
    for case in (waiting, other):
        fresh = db_session.get(Complaint, case.id)
        expected = calendar.add_school_days(calendar.next_school_day(fresh.deadline_from), 15)
        assert fresh.next_deadline == expected != before[case.id]
        (mail,) = _moved_mail(db_session, fresh)
        assert format_date(expected) in mail.body_text
        assert format_date(before[case.id]) in mail.body_text
        assert "We will now send our response by" in mail.body_text
        tags = db_session.scalars(
            select(HistoryEvent.tag).where(
                HistoryEvent.subject_type == "complaint", HistoryEvent.subject_id == str(case.id)
            )
        ).all()
        assert "complaint:deadline:moved" in tags
    # The escalation window did not change, so the answered case's date stays and nobody writes.
    assert db_session.get(Complaint, answered.id).next_deadline == before[answered.id]
    assert _moved_mail(db_session, answered) == []


def test_saving_the_same_timescales_moves_nothing_and_sends_nothing(client, db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "open")
    admin_client(client, db_session)
    same = {**TIMESCALES, "stage1_response_days": "10"}
    assert send(client, "/staff/settings/timescales", same).status_code == 303
    assert _moved_mail(db_session, case) == []
