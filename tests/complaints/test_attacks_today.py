"""An attacker's review of issue 8's code (letter drafts, delegation, logged complaints, panel
papers and bundle, email replies). Each test is a hole found in that review: it failed on the
code as it landed, and passes with the fix. The finding is in each test's docstring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.complaints import services
from portal.complaints.models import About, Complaint, Stage
from portal.complaints.services import ComplaintError
from portal.mail import OutboxMessage
from tests.factories import letter, make_case, make_user, submit


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


@pytest.fixture
def deputy(db_session):
    return make_user(db_session, Role.senior_leader, name="Daniel Mensah")


def _reload(db_session, case: Complaint) -> Complaint:
    db_session.expire_all()
    return db_session.get(Complaint, case.id)


def _mail_to(db_session, person) -> list[OutboxMessage]:
    return list(
        db_session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == person.email))
    )


# ---------------------------------------------------------------- delegation


def test_a_delegate_named_when_the_case_is_sorted_again_loses_it_and_hears_nothing(
    client, db_session, settings, cast, deputy, clock
):
    """The head gives a case to the deputy; office then sorts it again and records that it is
    about the deputy (same handler). The deputy stayed the delegate: the parent's replies, the
    reminders and the withdrawal were emailed to the person the complaint is about."""
    case = make_case(db_session, settings, cast, "open", about=About.staff)
    services.delegate(db_session, settings, case, cast.head, deputy.id, "")
    db_session.commit()
    before = len(_mail_to(db_session, deputy))
    services.triage(
        db_session,
        settings,
        _reload(db_session, case),
        cast.office,
        services.Triage(
            stage=Stage.stage1,
            category=case.category,
            handler_id=cast.head.id,
            about_user_id=deputy.id,
        ),
    )
    db_session.commit()
    case = _reload(db_session, case)
    assert case.delegate_user_id is None
    assert services.delegate_of(db_session, case) is None
    assert services.can_handle(db_session, cast.head, case)
    from tests.factories import sign_in

    sign_in(client, deputy)
    for path in ("", "/letter", "/letter.pdf"):
        assert client.get(f"/staff/complaints/{case.reference}{path}").status_code == 404
    assert case.reference not in client.get("/staff").text
    services.parent_reply(db_session, settings, case, "One more thing.")
    db_session.commit()
    clock.advance(timedelta(days=12))
    services.remind(db_session, settings)
    db_session.commit()
    services.withdraw(db_session, settings, _reload(db_session, case), "Sorted out at home")
    db_session.commit()
    assert len(_mail_to(db_session, deputy)) == before
    assert any("replied" in m.subject.lower() for m in _mail_to(db_session, cast.head))


def test_a_delegate_excluded_any_other_way_is_not_the_delegate_for_emails(
    db_session, settings, cast, deputy
):
    """Whatever way an exclusion reaches the delegate, `delegate_of` (who is emailed about the
    case) never names someone the case is about."""
    from portal.complaints.models import ExclusionReason

    case = make_case(db_session, settings, cast, "open")
    services.delegate(db_session, settings, case, cast.head, deputy.id, "")
    db_session.commit()
    services.exclude(
        db_session, _reload(db_session, case), deputy.id, ExclusionReason.named_at_triage
    )
    db_session.commit()
    case = _reload(db_session, case)
    assert services.delegate_of(db_session, case) is None
    services.parent_reply(db_session, settings, case, "Another thing.")
    db_session.commit()
    assert not any("replied" in m.subject.lower() for m in _mail_to(db_session, deputy))


# ---------------------------------------------------------------- the panel


def test_a_governor_the_parent_named_cannot_sit_on_the_panel(db_session, settings, cast):
    """A governor the parent's words named is kept out of the case (an exclusion), but nobody
    recorded them as 'the person it is about' at sorting. They could still be chosen for the
    panel, and were then emailed the hearing and the bundle of a complaint about themselves."""
    named = cast.governors[0]
    case = make_case(
        db_session, settings, cast, "stage2", about=About.governor, about_name=named.name
    )
    assert services.is_excluded(db_session, named, case)
    assert named.id not in {u.id for u in services.eligible_panel_members(db_session, case)}
    with pytest.raises(ComplaintError):
        services.record_panel(
            db_session,
            case,
            cast.clerk,
            hearing_on=services.school_date(db_session),
            member_ids=[g.id for g in cast.governors],
            papers="",
            hearing_notes="",
        )


def test_the_panel_letters_preview_counts_only_linked_cases_that_get_it(db_session, settings, cast):
    """The stage 2 letter's preview said how many linked cases 'will get the same letter',
    counting a linked case about the chair writing it (which does not get it: the chair may not
    handle it). The count told the chair that a case about them exists."""
    lead = submit(db_session, settings)
    follower = submit(db_session, settings, about=About.staff, about_name=cast.chair.name)
    assert services.is_excluded(db_session, cast.chair, follower)
    services.link_to_lead(db_session, settings, follower, lead, cast.office)
    db_session.commit()
    from tests.factories import sort_case

    sort_case(db_session, settings, _reload(db_session, lead), cast.office, handler=cast.head)
    db_session.commit()
    lead = _reload(db_session, lead)
    services.respond(db_session, settings, lead, cast.head, letter())
    db_session.commit()
    services.escalate(db_session, settings, _reload(db_session, lead), "Not dealt with at all.")
    db_session.commit()
    lead = _reload(db_session, lead)
    f = _reload(db_session, follower)
    assert f.stage == Stage.stage2, (f.status, f.lead_complaint_id, lead.id, lead.stage)
    services.record_panel(
        db_session,
        lead,
        cast.clerk,
        hearing_on=services.school_date(db_session),
        member_ids=[g.id for g in cast.governors],
        papers="",
        hearing_notes="",
    )
    db_session.commit()
    lead = _reload(db_session, lead)
    words = services.LetterWords(
        outcome="upheld",
        investigated="The panel met and heard both sides.",
        decision="The panel upholds the complaint.",
        actions="None.",
    )
    services.save_draft(db_session, lead, cast.clerk, words, version=None)
    db_session.commit()
    assert services.preview(db_session, _reload(db_session, lead), cast.clerk).others == 1
    assert services.preview(db_session, _reload(db_session, lead), cast.chair).others == 0


# ---------------------------------------------------------------- the admin outbox


def test_an_admin_the_case_is_about_sees_neither_the_parent_nor_the_reference_in_the_outbox(
    client, db_session, settings, cast
):
    """The outbox hid the words of an email about a case the admin may not see, but listed its
    recipient and subject: a head teacher who is also the admin read 'We have received your
    complaint (C-...)' to alex.parent@example.com the moment a complaint about them arrived,
    and so who complained. New emails today (bundle ready, papers, delegation) are listed the
    same way."""
    from tests.factories import answers, sign_in

    head_admin = make_user(db_session, Role.head, Role.admin, name="Hana Head")
    received = services.submit(
        db_session, settings, answers(about=About.head, parent_email="worried.mum@example.com")
    )
    db_session.commit()
    case = received.complaint
    assert services.is_excluded(db_session, head_admin, case)
    [message] = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.complaint_id == case.id)
    ).all()
    message.last_error = "550 worried.mum@example.com: mailbox full"
    db_session.add(message)
    db_session.commit()
    sign_in(client, head_admin)
    for path in ("/staff/outbox", f"/staff/outbox/{message.id}"):
        shown = client.get(path)
        assert shown.status_code == 200
        assert "worried.mum" not in shown.text, path
        assert case.reference not in shown.text, path
        assert "about a case you cannot see" in shown.text, path
    # Someone who may see the case still reads it all.
    office_admin = make_user(db_session, Role.office, Role.admin, name="Olu Office")
    other = services.submit(db_session, settings, answers(parent_email="dad@example.com"))
    db_session.commit()
    sign_in(client, office_admin)
    assert "dad@example.com" in client.get("/staff/outbox").text
    assert other.complaint.reference in client.get("/staff/outbox").text


# ---------------------------------------------------------------- email replies


def test_a_parents_private_link_in_an_email_reply_never_reaches_staff(
    client, db_session, settings, cast
):
    """The acknowledgement email carries the parent's private link and a reply address, so a
    reply quotes the link. A held email showed it whole to office ('the whole email'), and a
    reply written under the link, or a link pasted in, was stored on the case for every member
    of staff: anyone holding the link can act as the parent (withdraw, ask for a panel)."""
    from portal.complaints.models import ComplaintMessage, InboundMail, MessageKind
    from portal.complaints.services.inbound import receive
    from tests.complaints.test_inbound_mail import REPLY, address_of, an_email
    from tests.factories import make_case_with_link, sign_in

    settings.reply_address = REPLY
    case, token = make_case_with_link(db_session, settings, cast, "open")
    link = f"{settings.base_url}/track/{token}"
    quoted = (
        f"My link {link} does not open on my phone.\n\n"
        "On Wed, 25 Nov 2026 at 09:00, Brookfield Primary School <office@example.com> wrote:\n"
        f"> Follow your complaint here: {link}\n"
    )
    placed, _ = receive(db_session, settings, an_email(address_of(settings, case), body=quoted))
    held, _ = receive(
        db_session,
        settings,
        an_email(address_of(settings, case), body=quoted, sender="grandad@example.com"),
    )
    db_session.commit()
    assert placed.message_id is not None and held.message_id is None
    db_session.expire_all()
    bodies = db_session.scalars(
        select(ComplaintMessage.body).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.parent_reply,
        )
    ).all()
    assert bodies and all(token not in body for body in bodies)
    sign_in(client, cast.office)
    shown = client.get(f"/staff/complaints/emails/{held.id}")
    assert shown.status_code == 200
    assert "does not open on my phone" in shown.text
    assert token not in shown.text
    one = client.get(f"/staff/complaints/emails/{held.id}")
    from tests.pages import csrf_of

    client.post(
        f"/staff/complaints/emails/{held.id}/attach",
        data={"reference": case.reference, "csrf_token": csrf_of(one)},
    )
    db_session.expire_all()
    assert db_session.get(InboundMail, held.id).message_id is not None
    bodies = db_session.scalars(
        select(ComplaintMessage.body).where(ComplaintMessage.complaint_id == case.id)
    ).all()
    assert len(bodies) >= 2 and all(token not in body for body in bodies)


def test_an_email_to_two_cases_reply_addresses_never_reaches_either_subject(
    client, db_session, settings, cast
):
    """Written to the reply addresses of two cases (one about the office manager), the email is
    held naming no single case; it is shown only to people who may see both."""
    from portal.complaints.services.inbound import held_mail, receive
    from tests.complaints.test_inbound_mail import REPLY, address_of, an_email
    from tests.factories import sign_in

    settings.reply_address = REPLY
    about_office = make_case(db_session, settings, cast, "open", about=About.staff)
    services.triage(
        db_session,
        settings,
        about_office,
        cast.chair,
        services.Triage(
            stage=Stage.stage1,
            category=about_office.category,
            handler_id=cast.head.id,
            about_user_id=cast.office.id,
        ),
    )
    other = make_case(db_session, settings, cast, "open")
    db_session.commit()
    to_both = f"{address_of(settings, about_office)}, {address_of(settings, other)}"
    held, _ = receive(
        db_session, settings, an_email(to_both, body="Miss Okafor shouted at my son again.")
    )
    db_session.commit()

    assert held.message_id is None
    assert held not in held_mail(db_session, cast.office)
    assert held in held_mail(db_session, cast.chair)
    sign_in(client, cast.office)
    assert client.get(f"/staff/complaints/emails/{held.id}").status_code == 404
    assert "shouted" not in client.get("/staff/complaints/emails").text


# ---------------------------------------------------------------- two at once


def _at_once(app, case_id: int, works) -> list[str]:  # type: ignore[no-untyped-def]
    """Run each `work(session, case)` in its own thread and connection, at the same moment."""
    import threading

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    barrier = threading.Barrier(len(works))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(work) -> None:  # type: ignore[no-untyped-def]
        with app.state.sessions() as session:
            case = session.get(Complaint, case_id)
            session.commit()
            barrier.wait(timeout=60)
            try:
                work(session, case)
                session.commit()
                result = "won"
            except (StaleDataError, ComplaintError, OperationalError):
                session.rollback()
                result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.committed
def test_giving_a_case_to_another_leader_and_taking_it_back_at_once_one_wins(
    app, db_session, settings, cast, deputy
):
    """Delegation and take-back each change the case: the version column lets only one of two
    pages opened on the same case win; the other is told, and the history holds one of them."""
    from portal.complaints import timeline
    from portal.history import HistoryEvent

    assistant = make_user(db_session, Role.senior_leader, name="Grace Adeyemi")
    case = make_case(db_session, settings, cast, "open")
    services.delegate(db_session, settings, case, cast.head, deputy.id, "")
    db_session.commit()

    def give(session, mine) -> None:  # type: ignore[no-untyped-def]
        head = session.get(type(cast.head), cast.head.id)
        services.delegate(session, settings, mine, head, assistant.id, "")

    def take(session, mine) -> None:  # type: ignore[no-untyped-def]
        head = session.get(type(cast.head), cast.head.id)
        services.take_back(session, settings, mine, head)

    assert _at_once(app, case.id, [give, take]) == ["lost", "won"]
    case = _reload(db_session, case)
    events = db_session.scalars(
        select(HistoryEvent.tag).where(
            HistoryEvent.subject_id == str(case.id),
            HistoryEvent.tag.in_([timeline.Tag.delegate, timeline.Tag.take_back]),
        )
    ).all()
    assert len(events) == 2  # the first delegation, and the winner
    assert case.delegate_user_id in (None, assistant.id)


@pytest.mark.committed
def test_a_held_email_attached_to_two_cases_at_once_lands_on_one(app, db_session, settings, cast):
    """Two people putting one held email on two different cases at the same moment: it lands
    once, on one case."""
    from portal.complaints.models import ComplaintMessage, InboundMail, MessageKind
    from portal.complaints.services.inbound import attach_held, receive
    from tests.complaints.test_inbound_mail import REPLY, address_of, an_email

    settings.reply_address = REPLY
    first = make_case(db_session, settings, cast, "open")
    second = make_case(db_session, settings, cast, "open")
    held, _ = receive(
        db_session, settings, an_email(address_of(settings, first), sender="gran@example.com")
    )
    db_session.commit()
    office_2 = make_user(db_session, Role.office, name="Second Office")

    def attach_as(user, reference):  # type: ignore[no-untyped-def]
        def work(session, _case) -> None:  # type: ignore[no-untyped-def]
            me = session.get(type(user), user.id)
            mail = session.get(InboundMail, held.id)
            attach_held(session, settings, me, mail, reference)

        return work

    outcomes = _at_once(
        app,
        first.id,
        [attach_as(cast.office, first.reference), attach_as(office_2, second.reference)],
    )
    assert outcomes == ["lost", "won"]
    db_session.expire_all()
    placed = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id.in_([first.id, second.id]),
            ComplaintMessage.kind == MessageKind.parent_reply,
        )
    ).all()
    assert len(placed) == 1
