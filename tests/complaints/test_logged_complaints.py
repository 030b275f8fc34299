"""Office logs a concern or complaint that came by phone, letter, email or in person: the same
case an online parent makes, received on the day the parent stated, with the reference and
private link by email, or on a printed letter when there is no email."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.complaints import services
from portal.complaints.models import (
    About,
    Attachment,
    CaseExclusion,
    Channel,
    Complaint,
    ComplaintMessage,
    MessageKind,
)
from portal.complaints.timeline import describe
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.conftest import csrf_of, page, text_of
from tests.factories import PDF_BYTES, answers, make_user, sign_in

NEW = "/staff/complaints/new"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def as_user(client, user):
    client.cookies.clear()
    sign_in(client, user)


def form_data(school, **overrides) -> dict[str, str]:
    values = {
        "channel": "phone",
        "received_on_day": "23",
        "received_on_month": "11",
        "received_on_year": "2026",
        "parent_name": "Grace Adebayo",
        "parent_email": "",
        "parent_phone": "01632 960 123",
        "parent_address": "12 Orchard Road\nBrookfield\nBR1 2AB",
        "child_name": "Tobi Adebayo",
        "kind": "complaint",
        "about": "school",
        "about_name": "",
        "category": school.categories[0],
        "what_happened": "The school bus left without my son on Monday afternoon.",
        "done_so_far": "I phoned the office on Monday.",
        "put_right": "Check the register before the bus leaves.",
    }
    values.update(overrides)
    return values


def post_new(client, data, files=None):
    form = client.get(NEW)
    assert form.status_code == 200
    fields = {
        "csrf_token": csrf_of(form),
        "form_token": page(form).select_one("input[name=form_token]")["value"],
        **data,
    }
    return client.post(NEW, data=fields, files=files, follow_redirects=False)


def only_case(db_session) -> Complaint:
    db_session.expire_all()
    return db_session.scalars(select(Complaint)).one()


def logged(school, **overrides) -> services.LoggedComplaint:
    new = answers(**{"parent_email": "", **overrides.pop("answers", {})})
    return services.LoggedComplaint(
        new=new,
        channel=overrides.pop("channel", "phone"),
        stated_on=overrides.pop("stated_on", date(2026, 11, 23)),
        parent_address=overrides.pop("parent_address", "12 Orchard Road, Brookfield"),
    )


# ---------------------------------------------------------------- the service


def test_a_phone_complaint_counts_from_the_day_the_parent_stated(
    db_session, settings, cast, school
):
    received = services.log_complaint(db_session, settings, logged(school), cast.office)
    db_session.commit()
    case = received.complaint
    assert case.channel == Channel.phone
    assert case.logged_by_user_id == cast.office.id
    assert case.stated_received_on == date(2026, 11, 23)
    assert case.received_on == date(2026, 11, 23)  # a Monday in term
    calendar = services.school_calendar(db_session)
    due = calendar.add_school_days(date(2026, 11, 23), school.acknowledge_within_days)
    assert case.next_deadline == due
    assert case.by_post and case.parent_address == "12 Orchard Road, Brookfield"
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    letters = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.kind == MessageKind.acknowledgement)
    ).all()
    assert len(letters) == 1 and case.reference in letters[0].body
    sentences = [
        describe(event)
        for event in db_session.scalars(
            select(HistoryEvent).where(HistoryEvent.subject_id == str(case.id))
        )
    ]
    assert "Logged by Janet Okafor from a phone call on Monday 23 November 2026" in sentences


def test_a_weekend_date_counts_from_the_next_school_day(db_session, settings, cast, school):
    case = services.log_complaint(
        db_session, settings, logged(school, stated_on=date(2026, 11, 21)), cast.office
    ).complaint
    assert case.stated_received_on == date(2026, 11, 21)
    assert case.received_on == date(2026, 11, 23)


def test_with_an_email_the_parent_gets_what_an_online_parent_gets(
    db_session, settings, cast, school
):
    item = logged(school, answers={"parent_email": "grace@example.com"}, parent_address="")
    case = services.log_complaint(db_session, settings, item, cast.office).complaint
    db_session.commit()
    mail = db_session.scalars(select(OutboxMessage)).one()
    assert mail.to_address == "grace@example.com"
    assert case.reference in mail.subject
    assert not case.by_post and case.paper_link_sealed is None


def test_a_late_matter_is_flagged_from_the_stated_date(db_session, settings, cast, school):
    item = logged(school, answers={"happened_on": date(2026, 6, 1)})
    case = services.log_complaint(db_session, settings, item, cast.office).complaint
    assert case.is_late


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"stated_on": date(2026, 11, 26)}, "received_on", "today or in the past"),
        ({"stated_on": date(2025, 11, 1)}, "received_on", "Check the year"),
        ({"stated_on": None}, "received_on", "Enter the date"),
        ({"channel": "online"}, "channel", "Select how"),
        ({"parent_address": ""}, "parent_address", "postal address"),
        (
            {"answers": {"happened_on": date(2026, 11, 24)}},
            "happened_on",
            "on or before the date received",
        ),
    ],
)
def test_what_office_typed_is_checked(db_session, settings, cast, school, changes, field, words):
    with pytest.raises(services.ComplaintError) as refused:
        services.log_complaint(db_session, settings, logged(school, **changes), cast.office)
    assert refused.value.field == field and words in refused.value.message


def test_only_those_who_sort_may_log(db_session, settings, cast, school):
    with pytest.raises(services.ComplaintError):
        services.log_complaint(db_session, settings, logged(school), cast.head)


# ---------------------------------------------------------------- the pages


def test_office_logs_a_phone_complaint_and_prints_the_letter_with_the_link(
    client, db_session, settings, cast, school
):
    as_user(client, cast.office)
    queue = client.get("/staff/complaints")
    assert page(queue).select_one("#log-complaint")["href"] == NEW
    sent = post_new(client, form_data(school))
    assert sent.status_code == 303 and sent.headers["location"] == "/staff/complaints/new/done"
    case = only_case(db_session)
    done = client.get("/staff/complaints/new/done")
    assert case.reference in text_of(done)
    assert "12 Orchard Road" in text_of(done)
    pdf = client.get(page(done).select_one("#print-acknowledgement")["href"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert case.reference.encode() in pdf.content
    assert b"/track/" in pdf.content and b"12 Orchard Road" in pdf.content
    shown = client.get(f"/staff/complaints/{case.reference}")
    received = text_of(shown)
    assert "Came by phone, received Monday 23 November 2026 (as the parent said)" in received
    assert "No email: letters go by post" in received
    assert "Print for post" in received
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_handler_prints_later_letters_but_not_the_private_link(
    client, db_session, settings, cast, school
):
    case = services.log_complaint(db_session, settings, logged(school), cast.office).complaint
    db_session.commit()
    as_user(client, cast.chair)
    assert (
        client.get(f"/staff/complaints/{case.reference}/acknowledgement-for-post.pdf").status_code
        == 200
    )
    as_user(client, cast.head)  # sees the case, does not sort it
    shown = client.get(f"/staff/complaints/{case.reference}")
    assert "acknowledgement-for-post" not in shown.text and "Print for post" in shown.text
    refused = client.get(f"/staff/complaints/{case.reference}/acknowledgement-for-post.pdf")
    assert refused.status_code == 403


def test_with_an_email_the_confirmation_says_it_was_emailed(client, db_session, cast, school):
    as_user(client, cast.office)
    post_new(client, form_data(school, parent_email="grace@example.com", parent_address=""))
    done = client.get("/staff/complaints/new/done")
    assert "emailed the reference" in text_of(done) and "grace@example.com" in text_of(done)
    assert page(done).select_one("#print-acknowledgement") is None
    assert db_session.scalars(select(OutboxMessage)).one().to_address == "grace@example.com"


def test_errors_keep_what_was_typed_and_the_scan(client, db_session, cast, school):
    as_user(client, cast.office)
    data = form_data(school, parent_address="", what_happened="x" * 10_001)
    refused = post_new(client, data, files={"scan": ("letter.pdf", PDF_BYTES, "application/pdf")})
    assert refused.status_code == 422
    html = page(refused)
    assert html.select_one("title").text.startswith("Error:")
    summary = text_of(refused)
    assert "postal address" in summary and "10,000 characters or fewer" in summary
    assert html.select_one("#parent_name")["value"] == "Grace Adebayo"
    assert "letter.pdf" in html.select_one("#kept-scan").text
    fixed = {
        name: field.get("value", "")
        for name, field in ((f["name"], f) for f in html.select("input[type=hidden]"))
    }
    again = client.post(NEW, data={**form_data(school), **fixed}, follow_redirects=False)
    assert again.status_code == 303
    case = only_case(db_session)
    files = db_session.scalars(select(Attachment).where(Attachment.complaint_id == case.id)).all()
    assert [file.filename for file in files] == ["letter.pdf"]


def test_a_file_that_is_not_allowed_is_asked_for_again(client, db_session, cast, school):
    as_user(client, cast.office)
    refused = post_new(
        client, form_data(school), files={"scan": ("virus.exe", b"MZ\x90\x00", "application/x")}
    )
    assert refused.status_code == 422
    assert "must be a PDF, JPG, PNG or Word" in text_of(refused)
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"received_on_year": "99999999999999999999"},
        {"received_on_day": "31", "received_on_month": "2"},
        {"parent_name": "\u202egnol" * 100},
        {"parent_phone": "call me\x00"},
        {"about": "everyone", "kind": "rant", "channel": "pigeon"},
        {"category": "x" * 5000},
        {"parent_email": "a@b@c"},
    ],
)
def test_hostile_input_gets_a_clear_message(client, db_session, cast, school, overrides):
    as_user(client, cast.office)
    refused = post_new(client, form_data(school, **overrides))
    assert refused.status_code == 422
    assert page(refused).select(".govuk-error-summary__list li")
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_same_form_sent_twice_makes_one_case(client, db_session, cast, school):
    as_user(client, cast.office)
    form = client.get(NEW)
    fields = {
        "csrf_token": csrf_of(form),
        "form_token": page(form).select_one("input[name=form_token]")["value"],
        **form_data(school),
    }
    first = client.post(NEW, data=fields, follow_redirects=False)
    second = client.post(NEW, data=fields, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert only_case(db_session).reference in text_of(client.get("/staff/complaints/new/done"))


@pytest.mark.committed
def test_the_same_form_sent_at_once_makes_one_case(app, db_session, cast, school):
    form_client = TestClient(app)
    sign_in(form_client, cast.office)
    form = form_client.get(NEW)
    fields = {
        "csrf_token": csrf_of(form),
        "form_token": page(form).select_one("input[name=form_token]")["value"],
        **form_data(school),
    }
    codes: list[int] = []
    start = threading.Barrier(4)

    def send() -> None:
        with TestClient(app) as each:
            each.cookies.update(form_client.cookies)
            start.wait()
            codes.append(each.post(NEW, data=fields, follow_redirects=False).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [303] * 4
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 1
    assert services.rebuild_status_counts(db_session) == {}


def test_office_logging_a_complaint_about_herself_sees_only_the_reference(
    client, db_session, cast, school
):
    as_user(client, cast.office)
    sent = post_new(client, form_data(school, about="staff", about_name="Janet Okafor"))
    assert sent.status_code == 303
    case = only_case(db_session)
    done = client.get("/staff/complaints/new/done")
    words = text_of(done)
    assert case.reference in words and "gone to the head teacher" in words
    assert f"/staff/complaints/{case.reference}" not in done.text
    assert "Orchard Road" not in words
    assert client.get(f"/staff/complaints/{case.reference}").status_code == 404
    pdf = client.get(f"/staff/complaints/{case.reference}/acknowledgement-for-post.pdf")
    assert pdf.status_code == 404
    excluded = db_session.scalars(
        select(CaseExclusion.user_id).where(CaseExclusion.complaint_id == case.id)
    ).all()
    assert cast.office.id in excluded


def test_a_complaint_about_the_head_goes_to_the_chair_and_the_head_never_sees_it(
    client, db_session, cast, school
):
    as_user(client, cast.office)
    post_new(client, form_data(school, about="head"))
    case = only_case(db_session)
    assert case.about == About.head
    assert "gone to the chair of governors" in text_of(client.get("/staff/complaints/new/done"))
    as_user(client, cast.head)
    assert client.get(f"/staff/complaints/{case.reference}").status_code == 404


@pytest.mark.parametrize("role", ["head", "governor"])
def test_who_may_not_log_is_refused(client, db_session, cast, role):
    user = cast.head if role == "head" else cast.governors[0]
    as_user(client, user)
    assert client.get(NEW).status_code == 403


def test_the_chair_and_clerk_may_log(client, db_session, cast, school):
    for user in (cast.chair, cast.clerk):
        as_user(client, user)
        assert client.get(NEW).status_code == 200


def test_a_confirmation_is_only_for_who_logged_it(client, db_session, cast, school):
    as_user(client, cast.office)
    post_new(client, form_data(school))
    cookie = client.cookies.get("portal_logged")
    other = make_user(db_session, "office", name="Sam Other")
    as_user(client, other)
    client.cookies.set("portal_logged", cookie, path="/staff/complaints/new/done")
    assert client.get("/staff/complaints/new/done", follow_redirects=False).status_code == 303


def test_the_clock_moves_the_future_limit(client, db_session, cast, school, clock):
    as_user(client, cast.office)
    tomorrow = services.school_date(db_session) + timedelta(days=1)
    refused = post_new(
        client,
        form_data(
            school,
            received_on_day=str(tomorrow.day),
            received_on_month=str(tomorrow.month),
            received_on_year=str(tomorrow.year),
        ),
    )
    assert refused.status_code == 422 and "today or in the past" in text_of(refused)
