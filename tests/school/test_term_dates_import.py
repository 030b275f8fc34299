"""Importing the .ics term dates file a council publishes: what the reader finds in real-shaped
files, the preview, the confirmation (every open case's deadline worked out again), and the files
it refuses."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.calendar import Term
from portal.complaints import services
from portal.school import term_dates as rules
from portal.school.ical import MAX_BYTES, IcalError, read_ics
from portal.school.models import SchoolClosure, SchoolTerm
from portal.school.services import calendar_of
from tests import factories
from tests.conftest import csrf_of, page, text_of
from tests.factories import answers, make_user, sign_in

DATA = Path(__file__).parent.parent / "data"
BASE = "/staff/settings/term-dates"
COUNCIL = DATA / "council-term-dates-2028-29.ics"
MARKERS = DATA / "school-term-markers-2027-28.ics"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


# ---------------------------------------------------------------- reading files


def test_a_council_file_gives_half_terms_and_inset_days():
    plan = read_ics(COUNCIL.read_bytes())
    assert plan.terms == (
        Term("Autumn Term 1", date(2028, 9, 4), date(2028, 10, 20)),
        Term("Autumn Term 2", date(2028, 10, 30), date(2028, 12, 20)),
        Term("Spring Term 1", date(2029, 1, 3), date(2029, 2, 9)),
        Term("Spring Term 2", date(2029, 2, 19), date(2029, 3, 29)),
        Term("Summer Term 1", date(2029, 4, 16), date(2029, 5, 25)),
        Term("Summer Term 2", date(2029, 6, 4), date(2029, 7, 20)),
    )
    assert plan.closures == (
        (date(2028, 9, 4), "INSET Day"),
        (date(2028, 10, 20), "Staff Training Day (school closed to pupils)"),
        (date(2029, 1, 3), "INSET Day"),  # no DTEND: the one day
    )
    notes = " ".join(plan.notes)
    assert "3 bank holidays" in notes  # Good Friday, Easter Monday, Early May
    assert "1 event at a time of day, not all day" in notes  # parents' evening
    assert '"Sports Day"' in notes
    assert "2029-06-22" not in notes  # the cancelled INSET day is simply not there
    assert (plan.start, plan.end) == (date(2028, 9, 4), date(2029, 7, 20))


def test_a_school_file_marking_term_starts_and_ends_is_paired():
    plan = read_ics(MARKERS.read_bytes())
    assert [(t.name, t.start, t.end) for t in plan.terms][:2] == [
        ("Autumn Term 1", date(2027, 9, 6), date(2027, 10, 22)),
        ("Autumn Term 2", date(2027, 11, 1), date(2027, 12, 17)),
    ]
    assert plan.terms[-1] == Term("Summer Term 2", date(2028, 6, 5), date(2028, 7, 21))
    assert plan.closures == ((date(2027, 9, 6), "INSET day"), (date(2028, 6, 12), "Occasional day"))


def _ics(*events: str) -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{n}@t\r\nDTSTAMP:20280101T000000Z\r\n{event}\r\nEND:VEVENT\r\n"
        for n, event in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n".encode()


def test_a_whole_term_given_with_its_half_terms_uses_the_half_terms():
    plan = read_ics(
        _ics(
            "DTSTART;VALUE=DATE:20280904\r\nDTEND;VALUE=DATE:20281221\r\nSUMMARY:Autumn Term",
            "DTSTART;VALUE=DATE:20280904\r\nDTEND;VALUE=DATE:20281021\r\nSUMMARY:Autumn Term 1",
            "DTSTART;VALUE=DATE:20281030\r\nDTEND;VALUE=DATE:20281221\r\nSUMMARY:Autumn Term 2",
        )
    )
    assert [t.name for t in plan.terms] == ["Autumn Term 1", "Autumn Term 2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!DOCTYPE html><html><body>Term dates</body></html>", "must be an iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nthis is not a content line\r\n", "could not be read"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no terms we could use"),
        (b"BEGIN:VCALENDAR\r\n" + b"X" * MAX_BYTES, "smaller than 1 MB"),
    ],
)
def test_files_that_cannot_be_used_are_refused_saying_why(content, message):
    with pytest.raises(IcalError, match=message):
        read_ics(content)


def test_only_bank_holidays_is_no_usable_file():
    with pytest.raises(IcalError, match="no terms we could use"):
        read_ics((DATA / "only-bank-holidays.ics").read_bytes())


def test_terms_in_the_file_that_overlap_are_refused():
    content = _ics(
        "DTSTART;VALUE=DATE:20280904\r\nDTEND;VALUE=DATE:20281021\r\nSUMMARY:Autumn Term",
        "DTSTART;VALUE=DATE:20281016\r\nDTEND;VALUE=DATE:20281221\r\nSUMMARY:Second Term",
    )
    with pytest.raises(IcalError, match="overlap"):
        read_ics(content)


# ---------------------------------------------------------------- the pages


@pytest.fixture
def admin_client(client, db_session):
    factories.admin_client(client, db_session)
    return client


def _upload(client, path: Path | None = None, *, content: bytes | None = None, name=None):
    form = client.get(f"{BASE}/import")
    data = content if content is not None else path.read_bytes()  # type: ignore[union-attr]
    return client.post(
        f"{BASE}/import",
        data={"csrf_token": csrf_of(form)},
        files={"file": (name or (path.name if path else "dates.ics"), data, "text/calendar")},
    )


def test_import_preview_then_confirm_sets_the_deadlines_the_old_dates_could_not(
    app, client, db_session, settings, clock
):
    clock.set(datetime(2028, 7, 19, 10, 0))
    case = services.submit(db_session, settings, answers()).complaint
    db_session.commit()
    assert case.next_deadline is None
    sign_in(client, make_user(db_session, Role.admin, name="Ada Admin"))
    admin_client = client

    preview = _upload(admin_client, COUNCIL)
    assert preview.status_code == 200
    words = text_of(preview)
    assert "We found these terms and closure days" in words
    assert (
        "Replace the dates from Monday 4 September 2028 to Friday 20 July 2029 with these?" in words
    )
    assert "You have no term dates in that time yet, so nothing is removed" in words
    assert len(page(preview).select("#found-terms tbody tr")) == 6
    # Nothing changes before the admin says yes.
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(SchoolTerm)) == 12

    done = admin_client.post(
        f"{BASE}/import/confirm",
        data={
            "csrf_token": csrf_of(preview),
            "plan": page(preview).select_one("input[name=plan]")["value"],
        },
    )
    assert done.status_code == 200, text_of(done)
    assert "1 open case's deadline moved" in text_of(done)
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(SchoolTerm)) == 18
    # 20 and 21 July, then 5, 6 and 7 September (4 September is an INSET day in the file).
    assert db_session.get(type(case), case.id).next_deadline == date(2028, 9, 7)
    with app.state.sessions() as fresh:
        assert calendar_of(fresh).last_known_day == date(2029, 7, 20)
        reasons = dict(
            fresh.execute(
                select(SchoolClosure.day, SchoolClosure.reason).where(
                    SchoolClosure.day >= date(2028, 9, 1)
                )
            ).all()
        )
        assert reasons[date(2028, 10, 20)].startswith("Staff Training Day")


def test_an_import_over_existing_dates_says_what_it_replaces(admin_client, db_session):
    preview = _upload(admin_client, MARKERS)
    words = text_of(preview)
    assert "Replace the dates from Monday 6 September 2027 to Friday 21 July 2028" in words
    assert "This removes 6 terms and 6 closure days you have now in those dates" in words
    done = admin_client.post(
        f"{BASE}/import/confirm",
        data={
            "csrf_token": csrf_of(preview),
            "plan": page(preview).select_one("input[name=plan]")["value"],
        },
    )
    assert done.status_code == 200
    db_session.expire_all()
    starts = sorted(db_session.scalars(select(SchoolTerm.start)))
    assert date(2027, 9, 6) in starts and date(2027, 9, 1) not in starts
    assert starts[0] == date(2026, 9, 1)  # 2026-27 untouched


def test_a_preview_of_dates_that_changed_since_is_refused(app, admin_client, db_session):
    preview = _upload(admin_client, MARKERS)
    other = make_user(db_session, Role.admin, name="Other Admin")
    with app.state.sessions() as session:
        rules.add_closure(
            session, session.merge(other), rules.ClosureInput(date(2027, 11, 26), "INSET")
        )
        session.commit()
    done = admin_client.post(
        f"{BASE}/import/confirm",
        data={
            "csrf_token": csrf_of(preview),
            "plan": page(preview).select_one("input[name=plan]")["value"],
        },
    )
    assert done.status_code == 409
    assert "Someone else changed the term dates" in text_of(done)
    db_session.expire_all()
    assert date(2027, 9, 1) in set(db_session.scalars(select(SchoolTerm.start)))


def test_a_tampered_or_foreign_preview_is_refused(admin_client, client, db_session):
    preview = _upload(admin_client, MARKERS)
    signed = page(preview).select_one("input[name=plan]")["value"]
    token = csrf_of(preview)
    tampered = admin_client.post(
        f"{BASE}/import/confirm", data={"csrf_token": token, "plan": signed[:-2] + "00"}
    )
    assert tampered.status_code == 422
    assert "That preview has expired or could not be read" in text_of(tampered)
    # Signed for one admin, good for no other.
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.admin, name="Other Admin"))
    other = client.post(
        f"{BASE}/import/confirm",
        data={"csrf_token": csrf_of(client.get(f"{BASE}/import")), "plan": signed},
    )
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("not-a-calendar.ics", None, "The file must be an iCalendar file"),
        ("only-bank-holidays.ics", None, "The file has no terms we could use"),
        ("big.ics", b"BEGIN:VCALENDAR\r\n" + b"X" * (MAX_BYTES + 10), "smaller than 1 MB"),
        ("empty.ics", b"", "The file is empty"),
    ],
)
def test_the_upload_page_refuses_bad_files_with_the_reason(admin_client, name, content, message):
    response = _upload(
        admin_client, DATA / name if content is None else None, content=content, name=name
    )
    assert response.status_code == 422
    error = page(response).select_one(".govuk-error-summary__list a")
    assert error["href"] == "#file" and message in error.get_text()


def test_no_file_chosen(admin_client):
    form = admin_client.get(f"{BASE}/import")
    response = admin_client.post(f"{BASE}/import", data={"csrf_token": csrf_of(form)})
    assert response.status_code == 422
    assert "Choose the term dates file" in text_of(response)
