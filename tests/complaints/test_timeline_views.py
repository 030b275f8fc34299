"""The case page's history: looks counted per person, the rest paged, one look per opening.

Every staff look at a case stays recorded, but a case opened a thousand times must not show (or
load) a thousand rows: the page counts looks in SQL, one line per person and thing opened, and
shows the other events a page at a time through plain links (no JavaScript needed).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session as OrmSession

from portal.calendar import SchoolCalendar
from portal.complaints import services, timeline
from portal.complaints.models import About, Complaint, DeadlineKind
from portal.history import HistoryEvent
from tests.clocks import TERM_DATES
from tests.conftest import csrf_of, page
from tests.factories import add_file, make_case, sign_in

QUEUE = "/staff/complaints"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def case_url(case: Complaint, action: str = "") -> str:
    return f"{QUEUE}/{case.reference}" + (f"/{action}" if action else "")


def as_user(client, user) -> None:
    client.cookies.clear()
    sign_in(client, user)


def views_by(db_session, case: Complaint, user=None) -> int:
    statement = (
        select(func.count())
        .select_from(HistoryEvent)
        .where(
            HistoryEvent.subject_type == "complaint",
            HistoryEvent.subject_id == str(case.id),
            HistoryEvent.tag == "complaint:view",
        )
    )
    if user is not None:
        statement = statement.where(HistoryEvent.actor_user_id == user.id)
    return db_session.scalar(statement)


def look_rows(html) -> list[list[str]]:
    return [
        [" ".join(cell.get_text(" ").split()) for cell in row.select("td")]
        for row in html.select("#looks tbody tr")
    ]


def change_rows(html) -> list[str]:
    return [
        " ".join(row.select("td")[2].get_text(" ").split())
        for row in html.select("#changes tbody tr")
    ]


def add_notes(db_session, case: Complaint, user, count: int) -> None:
    for number in range(1, count + 1):
        services.add_note(db_session, case, user, f"Note number {number}")
    db_session.commit()


class RowsLoaded:
    """Counts the history rows the ORM loads while a request runs."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _session, instance) -> None:  # type: ignore[no-untyped-def]
        if isinstance(instance, HistoryEvent):
            self.count += 1

    def __enter__(self) -> RowsLoaded:
        event.listen(OrmSession, "loaded_as_persistent", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(OrmSession, "loaded_as_persistent", self)


# ---------------------------------------------------------------- looks, counted per person


def test_looks_show_one_line_per_person_and_thing_opened(client, db_session, settings, cast):
    file_id = add_file(db_session, settings, "photo.pdf")
    case = make_case(db_session, settings, cast, "open", attachment_ids=[file_id])
    for _ in range(11):
        services.record_view(db_session, case, cast.head)
    for _ in range(3):
        services.record_view(db_session, case, cast.office)
    services.record_view(db_session, case, cast.office, read="attachment: photo.pdf")
    db_session.commit()
    as_user(client, cast.head)

    html = page(client.get(case_url(case)))

    rows = look_rows(html)
    assert len(rows) == 3
    by_line = {(who, what): often for who, what, often in rows}
    head_line = by_line[("David Morgan", "Opened the case")]
    assert head_line.startswith("12 times, last on Wednesday 25 November 2026 at")
    assert by_line[("Janet Okafor", "Opened the case")].startswith("3 times, last on")
    assert by_line[("Janet Okafor", "Opened attachment: photo.pdf")].startswith("Once, on")
    assert rows[0][0] == "David Morgan", "the latest look comes first"
    assert "Opened the case" not in " ".join(change_rows(html))


def test_looks_are_counted_by_the_database(db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    for user, times in ((cast.head, 40), (cast.office, 7), (cast.chair, 1)):
        for _ in range(times):
            services.record_view(db_session, case, user)
    db_session.commit()
    db_session.expunge_all()

    with RowsLoaded() as loaded:
        found = timeline.looks(db_session, case.id)

    assert {(look.who, look.times) for look in found} == {
        ("David Morgan", 40),
        ("Janet Okafor", 7),
        ("Helen Price", 1),
    }
    assert loaded.count == 0


def test_the_case_page_stays_small_however_often_it_is_opened(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    people = [cast.head, cast.office, cast.chair, cast.clerk]
    for person in people[1:]:
        services.record_view(db_session, case, person)
    db_session.commit()
    as_user(client, cast.head)
    before = len(client.get(case_url(case)).content)  # each person's line is there already
    for number in range(1_200 - len(people)):
        services.record_view(db_session, case, people[number % len(people)])
    db_session.commit()

    with RowsLoaded() as loaded:
        response = client.get(case_url(case))

    assert response.status_code == 200
    assert len(response.content) - before < 200  # "Once, on" became "300 times, last on"
    assert loaded.count <= timeline.CHANGES_PER_PAGE + 1
    often = {who: how for who, _what, how in look_rows(page(response))}
    assert often["David Morgan"].startswith("301 times")  # with his own two looks
    for other in ("Janet Okafor", "Helen Price", "Tom Baxter"):
        assert often[other].startswith("300 times")


# ---------------------------------------------------------------- a long history pages


def test_a_long_history_pages_with_plain_links(client, db_session, settings, cast, monkeypatch):
    monkeypatch.setattr(timeline, "CHANGES_PER_PAGE", 10)
    case = make_case(db_session, settings, cast, "open")
    add_notes(db_session, case, cast.head, 25)
    total = len(timeline.changes(db_session, case.id, size=1000).events)
    as_user(client, cast.head)

    latest = page(client.get(case_url(case)))

    rows = change_rows(latest)
    assert len(rows) == 10
    assert rows == ["Internal note added"] * 10
    caption = " ".join(latest.select_one("#changes-caption").text.split())
    assert caption == (
        f"The latest 10 of {total} things that have happened to this case, oldest first"
    )
    links = latest.select("nav.govuk-pagination a")
    assert [" ".join(a.get_text(" ").split()) for a in links] == ["Show earlier events"]

    seen: list[str] = []
    html = latest
    while (earlier := html.select_one(".govuk-pagination__prev a")) is not None:
        assert "?before=" in earlier["href"] and earlier["href"].endswith("#history")
        html = page(client.get(earlier["href"]))
        seen = change_rows(html) + seen
        assert html.select_one(".govuk-pagination__next a") is not None
    assert len(seen) + len(rows) == total
    assert seen[0] == "Received from the parent"

    first_page = len(change_rows(html))
    later = html.select_one(".govuk-pagination__next a")
    assert "?after=" in later["href"]
    after_first = page(client.get(later["href"]))
    assert change_rows(after_first) == seen[first_page : first_page + 10]


def test_changes_pages_meet_without_gaps_or_overlaps(db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    add_notes(db_session, case, cast.head, 12)
    everything = [e.id for e in timeline.changes(db_session, case.id, size=1000).events]

    newest = timeline.changes(db_session, case.id, size=5)
    older = timeline.changes(db_session, case.id, before=newest.earlier, size=5)
    back = timeline.changes(db_session, case.id, after=older.later, size=5)

    assert [e.id for e in newest.events] == everything[-5:]
    assert [e.id for e in older.events] == everything[-10:-5]
    assert [e.id for e in back.events] == everything[-5:]
    assert newest.later is None and back.later is None
    assert older.later == everything[-6] and back.earlier == everything[-5]
    assert newest.total == len(everything)


def test_a_made_up_page_of_history_shows_a_way_back(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    response = client.get(case_url(case) + "?before=1")

    assert response.status_code == 200
    cell = page(response).select_one("#changes tbody td")
    assert "Show the latest events" in cell.text


# ---------------------------------------------------------------- one look per opening


def test_sorting_a_case_records_one_opening(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)
    form = client.get(case_url(case))

    done = client.post(
        case_url(case, "triage"),
        data={
            "csrf_token": csrf_of(form),
            "stage": "stage1",
            "category": "Teaching and learning",
            "handler_id": str(cast.head.id),
        },
    )

    assert done.status_code == 200 and done.url.query == b"done=triage"
    assert views_by(db_session, case, cast.office) == 1
    looks = look_rows(page(done))
    assert looks == [["Janet Okafor", "Opened the case", looks[0][2]]]
    assert looks[0][2].startswith("Once, on")


def test_a_refused_form_is_the_same_opening(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)
    form = client.get(case_url(case))

    refused = client.post(
        case_url(case, "triage"), data={"csrf_token": csrf_of(form), "stage": "stage1"}
    )

    assert refused.status_code == 422
    assert views_by(db_session, case, cast.office) == 1


def test_paging_the_history_is_the_same_opening(client, db_session, settings, cast, monkeypatch):
    monkeypatch.setattr(timeline, "CHANGES_PER_PAGE", 2)
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    first = page(client.get(case_url(case)))

    client.get(first.select_one(".govuk-pagination__prev a")["href"])
    assert views_by(db_session, case, cast.head) == 1
    client.get(case_url(case))
    assert views_by(db_session, case, cast.head) == 2


def test_each_new_opening_is_recorded(client, db_session, settings, cast, clock):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    client.get(case_url(case))
    client.get(case_url(case))
    assert views_by(db_session, case, cast.head) == 2

    # "done=" on the address hides no look: someone else acted since, or it is too late.
    services.record_view(db_session, case, cast.office)
    db_session.commit()
    client.get(case_url(case) + "?done=note")
    assert views_by(db_session, case, cast.head) == 3
    clock.advance(timeline.SAME_LOOK_WITHIN + timedelta(minutes=1))
    client.get(case_url(case) + "?done=note")
    assert views_by(db_session, case, cast.head) == 4


def test_the_page_after_an_action_is_not_another_look(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    form = client.get(case_url(case))

    response = client.post(
        case_url(case, "note"), data={"csrf_token": csrf_of(form), "note": "Phoned the parent."}
    )

    assert response.status_code == 200
    assert views_by(db_session, case, cast.head) == 1
    assert "Internal note added" in change_rows(page(response))


# ---------------------------------------------------------------- what a deadline counts from


def explanation(client, case: Complaint) -> str:
    html = page(client.get(case_url(case)))
    return " ".join(html.select_one("#deadline-explanation").get_text(" ").split())


def test_the_escalation_deadline_counts_from_the_letter(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "responded")
    as_user(client, cast.head)

    text = explanation(client, case)

    assert text.startswith("Counted from the response letter, sent ")
    assert "Received" not in text


def test_the_panel_deadline_counts_from_the_escalation(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "stage2")
    as_user(client, cast.clerk)

    text = explanation(client, case)

    assert text.startswith("Counted from the request for the governors' panel, made ")
    assert "Received" not in text


def test_the_response_deadline_still_counts_from_receipt(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    assert explanation(client, case).startswith("Received")


def test_a_count_from_a_letter_sent_on_a_saturday_starts_on_monday():
    calendar = SchoolCalendar.from_file(TERM_DATES)
    start = DeadlineKind.escalate.counted_from

    summary = calendar.explain(date(2026, 11, 28), 10).summary(start)

    assert summary.startswith(
        "Counted from Monday 30 November 2026, the first school day after the response "
        "letter, sent Saturday 28 November 2026. 10 school days later is "
    )
    assert DeadlineKind.respond.counted_from is None
    assert calendar.explain(date(2026, 11, 28), 10).summary(None).startswith("Received ")


# ---------------------------------------------------------------- naming oneself at triage


def test_office_naming_herself_at_triage_is_told_why_not(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new", about=About.staff, about_name="")
    as_user(client, cast.office)
    form = client.get(case_url(case))
    options = [o["value"] for o in page(form).select("#about_user_id option")]
    assert str(cast.office.id) in options

    response = client.post(
        case_url(case, "triage"),
        data={
            "csrf_token": csrf_of(form),
            "stage": "stage1",
            "category": "Teaching and learning",
            "handler_id": str(cast.head.id),
            "about_user_id": str(cast.office.id),
        },
    )

    assert response.status_code == 422
    html = page(response)
    summary = html.select_one(".govuk-error-summary")
    assert "You cannot sort a case about yourself: ask a colleague to sort it" in summary.text
    assert summary.select_one("a")["href"] == "#about_user_id"
    db_session.expire_all()
    case = db_session.get(Complaint, case.id)
    assert (case.status, case.about_user_id) == ("new", None)
    assert services.can_see(db_session, cast.office, case)
    assert client.get(case_url(case)).status_code == 200
