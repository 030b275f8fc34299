"""The staff side of the Complaints Procedure through HTTP: queue, case page, every action."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.complaints import services
from portal.complaints.models import (
    About,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Panel,
    PersistentComplainant,
    Stage,
    Status,
)
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.conftest import csrf_of, page, text_of
from tests.factories import PDF_BYTES, add_closures, add_file, make_case, sign_in

QUEUE = "/staff/complaints"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


def as_user(client, user):
    client.cookies.clear()
    sign_in(client, user)


def case_url(case: Complaint, action: str = "") -> str:
    return f"{QUEUE}/{case.reference}" + (f"/{action}" if action else "")


def act(client, case: Complaint, action: str, data: dict):
    """Send one of the case page's forms the way a browser does."""
    token = csrf_of(client.get(case_url(case)))
    return client.post(
        case_url(case, action), data={**data, "csrf_token": token}, follow_redirects=False
    )


def send_letter(client, case: Complaint, action: str, letter: dict):
    """Write the letter, preview it and send it, as the handler does on the pages: the answer of
    the first step that refuses (422 with the case page), else the send's redirect."""
    shown = page(client.get(case_url(case)))
    version = shown.select_one("input[name=draft_version]")
    token = csrf_of(client.get(case_url(case)))
    previewed = client.post(
        case_url(case, "letter"),
        data={
            **letter,
            "intent": "preview",
            "draft_version": version["value"] if version else "",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    if previewed.status_code != 303:
        return previewed
    preview = client.get(previewed.headers["location"])
    assert preview.status_code == 200, preview.text
    form = page(preview).select_one(f"form[action$='/{action}']")
    return client.post(
        form["action"],
        data={
            "draft_version": form.select_one("input[name=draft_version]")["value"],
            "csrf_token": token,
        },
        follow_redirects=False,
    )


def use_paragraph(client, case: Complaint, key: str, typed: dict | None = None):
    """Press "Use this" on a suggested paragraph; the case page it leads back to."""
    token = csrf_of(client.get(case_url(case)))
    used = client.post(
        case_url(case, "letter"),
        data={**(typed or {}), "intent": f"use:{key}", "csrf_token": token},
        follow_redirects=False,
    )
    assert used.status_code == 303, used.text
    return client.get(used.headers["location"])


def queue_references(response) -> list[str]:
    return [
        row["data-reference"] for row in page(response).select("#queue tbody tr[data-reference]")
    ]


def reload(db_session, case: Complaint) -> Complaint:
    db_session.expire_all()
    return db_session.get(Complaint, case.id)


def outbox_subjects(db_session) -> list[str]:
    return list(db_session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))


# ---------------------------------------------------------------- the queue


def test_queue_is_sorted_by_next_deadline_and_marks_overdue_cases(
    client, db_session, settings, cast
):
    recent = make_case(db_session, settings, cast, "new", now=datetime(2026, 11, 24, 10))
    oldest = make_case(db_session, settings, cast, "open", now=datetime(2026, 10, 5, 10))
    middle = make_case(db_session, settings, cast, "new", now=datetime(2026, 11, 10, 10))
    closed = make_case(db_session, settings, cast, "new")
    services.withdraw(db_session, settings, closed, "Sorted out at the school gate.")
    db_session.commit()
    as_user(client, cast.office)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert page(response).select_one("h1").text == "Complaints"
    assert queue_references(response) == [oldest.reference, middle.reference, recent.reference]
    rows = {row["data-reference"]: row for row in page(response).select("#queue tbody tr")}
    overdue_row = rows[oldest.reference]
    assert "Overdue" in overdue_row.select_one(".govuk-tag--red").text
    assert "Response due" in overdue_row.text
    assert "David Morgan" in overdue_row.text
    assert "Sort and acknowledge by" in rows[recent.reference].text
    assert rows[recent.reference].select_one(".govuk-tag--red") is None
    assert "Alex Parent" in rows[recent.reference].text


def test_queue_shows_flags_and_anonymous_parents(client, db_session, settings, cast):
    late = make_case(
        db_session, settings, cast, "new", happened_on=date(2026, 5, 1), parent_name="Late Parent"
    )
    hidden = make_case(
        db_session, settings, cast, "new", anonymous=True, parent_name="", parent_email=""
    )
    as_user(client, cast.office)

    rows = {r["data-reference"]: r for r in page(client.get(QUEUE)).select("#queue tbody tr")}

    assert "Late" in [tag.text.strip() for tag in rows[late.reference].select(".govuk-tag")]
    assert "Anonymous" in rows[hidden.reference].select("td")[0].text
    assert "Anonymous" in [tag.text.strip() for tag in rows[hidden.reference].select(".govuk-tag")]


def test_queue_counts_cases_per_status(client, db_session, settings, cast):
    for _ in range(2):
        make_case(db_session, settings, cast, "new")
    make_case(db_session, settings, cast, "open")
    make_case(db_session, settings, cast, "new", about=About.head)
    as_user(client, cast.office)

    counts = page(client.get(QUEUE)).select_one("#status-counts").get_text(" ")

    assert "New: waiting to be sorted: 2" in " ".join(counts.split())
    assert "Being looked into: 1" in " ".join(counts.split())


def test_queue_filters(client, db_session, settings, cast):
    new = make_case(db_session, settings, cast, "new", category="Uniform and equipment")
    concern = make_case(db_session, settings, cast, "open", stage=Stage.concern)
    overdue = make_case(db_session, settings, cast, "open", now=datetime(2026, 10, 5, 10))
    anonymous = make_case(
        db_session, settings, cast, "new", anonymous=True, parent_name="", parent_email=""
    )
    closed = make_case(db_session, settings, cast, "new")
    services.withdraw(db_session, settings, closed, "No longer needed.")
    db_session.commit()
    governor_case = make_case(db_session, settings, cast, "open", about=About.governor)
    as_user(client, cast.chair)

    def refs(query: str) -> set[str]:
        return set(queue_references(client.get(f"{QUEUE}?{query}")))

    assert refs("status=new") == {new.reference, anonymous.reference}
    assert refs("stage=concern") == {concern.reference}
    assert refs("category=Uniform+and+equipment") == {new.reference}
    assert refs(f"handler={cast.clerk.id}") == {governor_case.reference}
    assert refs("overdue=1") == {overdue.reference}
    assert refs("anonymous=1") == {anonymous.reference}
    assert closed.reference not in refs("")
    assert closed.reference in refs("closed=1")
    filtered = page(client.get(f"{QUEUE}?stage=concern&overdue=1"))
    assert filtered.select_one("#stage option[selected]")["value"] == "concern"
    assert filtered.select_one("#overdue").has_attr("checked")


def test_queue_search(client, db_session, settings, cast):
    target = make_case(
        db_session,
        settings,
        cast,
        "new",
        parent_name="Morgan Evans",
        parent_email="Morgan.Evans@example.com",
        what_happened="The school minibus left without my daughter after the swimming gala.",
    )
    other = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)

    for query in (
        target.reference,
        target.reference.lower().replace("-", ""),
        "morgan.evans@example.com",
        "Morgan Evans",
        "minibus",
    ):
        found = queue_references(client.get(QUEUE, params={"q": query}))
        assert found == [target.reference], query
    assert other.reference in queue_references(client.get(QUEUE, params={"q": "playground"}))


def test_queue_pages_with_a_cursor_and_keeps_filters(client, db_session, settings, cast):
    start = datetime(2026, 11, 2, 10)
    made = [
        make_case(db_session, settings, cast, "new", now=start + timedelta(days=n % 20))
        for n in range(27)
    ]
    make_case(db_session, settings, cast, "new", category="Food and lunchtimes")
    as_user(client, cast.office)

    first = client.get(QUEUE, params={"category": "Behaviour and bullying"})
    first_refs = queue_references(first)
    link = page(first).select_one("a[rel=next]")
    assert link.text.strip() == "Next page"
    assert "after=" in link["href"] and "category=Behaviour+and+bullying" in link["href"]
    second = client.get(link["href"])
    second_refs = queue_references(second)

    assert len(first_refs) == 25 and len(second_refs) == 2
    assert not set(first_refs) & set(second_refs)
    assert set(first_refs) | set(second_refs) == {case.reference for case in made}
    assert page(second).select_one("a[rel=next]") is None
    deadlines = [
        db_session.scalars(select(Complaint.queue_date).where(Complaint.reference == r)).one()
        for r in first_refs + second_refs
    ]
    assert deadlines == sorted(deadlines)


def test_only_complaint_roles_open_the_queue(client, db_session, cast):
    from portal.accounts.models import Role
    from tests.factories import make_user

    as_user(client, make_user(db_session, Role.admin))
    assert client.get(QUEUE).status_code == 403
    as_user(client, cast.governors[0])
    assert client.get(QUEUE).status_code == 200


# ---------------------------------------------------------------- the case page


def test_case_page_shows_the_answers_and_records_each_view(client, db_session, settings, cast):
    file_id = add_file(db_session, settings, "timeline.pdf")
    case = make_case(
        db_session,
        settings,
        cast,
        "open",
        happened_on=date(2026, 11, 16),
        child_name="Sam Parent",
        attachment_ids=[file_id],
    )
    as_user(client, cast.head)

    response = client.get(case_url(case))
    client.get(case_url(case))

    assert response.status_code == 200
    html = page(response)
    assert html.select_one("h1").text == f"Case {case.reference}"
    assert html.select_one("title").text.startswith(f"Case {case.reference} –")
    answers = " ".join(html.select_one("#parent-answers").get_text(" ").split())
    for expected in (
        "A formal complaint",
        "The school in general",
        "Behaviour and bullying",
        "pushed over in the playground",
        "Monday 16 November 2026",
        "I spoke to his class teacher",
        "make sure it stops",
        "alex.parent@example.com",
        "07700 900123",
        "Sam Parent",
    ):
        assert expected in answers, expected
    views = db_session.scalar(
        select(func.count())
        .select_from(HistoryEvent)
        .where(HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:view")
    )
    assert views == 2
    history = " ".join(html.select_one("#history").get_text(" ").split())
    assert "David Morgan Opened the case" in history
    assert "Sorted as Stage 1 complaint" in history
    link = html.select_one("#attachments a")
    assert link.text == "timeline.pdf"
    download = client.get(link["href"])
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert download.headers["content-disposition"].startswith("attachment")


def test_case_page_explains_the_deadline(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open", now=datetime(2026, 10, 20, 10))
    as_user(client, cast.office)

    html = page(client.get(case_url(case)))

    due = " ".join(html.select_one("#deadline-due").get_text(" ").split())
    assert due.startswith("Response due")
    assert "(overdue)" in due
    explanation = html.select_one("#deadline-explanation").text
    assert "Received and counted from Tuesday 20 October 2026" in explanation
    assert "10 school days later" in explanation
    assert "weekdays in the school holidays" in explanation


def test_anonymous_and_late_cases_show_their_flags_and_decisions(
    client, db_session, settings, cast
):
    case = make_case(
        db_session,
        settings,
        cast,
        "open",
        anonymous=True,
        parent_name="",
        parent_email="",
        happened_on=date(2026, 6, 1),
    )
    as_user(client, cast.office)

    html = page(client.get(case_url(case)))

    flags = " ".join(html.select_one("#case-flags").get_text(" ").split())
    assert "Late Raised more than 3 months after it happened. Decision: look into it" in flags
    assert "Anonymous The parent did not give their name. Decision: look into it" in flags
    assert html.select_one("#contact").text.strip() == "Anonymous"


def test_unknown_or_hidden_cases_are_not_found(client, db_session, settings, cast):
    hidden = make_case(db_session, settings, cast, "open", about=About.head)
    as_user(client, cast.office)

    assert client.get(f"{QUEUE}/C-2222-222").status_code == 404
    assert client.get(case_url(hidden)).status_code == 404
    assert hidden.reference not in queue_references(client.get(QUEUE))


def test_deadline_moves_when_term_dates_change(app, client, db_session, settings, cast, tmp_path):
    case = make_case(db_session, settings, cast, "open")
    before = case.next_deadline
    closure = before - timedelta(days=1)
    while closure.weekday() >= 5:
        closure -= timedelta(days=1)
    add_closures(app, closure)
    as_user(client, cast.office)

    html = page(client.get(case_url(case)))

    warning = " ".join(html.select_one(".govuk-warning-text").get_text(" ").split())
    moved_to = reload(db_session, case).next_deadline
    assert moved_to > before
    assert (
        f"This deadline moved from {services.format_date(before)} to "
        f"{services.format_date(moved_to)} because term dates or bank holidays changed"
    ) in warning
    assert "school closure day" in html.select_one("#deadline-explanation").text
    assert reload(db_session, case).queue_date == moved_to
    events = db_session.scalars(
        select(HistoryEvent.tag).where(HistoryEvent.subject_id == str(case.id))
    ).all()
    assert "complaint:deadline:moved" in events
    again = page(client.get(case_url(case)))
    assert again.select_one(".govuk-warning-text") is None


# ---------------------------------------------------------------- sorting a case


def test_office_sorts_a_new_case(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)
    form = page(client.get(case_url(case)))
    assert "A case about the school in general goes to the head teacher" in form.text
    handler_options = [o.text for o in form.select("#handler_id option") if o["value"]]
    assert handler_options == ["David Morgan"]

    response = act(
        client,
        case,
        "triage",
        {
            "stage": "concern",
            "category": "Teaching and learning",
            "handler_id": str(cast.head.id),
            "triage_notes": "Looks informal.",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{case_url(case)}?done=triage"
    case = reload(db_session, case)
    assert (case.status, case.stage, case.handler_user_id) == ("open", "concern", cast.head.id)
    banner = page(client.get(response.headers["location"])).select_one(
        ".govuk-notification-banner--success"
    )
    assert "Case sorted" in banner.text
    subjects = outbox_subjects(db_session)
    assert f"Case {case.reference} has been given to you" in subjects
    assert f"Your concern {case.reference} is being looked into" in subjects


def test_sorting_errors_keep_what_was_chosen(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new", happened_on=date(2026, 4, 1))
    as_user(client, cast.office)

    response = act(
        client,
        case,
        "triage",
        {
            "stage": "stage1",
            "category": "Food and lunchtimes",
            "handler_id": str(cast.head.id),
            "triage_notes": "Keep this note",
        },
    )

    assert response.status_code == 422
    html = page(response)
    assert html.select_one("title").text.startswith("Error: ")
    assert html.select_one(".govuk-error-summary a")["href"] == "#late_decision"
    assert html.select_one("#late_decision") is not None
    assert html.select_one("#category option[selected]")["value"] == "Food and lunchtimes"
    assert html.select_one("#stage-2").has_attr("checked")
    assert html.select_one("#triage_notes").text == "Keep this note"
    assert reload(db_session, case).status == "new"


def test_handler_must_follow_the_routing_rule(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new", about=About.head)
    as_user(client, cast.chair)

    response = act(
        client,
        case,
        "triage",
        {"stage": "stage1", "category": "Behaviour and bullying", "handler_id": str(cast.head.id)},
    )

    assert response.status_code == 422
    assert "must go to the chair of governors" in text_of(response)
    assert page(response).select_one(".govuk-error-summary a")["href"] == "#handler_id"


def test_office_redirects_an_out_of_scope_case(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)

    response = act(
        client,
        case,
        "redirect",
        {"procedure": "admissions", "redirect_reason": "This is about a place for next year."},
    )

    assert response.status_code == 303
    case = reload(db_session, case)
    assert case.status == "redirected"
    assert case.redirect_to == "School admissions"
    shown = page(client.get(response.headers["location"]))
    assert "This is about a place for next year." in shown.select_one("#messages").text
    assert f"Your complaint {case.reference}: a different procedure" in outbox_subjects(db_session)


def test_redirect_needs_a_reason(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "new")
    as_user(client, cast.office)

    response = act(client, case, "redirect", {"procedure": "send", "redirect_reason": ""})

    assert response.status_code == 422
    html = page(response)
    assert html.select_one(".govuk-error-summary a")["href"] == "#redirect_reason"
    assert html.select_one("#procedure-3").has_attr("checked")


def test_linking_and_answering_a_lead_case(client, db_session, settings, cast):
    lead = make_case(db_session, settings, cast, "open")
    follower = make_case(db_session, settings, cast, "open", parent_email="b@example.com")
    as_user(client, cast.office)

    missing = act(client, follower, "link", {"lead_reference": "C-2222-222"})
    assert missing.status_code == 422
    assert page(missing).select_one("#lead_reference")["value"] == "C-2222-222"
    linked = act(client, follower, "link", {"lead_reference": lead.reference.lower()})
    assert linked.status_code == 303
    assert reload(db_session, follower).lead_complaint_id == lead.id

    as_user(client, cast.head)
    lead_page = page(client.get(case_url(lead)))
    assert "1 linked case will get the same letter." in lead_page.text
    assert follower.reference in lead_page.select_one("#case-flags").text
    response = send_letter(
        client,
        lead,
        "respond",
        {
            "outcome": "partly_upheld",
            "investigated": "We looked at the lunchtime records for that week.",
            "decision": "Lunch portions were too small. That has been put right.",
            "actions": "",
        },
    )
    assert response.status_code == 303
    for case in (lead, follower):
        assert reload(db_session, case).status == "responded"
    letters = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.kind == MessageKind.stage1_letter)
    ).all()
    assert {letter.complaint_id for letter in letters} == {lead.id, follower.id}


# ---------------------------------------------------------------- answering a case


def test_handler_sends_the_stage_1_response(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    response = send_letter(
        client,
        case,
        "respond",
        {
            "outcome": "upheld",
            "investigated": "We spoke to the staff on duty that day.",
            "decision": "You are right: we should have phoned you.",
            "actions": "We will phone parents the same day.",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=respond")
    shown = page(client.get(response.headers["location"]))
    letter = next(
        card
        for card in shown.select("#messages .school-card")
        if "Response letter" in card.select_one("h3").text
    )
    body = letter.select_one(".school-pre").text
    assert "Outcome: Upheld." in body
    assert "\n\nWhat we looked into\nWe spoke to the staff on duty that day." in body
    pdf = letter.select_one("a[href$='.pdf']")["href"]
    assert pdf.startswith(f"{case_url(case)}/letters/")
    assert reload(db_session, case).status == "responded"
    assert f"Our response to your complaint {case.reference}" in outbox_subjects(db_session)


def test_response_errors_keep_the_letter(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    response = send_letter(
        client,
        case,
        "respond",
        {"outcome": "not_upheld", "investigated": "Too short", "decision": "A long decision."},
    )

    assert response.status_code == 422
    html = page(response)
    assert html.select_one(".govuk-error-summary a")["href"] == "#investigated"
    assert html.select_one("#investigated").text == "Too short"
    assert html.select_one("#decision").text == "A long decision."
    assert html.select_one("#outcome-3").has_attr("checked")
    no_outcome = send_letter(
        client, case, "respond", {"investigated": "x" * 20, "decision": "y" * 20}
    )
    assert page(no_outcome).select_one(".govuk-error-summary a")["href"] == "#outcome"


def test_response_templates_are_filled_in_for_the_case(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open", parent_name="Jo Bloggs")
    as_user(client, cast.head)

    html = page(client.get(case_url(case)))
    suggested = html.select_one("[data-template=thanks]").text
    filled = page(use_paragraph(client, case, "thanks"))

    assert "Jo Bloggs" in suggested
    assert case.reference in suggested
    assert services.format_date(case.received_on) in suggested
    assert "{" not in html.select_one("#suggested-paragraphs").text
    assert filled.select_one("#investigated").text == suggested


def test_handler_gives_a_new_date(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    later = case.next_deadline + timedelta(days=14)
    as_user(client, cast.head)

    bad = act(
        client,
        case,
        "update",
        {
            "new_date_day": "31",
            "new_date_month": "2",
            "new_date_year": "2027",
            "update_reason": "Staff are away on a trip.",
        },
    )
    assert bad.status_code == 422
    html = page(bad)
    assert html.select_one(".govuk-error-summary").text.count("Enter a real date") == 1
    assert html.select_one(".govuk-error-summary a")["href"] == "#new_date_day"
    assert html.select_one("#new_date_day")["value"] == "31"
    assert html.select_one("#update_reason").text == "Staff are away on a trip."

    good = act(
        client,
        case,
        "update",
        {
            "new_date_day": str(later.day),
            "new_date_month": str(later.month),
            "new_date_year": str(later.year),
            "update_reason": "Staff are away on a trip.",
        },
    )
    assert good.status_code == 303
    assert reload(db_session, case).next_deadline == later
    shown = page(client.get(case_url(case)))
    assert (
        "The handler extended this deadline"
        in shown.select_one("#deadline").find_next("p", string=lambda s: s and "extended" in s).text
    )
    assert f"A new date for your complaint {case.reference}" in outbox_subjects(db_session)


def test_messages_and_internal_notes(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    sent = act(client, case, "message", {"message_body": "Can you come in on Friday?"})
    noted = act(client, case, "note", {"note": "Parent sounded upset on the phone."})
    empty = act(client, case, "note", {"note": ""})

    assert sent.status_code == 303 and noted.status_code == 303
    assert empty.status_code == 422
    assert page(empty).select_one(".govuk-error-summary a")["href"] == "#note"
    cards = page(client.get(case_url(case))).select("#messages .school-card")
    texts = [" ".join(card.get_text(" ").split()) for card in cards]
    note = next(text for text in texts if "Parent sounded upset" in text)
    message = next(text for text in texts if "Can you come in on Friday?" in text)
    assert "Internal note – the parent cannot see this" in note
    assert "Internal note" not in message
    subjects = outbox_subjects(db_session)
    assert subjects.count(f"A message about your complaint {case.reference}") == 1
    parent_view = services.messages_for(db_session, case, for_parent=True)
    assert [m.body for m in parent_view if "upset" in m.body] == []


# ---------------------------------------------------------------- stage 2


def test_clerk_records_the_panel_and_sends_its_outcome(client, db_session, settings, cast, clock):
    case = make_case(db_session, settings, cast, "stage2")
    as_user(client, cast.clerk)
    html = page(client.get(case_url(case)))
    candidates = [o.text for o in html.select("#member_1 option") if o["value"]]
    assert candidates == ["Aisha Rahman", "Helen Price", "Mark Ellis", "Sarah Lee"]
    assert "Record the panel first" in html.text

    same_twice = act(
        client,
        case,
        "panel",
        {
            "hearing_on_day": "12",
            "hearing_on_month": "1",
            "hearing_on_year": "2027",
            "member_1": str(cast.governors[0].id),
            "member_2": str(cast.governors[0].id),
            "member_3": str(cast.governors[1].id),
            "papers": "Stage 1 letter",
        },
    )
    assert same_twice.status_code == 422
    assert page(same_twice).select_one(".govuk-error-summary a")["href"] == "#member_1"
    assert page(same_twice).select_one("#papers").text == "Stage 1 letter"

    recorded = act(
        client,
        case,
        "panel",
        {
            "hearing_on_day": "12",
            "hearing_on_month": "1",
            "hearing_on_year": "2027",
            "member_1": str(cast.governors[0].id),
            "member_2": str(cast.governors[1].id),
            "member_3": str(cast.governors[2].id),
            "papers": "Stage 1 letter",
            "hearing_notes": "",
        },
    )
    assert recorded.status_code == 303
    panel = db_session.scalars(select(Panel).where(Panel.complaint_id == case.id)).one()
    assert panel.hearing_on == date(2027, 1, 12)
    panel_text = page(client.get(case_url(case))).select_one("#panel").get_text(" ")
    assert "Tuesday 12 January 2027" in panel_text and "Sarah Lee" in panel_text

    letter_form = {
        "outcome": "not_upheld",
        "investigated": "The panel read the papers and heard from both sides.",
        "decision": "The school followed its policy.",
        "actions": "",
    }
    too_early = send_letter(client, case, "outcome", letter_form)
    assert too_early.status_code == 422
    assert "The panel meets on Tuesday 12 January 2027" in text_of(too_early)
    clock.set(datetime(2027, 1, 12, 19, 30))  # the evening of the hearing
    as_user(client, cast.clerk)  # weeks later: a new sign-in
    outcome = send_letter(
        client,
        case,
        "outcome",
        {
            "outcome": "not_upheld",
            "investigated": "The panel read the papers and heard from both sides.",
            "decision": "The school followed its policy.",
            "actions": "",
        },
    )
    assert outcome.status_code == 303
    case = reload(db_session, case)
    assert (case.status, case.outcome) == ("closed", "not_upheld")
    letter = page(client.get(case_url(case))).select("#messages .school-card")[-1]
    assert "This is the end of the school's complaints procedure" in letter.text
    assert f"The governors' panel outcome for {case.reference}" in outbox_subjects(db_session)


def test_panel_date_must_be_real(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "stage2")
    as_user(client, cast.clerk)

    response = act(
        client,
        case,
        "panel",
        {"hearing_on_day": "x", "hearing_on_month": "1", "hearing_on_year": "2027"},
    )

    assert response.status_code == 422
    assert page(response).select_one(".govuk-error-summary a")["href"] == "#hearing_on_day"
    assert "Enter a real date" in page(response).select_one("#hearing_on").parent.text


# ---------------------------------------------------------------- persistent complainants


def test_head_marks_a_persistent_complainant_and_office_closes_the_next_case(
    client, db_session, settings, cast
):
    first = make_case(db_session, settings, cast, "responded")
    as_user(client, cast.head)
    short = act(client, first, "persistent", {"persistent_reason": "Too"})
    assert short.status_code == 422
    assert page(short).select_one("#persistent_reason").text == "Too"

    marked = act(
        client,
        first,
        "persistent",
        {"persistent_reason": "Twelve emails on the same matter after the stage 2 letter."},
    )

    assert marked.status_code == 303
    assert db_session.scalar(select(func.count()).select_from(PersistentComplainant)) == 1
    assert reload(db_session, first).status == "closed"
    again = make_case(db_session, settings, cast, "new")
    assert again.persistent_matter and again.lead_complaint_id == first.id
    as_user(client, cast.office)
    html = page(client.get(case_url(again)))
    assert "Persistent" in html.select_one("#case-flags").text
    assert first.reference in html.select_one("#case-flags").text
    closed = act(client, again, "close-same-matter", {})
    assert closed.status_code == 303
    again = reload(db_session, again)
    assert again.status == "closed"


def test_office_cannot_mark_persistent(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.office)
    assert page(client.get(case_url(case))).select_one("#persistent_reason") is None

    response = act(client, case, "persistent", {"persistent_reason": "x" * 30})

    assert response.status_code == 403
    assert reload(db_session, case).persistent_matter is False


# ---------------------------------------------------------------- only the right forms


def test_each_person_sees_only_the_forms_they_may_use(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")

    def forms_for(user) -> set[str]:
        as_user(client, user)
        html = page(client.get(case_url(case)))
        return {form["action"].rsplit("/", 1)[-1] for form in html.select("main form")}

    assert forms_for(cast.office) == {"triage", "redirect", "link", "message", "note"}
    assert forms_for(cast.head) == {"link", "letter", "update", "message", "note", "persistent"}
    assert forms_for(cast.clerk) == {"triage", "redirect", "link", "message", "note"}


@pytest.mark.skipif(
    importlib.util.find_spec("portal.complaints.letters") is None,
    reason="portal/complaints/letters.py (the PDF renderer) is not written yet",
)
def test_letters_download_as_pdf(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "responded")
    letter = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).one()
    note = services.add_note(db_session, case, cast.head, "Not a letter")
    db_session.commit()
    as_user(client, cast.head)

    response = client.get(f"{case_url(case)}/letters/{letter.id}.pdf")
    not_a_letter = client.get(f"{case_url(case)}/letters/{note.id}.pdf")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert not_a_letter.status_code == 404


def test_a_file_from_another_case_is_not_served(client, db_session, settings, cast):
    file_id = add_file(db_session, settings)
    with_file = make_case(db_session, settings, cast, "open", attachment_ids=[file_id])
    other = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    assert client.get(f"{case_url(with_file)}/attachments/{file_id}").status_code == 200
    assert client.get(f"{case_url(other)}/attachments/{file_id}").status_code == 404
    assert client.get(f"{case_url(other)}/attachments/999999").status_code == 404


def test_stage_2_case_is_handled_by_the_clerk_not_the_head(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "stage2")
    assert case.stage == Stage.stage2 and case.status == Status.open
    as_user(client, cast.head)

    response = send_letter(client, case, "outcome", {"outcome": "upheld"})

    assert response.status_code == 403


def test_the_schools_own_letter_paragraphs_are_offered_and_used(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    html = page(client.get(case_url(case)))
    offered = html.select_one("[data-template=school-1]").text
    filled = page(use_paragraph(client, case, "school-1"))

    assert offered.startswith("If it would help to talk this through")
    assert "Meeting offered" in html.select_one("#suggested-paragraphs").text
    assert filled.select_one("#actions").text == offered
