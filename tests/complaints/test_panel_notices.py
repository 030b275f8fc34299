"""Stage 2 tells everyone what they need: the parent (and every parent whose case is heard with
theirs) and each panel member get the hearing's date, time, format, members and the date for
papers, and again whenever any of it changes; no outcome before the panel has met."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.complaints import services
from portal.complaints.services import ComplaintError
from portal.mail import OutboxMessage
from tests.factories import letter, make_case, make_cast, sort_case

HEARING = date(2026, 12, 10)  # a Thursday in term


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def _mail(db_session, address: str, subject_start: str) -> list[OutboxMessage]:
    return list(
        db_session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == address,
                OutboxMessage.subject.like(f"{subject_start}%"),
            )
        )
    )


def _arrange(db_session, settings, case, cast, **changes):
    values = {
        "hearing_on": HEARING,
        "member_ids": [g.id for g in cast.governors],
        "papers": "",
        "hearing_notes": "",
        "hearing_time": "18:00",
        "hearing_format": "in_person",
        "hearing_place": "The school library",
        "settings": settings,
    }
    values.update(changes)
    panel = services.record_panel(db_session, case, cast.clerk, **values)
    db_session.commit()
    return panel


def test_the_parent_and_each_member_are_told_when_how_who_and_the_papers_date(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "stage2")
    panel = _arrange(db_session, settings, case, cast)
    assert panel.papers_by == date(2026, 12, 3)  # 5 school days before the Thursday hearing
    (to_parent,) = _mail(db_session, case.parent_email, "Your governors' panel hearing")
    body = to_parent.body_text
    assert "Thursday 10 December 2026 at 18:00" in body
    assert "In person: The school library" in body
    assert "Aisha Rahman, Mark Ellis and Sarah Lee" in body
    assert "by Thursday 3 December 2026" in body
    for member in cast.governors:
        (to_member,) = _mail(db_session, member.email, "You are on a complaint panel")
        assert "Thursday 10 December 2026 at 18:00" in to_member.body_text
        assert case.what_happened not in to_member.body_text  # no case details by email


def test_saving_the_same_arrangement_tells_nobody_again_but_a_new_date_does(db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "stage2")
    _arrange(db_session, settings, case, cast)
    _arrange(db_session, settings, case, cast, hearing_notes="Room booked.")
    assert len(_mail(db_session, case.parent_email, "Your governors' panel hearing")) == 1
    _arrange(db_session, settings, case, cast, hearing_on=date(2026, 12, 14))
    moved = _mail(db_session, case.parent_email, "Your governors' panel hearing")
    assert len(moved) == 2 and "Monday 14 December 2026" in moved[-1].body_text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hearing_time": "6pm"}, "hearing_time"),
        ({"hearing_format": "carrier pigeon"}, "hearing_format"),
        ({"hearing_place": "x" * 201}, "hearing_place"),
    ],
)
def test_a_wrong_arrangement_is_refused_with_the_field(db_session, settings, change, field):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "stage2")
    with pytest.raises(ComplaintError) as refused:
        _arrange(db_session, settings, case, cast, **change)
    assert refused.value.field == field


def test_no_outcome_before_the_panel_has_met(db_session, settings, clock):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "stage2")
    _arrange(db_session, settings, case, cast)
    with pytest.raises(ComplaintError, match="The panel meets on Thursday 10 December 2026"):
        services.send_panel_outcome(db_session, settings, case, cast.clerk, letter())
    db_session.rollback()
    clock.set(datetime(2026, 12, 10, 20, 0))
    services.send_panel_outcome(db_session, settings, case, cast.clerk, letter())
    db_session.commit()
    body = services.messages_for(db_session, case, for_parent=True)[-1].body
    assert "the governors' panel met on Thursday 10 December 2026" in body


def _stage2_with_token(db_session, settings, cast):
    from tests.factories import answers

    received = services.submit(db_session, settings, answers())
    db_session.commit()
    case = received.complaint
    sort_case(db_session, settings, case, cast.office, handler=cast.head)
    services.respond(db_session, settings, case, cast.head, letter())
    db_session.commit()
    services.escalate(db_session, settings, case, "The letter did not answer the real problem.")
    db_session.commit()
    return case, received.access_token


def test_the_tracking_page_shows_the_hearing_and_its_calendar_file(client, db_session, settings):
    from icalendar import Calendar

    from tests.conftest import text_of

    cast = make_cast(db_session)
    case, token = _stage2_with_token(db_session, settings, cast)
    assert "Your panel hearing" not in text_of(client.get(f"/track/{token}"))
    assert client.get(f"/track/{token}/hearing.ics").status_code == 404
    _arrange(db_session, settings, case, cast)
    words = text_of(client.get(f"/track/{token}"))
    assert "Your panel hearing" in words
    assert "Thursday 10 December 2026 at 18:00" in words
    assert "Send papers by Thursday 3 December 2026" in words
    invitation = client.get(f"/track/{token}/hearing.ics")
    assert invitation.status_code == 200
    assert invitation.headers["content-type"].startswith("text/calendar")
    event = next(iter(Calendar.from_ical(invitation.content).walk("VEVENT")))
    start = event.decoded("dtstart")
    assert (start.date(), start.hour, start.minute) == (HEARING, 18, 0)
    assert case.reference in str(event["summary"])
    assert case.what_happened not in invitation.text


def test_the_parent_says_who_they_will_bring_and_the_clerk_is_told(client, db_session, settings):
    from tests.conftest import csrf_of, page

    cast = make_cast(db_session)
    case, token = _stage2_with_token(db_session, settings, cast)
    _arrange(db_session, settings, case, cast)
    form_page = client.get(f"/track/{token}")
    refused = client.post(
        f"/track/{token}/companion",
        data={"companion_name": "x" * 201, "csrf_token": csrf_of(form_page)},
    )
    assert refused.status_code == 422
    assert page(refused).select_one(".govuk-error-summary a")["href"] == "#companion_name"
    assert page(refused).select_one("#companion_name")["value"] == "x" * 201
    done = client.post(
        f"/track/{token}/companion",
        data={"companion_name": "  Priya   Shah ", "csrf_token": csrf_of(form_page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.expire_all()
    panel = services.panel_for(db_session, case)
    assert panel.companion_name == "Priya Shah"
    assert _mail(db_session, cast.clerk.email, "")  # the clerk (the stage 2 handler) is told
    assert "I would like to bring Priya Shah" in text_of_messages(db_session, case)


def text_of_messages(db_session, case) -> str:
    return " ".join(m.body for m in services.messages_for(db_session, case, for_parent=False))


@pytest.mark.committed
def test_the_same_companion_asked_from_two_tabs_at_once_is_told_once(app, db_session, settings):
    from tests.complaints.test_attacks import _at_once

    cast = make_cast(db_session)
    case, _token = _stage2_with_token(db_session, settings, cast)
    _arrange(db_session, settings, case, cast)
    replies_before = len(services.messages_for(db_session, case, for_parent=True))

    outcomes = _at_once(
        app, 8, lambda s, c: services.ask_for_companion(s, settings, c, "Priya Shah"), case.id
    )
    # Pressed again later (the page was slow): already told, nothing new.
    db_session.expire_all()
    again = services.ask_for_companion(
        db_session, settings, db_session.get(type(case), case.id), "Priya Shah"
    )
    db_session.commit()

    # Each either recorded it, found it already recorded, or lost the race: never twice.
    assert outcomes.count("won") >= 1 and again is None
    db_session.expire_all()
    messages = services.messages_for(db_session, case, for_parent=True)
    assert len(messages) == replies_before + 1
    assert messages[-1].body == "I would like to bring Priya Shah with me to the panel hearing."
