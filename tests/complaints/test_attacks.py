"""The findings of the attack on who-sees-what, each proved on the code as it is now.

Each test names the finding it covers. They failed on the code before the fix: the named office
user opened the case, a linked case about the head got the head's letter, twenty withdrawals at
once produced thirteen, and so on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from portal.accounts.models import Role
from portal.complaints import services
from portal.complaints.models import (
    About,
    CaseExclusion,
    Complaint,
    ComplaintMessage,
    ExclusionReason,
    MessageKind,
    Status,
    StatusCount,
)
from portal.complaints.services import ComplaintError, Triage
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from portal.school.term_dates import running_out, warn_admins
from tests.conftest import csrf_of, text_of
from tests.factories import (
    PDF_BYTES,
    add_file,
    answers,
    letter,
    make_case,
    make_user,
    sign_in,
    submit,
)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


# ---------------------------------------------------------------- 2. the person a parent names


def test_office_user_named_by_the_parent_never_sees_or_sorts_the_case(
    client, db_session, settings, cast
):
    case = submit(db_session, settings, about=About.staff, about_name="Mrs Okafor")
    other = make_case(db_session, settings, cast, "new")
    sign_in(client, cast.office)
    assert client.get(f"/staff/complaints/{case.reference}").status_code == 404
    queue = text_of(client.get("/staff/complaints"))
    assert case.reference not in queue and other.reference in queue
    # Counts follow what the queue lists (finding 13): one new case, not two.
    assert services.status_counts(db_session, cast.office)[Status.new] == 1
    found = client.get(f"/staff/complaints?q={case.reference}")
    assert case.reference not in text_of(found)
    assert (
        client.post(
            f"/staff/complaints/{case.reference}/triage",
            data={"csrf_token": csrf_of(client.get("/staff/complaints"))},
        ).status_code
        == 404
    )
    [row] = services.exclusions_for(db_session, case)
    assert row.user_id == cast.office.id and row.reason == ExclusionReason.named_by_parent


def test_a_chair_named_by_the_parent_cannot_regain_access_by_naming_someone_else(
    db_session, settings, cast
):
    case = submit(db_session, settings, about=About.governor, about_name="Helen Price")
    assert not services.can_see(db_session, cast.chair, case)
    # The clerk sorts it naming another governor: the chair stays out for good.
    services.triage(
        db_session,
        settings,
        case,
        cast.clerk,
        Triage(
            stage=case.stage_enum,
            category=case.category,
            handler_id=cast.clerk.id,
            about_user_id=cast.governors[0].id,
        ),
    )
    db_session.commit()
    assert not services.can_see(db_session, cast.chair, case)
    assert not services.can_see(db_session, cast.governors[0], case)
    assert cast.chair.id not in {u.id for u in services.eligible_handlers(db_session, case)}


def test_a_case_about_the_head_is_kept_from_every_head_from_the_moment_it_arrives(
    db_session, settings, cast
):
    head_and_clerk = make_user(db_session, Role.head, Role.clerk, name="Acting Head")
    case = submit(db_session, settings, about=About.head)
    assert not services.can_see(db_session, head_and_clerk, case)
    assert not services.can_see(db_session, cast.head, case)
    assert services.can_see(db_session, cast.chair, case)


def test_triage_names_only_real_staff_and_not_the_person_sorting(db_session, settings, cast):
    case = submit(db_session, settings, about=About.staff, about_name="")
    decision = Triage(
        stage=case.stage_enum, category=case.category, handler_id=cast.head.id, about_user_id=99999
    )
    with pytest.raises(ComplaintError, match="Select the person"):
        services.triage(db_session, settings, case, cast.office, decision)
    db_session.rollback()
    decision.about_user_id = cast.office.id
    with pytest.raises(ComplaintError, match="about yourself"):
        services.triage(db_session, settings, case, cast.office, decision)


def test_an_unsure_match_is_kept_out_until_someone_else_clears_it(
    client, db_session, settings, cast
):
    second_office = make_user(db_session, Role.office, name="Peter Okafor")
    case = submit(db_session, settings, about=About.staff, about_name="Okafor")
    reasons = {row.user_id: row.reason for row in services.exclusions_for(db_session, case)}
    assert reasons == {
        cast.office.id: ExclusionReason.maybe_named_by_parent,
        second_office.id: ExclusionReason.maybe_named_by_parent,
    }
    third = make_user(db_session, Role.office, name="Rita Third")
    sign_in(client, third)
    page = client.get(f"/staff/complaints/{case.reference}")
    assert "Who the parent may have named" in text_of(page)
    cleared = client.post(
        f"/staff/complaints/{case.reference}/clear-exclusion",
        data={"csrf_token": csrf_of(page), "user_id": str(second_office.id)},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    db_session.expire_all()
    assert services.can_see(db_session, second_office, case)
    assert not services.can_see(db_session, cast.office, case)


# ---------------------------------------------------------------- 4. linking and bulk letters


def test_a_case_about_the_head_cannot_join_a_campaign_the_head_answers(db_session, settings, cast):
    campaign = make_case(db_session, settings, cast, "open")
    about_head = submit(db_session, settings, about=About.head)
    with pytest.raises(ComplaintError, match="answered by someone else"):
        services.link_to_lead(db_session, settings, about_head, campaign, cast.chair)
    db_session.rollback()
    # Even a link made behind the services' back gets no letter from the head.
    about_head.lead_complaint_id = campaign.id
    about_head.status = Status.open
    db_session.add(about_head)
    db_session.commit()
    answered = services.respond(db_session, settings, campaign, cast.head, letter())
    db_session.commit()
    assert about_head.id not in {case.id for case in answered}
    letters = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == about_head.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).all()
    assert letters == []


def test_a_lead_page_says_nothing_of_linked_cases_the_viewer_cannot_see(
    client, db_session, settings, cast
):
    lead = make_case(db_session, settings, cast, "open")
    hidden = submit(db_session, settings, about=About.staff, about_name="David Morgan")
    hidden.lead_complaint_id = lead.id
    db_session.add(hidden)
    db_session.commit()
    sign_in(client, cast.head)
    words = text_of(client.get(f"/staff/complaints/{lead.reference}"))
    assert "you cannot see" not in words
    assert hidden.reference not in words
    assert "leads" not in words


# ---------------------------------------------------------------- 5. races


def _at_once(app, count: int, action: Callable[[Session, Complaint], None], case_id: int):
    """Run `action` from `count` threads at the same moment, each with its own session."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with app.state.sessions() as session:
            # Every thread reads the case as it was, gives its connection back (there are fewer
            # connections than threads), then all act on what they read at the same moment.
            case = session.get(Complaint, case_id)
            session.commit()
            barrier.wait(timeout=60)
            try:
                action(session, case)
                session.commit()
                result = "won"
            except (StaleDataError, ComplaintError, OperationalError):
                session.rollback()
                result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.committed
def test_twenty_withdrawals_at_once_withdraw_once(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    outcomes = _at_once(
        app, 20, lambda s, c: services.withdraw(s, settings, c, "Sorted out at home"), case.id
    )
    assert outcomes.count("won") == 1
    db_session.expire_all()
    withdrawals = db_session.scalar(
        select(func.count())
        .select_from(ComplaintMessage)
        .where(ComplaintMessage.kind == MessageKind.withdrawal)
    )
    emails = db_session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.subject.like("You have withdrawn%"))
    )
    assert (withdrawals, emails) == (1, 1)
    assert services.rebuild_status_counts(db_session) == {}
    counts = {row.status: row.count for row in db_session.scalars(select(StatusCount))}
    assert all(count >= 0 for count in counts.values())


@pytest.mark.committed
def test_fifteen_escalations_at_once_open_one_stage_2(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "responded")
    outcomes = _at_once(
        app,
        15,
        lambda s, c: services.escalate(s, settings, c, "The letter did not answer my question."),
        case.id,
    )
    assert outcomes.count("won") == 1
    db_session.expire_all()
    requests = db_session.scalar(
        select(func.count())
        .select_from(ComplaintMessage)
        .where(ComplaintMessage.kind == MessageKind.escalation_request)
    )
    assert requests == 1
    assert services.rebuild_status_counts(db_session) == {}


def test_a_request_from_a_stale_page_gets_the_calm_already_done_page(
    client, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "new")
    token_holder = services.submit(db_session, settings, answers())
    db_session.commit()
    token = token_holder.access_token
    form = client.get(f"/track/{token}/withdraw")
    # Someone else changes the case between this page loading and the form being sent.
    with client.app.state.sessions() as other:
        stale = other.get(Complaint, token_holder.complaint.id)
        services.withdraw(other, settings, stale, "From another tab")
        other.commit()
    again = client.post(
        f"/track/{token}/withdraw", data={"csrf_token": csrf_of(form), "reason": "Twice"}
    )
    assert again.status_code in (409, 422)
    assert "Internal Server Error" not in again.text
    assert case.status == Status.new


def test_rebuild_counts_repairs_a_counter_that_drifted(db_session, settings, cast):
    make_case(db_session, settings, cast, "open")
    row = db_session.get(StatusCount, "open:school")
    row.count = 41
    db_session.add(row)
    db_session.commit()
    assert services.rebuild_status_counts(db_session) == {"open:school": (41, 1)}
    db_session.commit()
    assert db_session.get(StatusCount, "open:school").count == 1


# ---------------------------------------------------------------- 10. replies


def test_replies_have_a_size_and_daily_limit_and_keep_what_was_typed(
    client, db_session, settings, cast
):
    received = services.submit(db_session, settings, answers())
    db_session.commit()
    token = received.access_token
    page = client.get(f"/track/{token}")
    too_long = "x" * (services.REPLY_TEXT_LIMIT + 1)
    refused = client.post(
        f"/track/{token}/reply",
        data={"csrf_token": csrf_of(page), "body": too_long},
        files={"attachment": ("note.pdf", PDF_BYTES, "application/pdf")},
    )
    assert refused.status_code == 422
    assert "10,000 characters or fewer" in text_of(refused)
    assert too_long in refused.text
    stored = (
        list(Path(settings.attachments_dir).rglob("*")) if settings.attachments_dir.exists() else []
    )
    assert [path for path in stored if path.is_file()] == []

    settings.replies_per_case_per_day = 2
    for number in range(2):
        sent = client.post(
            f"/track/{token}/reply",
            data={"csrf_token": csrf_of(page), "body": f"Reply number {number}"},
            follow_redirects=False,
        )
        assert sent.status_code == 303
    third = client.post(
        f"/track/{token}/reply", data={"csrf_token": csrf_of(page), "body": "One more thing"}
    )
    assert third.status_code == 422
    assert "We have kept what you wrote" in text_of(third)
    assert "One more thing" in third.text


# ---------------------------------------------------------------- 12. reads are views


def test_staff_downloads_are_recorded_as_views_of_the_case(client, db_session, settings, cast):
    case = make_case(
        db_session, settings, cast, "responded", attachment_ids=[add_file(db_session, settings)]
    )
    attachment_id = services.attachments_for(db_session, case)[0].id
    letter_id = next(
        m.id
        for m in services.messages_for(db_session, case, for_parent=False)
        if m.kind == MessageKind.stage1_letter
    )
    sign_in(client, cast.head)
    assert (
        client.get(f"/staff/complaints/{case.reference}/attachments/{attachment_id}").status_code
        == 200
    )
    assert (
        client.get(f"/staff/complaints/{case.reference}/letters/{letter_id}.pdf").status_code == 200
    )
    reads = [
        event.details.get("read")
        for event in db_session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:view"
            )
        )
    ]
    assert "attachment: evidence.pdf" in reads
    assert f"letter {letter_id} (PDF)" in reads


# ---------------------------------------------------------------- the term dates run out


def test_when_the_term_dates_run_out_a_parent_is_still_received_and_admins_are_warned(
    client, db_session, settings, clock
):
    admin = make_user(db_session, Role.admin, name="Ada Admin")
    clock.set(datetime(2028, 7, 20, 10, 0))  # the test term dates end on 21 July 2028
    case = submit(db_session, settings)
    assert case.status == Status.new
    assert case.next_deadline is None and case.deadline_kind == "acknowledge"
    [email] = db_session.scalars(select(OutboxMessage)).all()
    assert "within 5 school days" in email.body_text

    warning = running_out(db_session, settings)
    assert warning is not None and "21 July 2028" in warning.text
    assert warn_admins(db_session, settings) == 1
    db_session.commit()
    assert warn_admins(db_session, settings) == 0  # once per set of dates
    sign_in(client, admin)
    assert "The term dates run out on Friday 21 July 2028" in text_of(client.get("/staff"))

    clock.set(datetime(2028, 8, 5, 10, 0))  # the summer holiday, beyond every known date
    late = submit(db_session, settings)
    assert late.received_on.isoformat() == "2028-08-05" and late.next_deadline is None
    office = make_user(db_session, Role.office, name="Owen Office")
    sign_in(client, office)
    staff_page = text_of(client.get(f"/staff/complaints/{late.reference}"))
    assert "Not set yet" in staff_page


def test_six_weeks_ahead_there_is_no_warning(db_session, settings, clock):
    clock.set(datetime(2028, 6, 1, 10, 0))
    assert running_out(db_session, settings) is None
    assert db_session.scalar(select(func.count()).select_from(CaseExclusion)) == 0


# ---------------------------------------------------------------- 1. the outbox


def test_the_admin_outbox_shows_no_private_link_and_no_case_it_may_not_see(
    client, db_session, settings, cast
):
    received = services.submit(db_session, settings, answers(about=About.head))
    db_session.commit()
    admin = make_user(db_session, Role.admin, name="Ada Admin")
    sign_in(client, admin)
    listing = client.get("/staff/outbox")
    assert received.access_token not in listing.text
    [message] = db_session.scalars(select(OutboxMessage)).all()
    opened = client.get(f"/staff/outbox/{message.id}")
    assert opened.status_code == 200
    assert received.access_token not in opened.text
    assert "/track/" not in opened.text
    assert "its words are not shown here" in text_of(opened)
    assert received.complaint.what_happened not in opened.text


# ---------------------------------------------------------------- 8. one address


def test_a_list_of_addresses_is_refused_with_a_clear_message(db_session, settings):
    for typed in ["a@example.com, b@example.org", "a@example.com;b@example.org", "a@x.com b@y.com"]:
        with pytest.raises(ComplaintError, match="Enter one email address"):
            services.submit(db_session, settings, answers(parent_email=typed))
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 0


@pytest.mark.committed
def test_a_panel_recorded_twice_at_once_is_recorded_once(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "stage2")
    members = [g.id for g in cast.governors]

    def record(session, complaint):
        services.record_panel(
            session,
            complaint,
            session.get(type(cast.clerk), cast.clerk.id),
            hearing_on=datetime(2027, 1, 12).date(),
            member_ids=members,
            papers="The complaint and the stage 1 letter.",
            hearing_notes="",
        )

    outcomes = _at_once(app, 8, record, case.id)
    assert outcomes.count("won") == 1
    from portal.complaints.models import Panel

    assert db_session.scalar(select(func.count()).select_from(Panel)) == 1
