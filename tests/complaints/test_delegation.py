"""The handler gives a concern or stage 1 case to a senior leader, who looks into it and writes
the reply; the letter goes out over the handler's name. Never to anyone the case names."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role
from portal.complaints import services, timeline
from portal.complaints.models import About, Complaint, ComplaintMessage, MessageKind, Stage
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.complaints.test_staff_pages import queue_references
from tests.factories import letter, make_case, make_user, sign_in
from tests.pages import csrf_of, page

ComplaintError = services.ComplaintError


@pytest.fixture
def deputy(db_session):
    return make_user(db_session, Role.senior_leader, name="Daniel Mensah")


@pytest.fixture
def assistant(db_session):
    return make_user(db_session, Role.senior_leader, name="Grace Adeyemi")


def _reload(db_session, case: Complaint) -> Complaint:
    db_session.expire_all()
    return db_session.get(Complaint, case.id)


def _mail_to(db_session, person) -> list[OutboxMessage]:
    return list(
        db_session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == person.email)
            .order_by(OutboxMessage.id)
        )
    )


def _events(db_session, case: Complaint, tag: str) -> list[HistoryEvent]:
    return list(
        db_session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.subject_type == "complaint",
                HistoryEvent.subject_id == str(case.id),
                HistoryEvent.tag == tag,
            )
            .order_by(HistoryEvent.id)
        )
    )


def _give(db_session, settings, case, by, to, note: str = "") -> None:
    services.delegate(db_session, settings, case, by, to.id, note)
    db_session.commit()


# ---------------------------------------------------------------- the rules


def test_the_head_gives_a_case_to_a_senior_leader_who_is_told(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy, "Talk to the lunchtime staff.")
    case = _reload(db_session, case)
    assert case.delegate_user_id == deputy.id
    assert case.delegated_at is not None
    assert case.handler_user_id == cast.head.id  # the head stays the handler
    (event,) = _events(db_session, case, timeline.Tag.delegate)
    assert event.actor_user_id == cast.head.id
    assert timeline.describe(event) == (
        "Given to Daniel Mensah to look into. Note: Talk to the lunchtime staff."
    )
    (email,) = _mail_to(db_session, deputy)
    assert email.subject == f"Case {case.reference} has been given to you to look into"
    assert "David Morgan" in email.body_text
    assert f"/staff/complaints/{case.reference}" in email.body_text
    # No private case content: not the parent's words, not the head's note.
    assert case.what_happened not in email.body_text
    assert case.parent_name not in email.body_text
    assert "lunchtime staff" not in email.body_text


def test_a_concern_can_be_given_too(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open", formal=False)
    assert case.stage == Stage.concern
    _give(db_session, settings, case, cast.head, deputy)
    assert services.can_handle(db_session, deputy, _reload(db_session, case))


def test_the_chair_gives_a_case_about_the_head(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open", about=About.head, about_user=cast.head)
    with pytest.raises(ComplaintError):
        services.delegate(db_session, settings, case, cast.head, deputy.id, "")
    _give(db_session, settings, case, cast.chair, deputy)
    case = _reload(db_session, case)
    assert services.can_see(db_session, deputy, case)
    assert not services.can_see(db_session, cast.head, case)


def test_only_the_handler_may_give_it_away(db_session, settings, cast, deputy, assistant):
    case = make_case(db_session, settings, cast, "open")
    other_head = make_user(db_session, Role.head, name="Other Head")
    for person in (cast.office, cast.chair, cast.clerk, other_head, cast.governors[0]):
        with pytest.raises(ComplaintError, match="handler"):
            services.delegate(db_session, settings, case, person, deputy.id, "")
        db_session.rollback()
    _give(db_session, settings, case, cast.head, deputy)
    # The delegate cannot pass it on, nor take it back from themselves.
    with pytest.raises(ComplaintError, match="handler"):
        services.delegate(db_session, settings, _reload(db_session, case), deputy, assistant.id, "")
    db_session.rollback()
    with pytest.raises(ComplaintError, match="handler"):
        services.take_back(db_session, settings, _reload(db_session, case), deputy)


@pytest.mark.parametrize("state", ["new", "responded", "stage2"])
def test_only_an_open_concern_or_stage_1_case_can_be_given(
    db_session, settings, cast, deputy, state
):
    case = make_case(db_session, settings, cast, state)
    handler = services.handler_of(db_session, case) or cast.head
    with pytest.raises(ComplaintError):
        services.delegate(db_session, settings, case, handler, deputy.id, "")
    assert _reload(db_session, case).delegate_user_id is None


def test_only_active_senior_leaders_not_named_and_not_the_handler(db_session, settings, cast):
    named = make_user(db_session, Role.senior_leader, name="Ruth Palmer")
    gone = make_user(db_session, Role.senior_leader, name="Ian Gone")
    gone.is_active = False
    db_session.add(gone)
    both = make_user(db_session, Role.senior_leader, Role.head, name="Acting Head")
    make_user(db_session, Role.senior_leader, name="Fine Person")
    db_session.commit()
    case = make_case(
        db_session,
        settings,
        cast,
        "open",
        about=About.staff,
        about_name="Mrs Palmer",
        handler=both,
    )
    assert named.id in services.excluded_user_ids(db_session, case)
    assert [p.name for p in services.delegates_for(db_session, case)] == ["Fine Person"]
    for person in (named, gone, both, cast.office, cast.head, cast.governors[0]):
        with pytest.raises(ComplaintError, match="from the list"):
            services.delegate(db_session, settings, case, both, person.id, "")
        db_session.rollback()
    with pytest.raises(ComplaintError, match="Choose a senior leader"):
        services.delegate(db_session, settings, case, both, None, "")
    with pytest.raises(ComplaintError, match="from the list"):
        services.delegate(db_session, settings, case, both, 999_999_999, "")
    assert _reload(db_session, case).delegate_user_id is None


def test_never_to_the_person_named_at_triage(db_session, settings, cast, deputy):
    case = make_case(
        db_session, settings, cast, "open", about=About.staff, about_user=deputy, handler=cast.head
    )
    assert services.delegates_for(db_session, case) == []
    with pytest.raises(ComplaintError, match="from the list"):
        services.delegate(db_session, settings, case, cast.head, deputy.id, "")


def test_never_to_someone_a_linked_case_names(db_session, settings, cast, deputy, assistant):
    lead = make_case(db_session, settings, cast, "open")
    follower = make_case(db_session, settings, cast, "new", about=About.staff, about_name="Mensah")
    services.link_to_lead(db_session, settings, follower, lead, cast.office)
    db_session.commit()
    assert deputy.id in services.excluded_user_ids(db_session, follower)
    with pytest.raises(ComplaintError, match="from the list"):
        services.delegate(db_session, settings, lead, cast.head, deputy.id, "")
    db_session.rollback()
    _give(db_session, settings, lead, cast.head, assistant)
    # The linked case is looked into with its lead: its delegate too, and it cannot be given alone.
    follower = _reload(db_session, follower)
    assert follower.delegate_user_id == assistant.id
    with pytest.raises(ComplaintError, match="lead case"):
        services.delegate(db_session, settings, follower, cast.head, assistant.id, "")


def test_giving_it_to_someone_else_replaces_the_first(
    db_session, settings, cast, deputy, assistant
):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    with pytest.raises(ComplaintError, match="already"):
        services.delegate(db_session, settings, _reload(db_session, case), cast.head, deputy.id, "")
    db_session.rollback()
    _give(db_session, settings, _reload(db_session, case), cast.head, assistant)
    case = _reload(db_session, case)
    assert case.delegate_user_id == assistant.id
    assert not services.can_see(db_session, deputy, case)
    assert not services.can_handle(db_session, deputy, case)
    assert services.can_handle(db_session, assistant, case)
    last = _events(db_session, case, timeline.Tag.delegate)[-1]
    assert timeline.describe(last) == (
        "Given to Grace Adeyemi to look into, instead of Daniel Mensah"
    )
    assert [m.subject for m in _mail_to(db_session, deputy)][-1] == (
        f"Case {case.reference} has been taken back"
    )


def test_the_handler_takes_it_back(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    with pytest.raises(ComplaintError, match="not with a senior leader"):
        services.take_back(db_session, settings, case, cast.head)
    db_session.rollback()
    _give(db_session, settings, case, cast.head, deputy)
    services.take_back(db_session, settings, _reload(db_session, case), cast.head)
    db_session.commit()
    case = _reload(db_session, case)
    assert (case.delegate_user_id, case.delegated_at) == (None, None)
    assert not services.can_see(db_session, deputy, case)
    (event,) = _events(db_session, case, timeline.Tag.take_back)
    assert timeline.describe(event) == "Taken back from Daniel Mensah: the handler looks into it"
    assert _mail_to(db_session, deputy)[-1].subject == f"Case {case.reference} has been taken back"


def test_a_new_handler_at_triage_ends_the_delegation(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    other_head = make_user(db_session, Role.head, name="Other Head")
    services.triage(
        db_session,
        settings,
        _reload(db_session, case),
        cast.office,
        services.Triage(
            stage=Stage.stage1, category=case.category, handler_id=other_head.id, notes=""
        ),
    )
    db_session.commit()
    assert _reload(db_session, case).delegate_user_id is None


# ---------------------------------------------------------------- what the delegate may do


def test_the_delegate_sees_and_handles_only_that_case(db_session, settings, cast, deputy):
    mine = make_case(db_session, settings, cast, "open")
    other = make_case(db_session, settings, cast, "open")
    assert services.visible_abouts(deputy) == set()
    _give(db_session, settings, mine, cast.head, deputy)
    mine, other = _reload(db_session, mine), _reload(db_session, other)
    assert services.can_see(db_session, deputy, mine)
    assert services.can_handle(db_session, deputy, mine)
    assert services.can_message(db_session, deputy, mine)
    assert not services.can_see(db_session, deputy, other)
    assert not services.can_handle(db_session, deputy, other)
    assert not services.can_triage(db_session, deputy, mine)
    assert services.status_counts(db_session, deputy)["open"] == 1


def test_the_letter_goes_out_over_the_handlers_name(db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    services.respond(db_session, settings, _reload(db_session, case), deputy, letter())
    db_session.commit()
    (sent,) = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).all()
    assert "David Morgan" in sent.body
    assert "Head teacher" in sent.body
    assert "Daniel Mensah" not in sent.body
    assert "Senior leader" not in sent.body
    # The history records who actually sent it.
    assert sent.author_user_id == deputy.id
    (event,) = _events(db_session, case, timeline.message_tag(MessageKind.stage1_letter))
    assert event.actor_user_id == deputy.id


def test_stage_2_ends_the_delegation_and_keeps_them_off_the_panel(db_session, settings, cast):
    deputy_governor = make_user(db_session, Role.senior_leader, Role.governor, name="Dual Role")
    case = make_case(db_session, settings, cast, "open")
    assert deputy_governor in services.eligible_panel_members(db_session, case)
    _give(db_session, settings, case, cast.head, deputy_governor)
    services.respond(db_session, settings, _reload(db_session, case), deputy_governor, letter())
    db_session.commit()
    services.escalate(
        db_session, settings, _reload(db_session, case), "The letter did not answer my question."
    )
    db_session.commit()
    case = _reload(db_session, case)
    assert case.stage == Stage.stage2
    assert not services.can_handle(db_session, deputy_governor, case)
    assert services.delegate_of(db_session, case) is None
    assert deputy_governor.id in services.involved_user_ids(db_session, case)
    assert deputy_governor not in services.eligible_panel_members(db_session, case)
    with pytest.raises(ComplaintError):
        services.delegate(db_session, settings, case, cast.clerk, deputy_governor.id, "")


def test_a_delegate_taken_back_still_may_not_sit_on_the_panel(db_session, settings, cast):
    deputy_governor = make_user(db_session, Role.senior_leader, Role.governor, name="Dual Role")
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy_governor)
    services.take_back(db_session, settings, _reload(db_session, case), cast.head)
    db_session.commit()
    assert deputy_governor.id in services.involved_user_ids(db_session, _reload(db_session, case))


def test_the_move_is_the_delegates_and_waits_with_them_for_the_head(
    db_session, settings, cast, deputy
):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    case = _reload(db_session, case)
    theirs = services.home_lists(db_session, deputy)
    assert [c.id for c in theirs.your_move] == [case.id]
    head = services.home_lists(db_session, cast.head)
    assert case.id not in {c.id for c in head.your_move}
    assert case.id in {c.id for c in head.waiting}
    names = services.users_by_id(db_session, [case.handler_user_id, case.delegate_user_id])
    assert services.waiting_for(case, names) == "With Daniel Mensah (given by David Morgan)"


# ---------------------------------------------------------------- the pages


def test_the_senior_leader_sees_only_their_case(client, db_session, settings, cast, deputy):
    mine = make_case(db_session, settings, cast, "open")
    other = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, mine, cast.head, deputy)
    sign_in(client, deputy)
    assert queue_references(client.get("/staff/complaints")) == [mine.reference]
    opened = client.get(f"/staff/complaints/{mine.reference}")
    assert opened.status_code == 200
    assert "You are looking into this case for David Morgan" in page(opened).select_one(
        "#delegated-to"
    ).get_text(" ", strip=True)
    assert page(opened).select_one("form[action$='/letter']") is not None
    assert page(opened).select_one("form[action$='/delegate']") is None
    assert client.get(f"/staff/complaints/{other.reference}").status_code == 404
    home = page(client.get("/staff"))
    move = home.select_one("#your-move-caption").find_parent("table")
    assert [a.text.strip() for a in move.select("tbody a")] == [mine.reference]
    token = csrf_of(client.get("/staff"))
    for action in ("delegate", "take-back"):
        refused = client.post(
            f"/staff/complaints/{mine.reference}/{action}",
            data={"csrf_token": token, "delegate_id": str(deputy.id)},
            follow_redirects=False,
        )
        assert refused.status_code == 403


def test_the_head_gives_and_takes_back_on_the_case_page(client, db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    shown = client.get(f"/staff/complaints/{case.reference}")
    options = page(shown).select("#delegate_id option")
    assert [o.text.strip() for o in options] == ["Choose a senior leader", "Daniel Mensah"]
    given = client.post(
        f"/staff/complaints/{case.reference}/delegate",
        data={"csrf_token": csrf_of(shown), "delegate_id": str(deputy.id), "delegate_note": "Hi"},
        follow_redirects=False,
    )
    assert given.status_code == 303
    after = client.get(given.headers["location"])
    words = page(after).select_one("#delegated-to").get_text(" ", strip=True)
    assert words.startswith("Daniel Mensah is looking into this case for David Morgan, since")
    assert "Given to Daniel Mensah to look into. Note: Hi" in after.text
    back = client.post(
        f"/staff/complaints/{case.reference}/take-back",
        data={"csrf_token": csrf_of(after)},
        follow_redirects=False,
    )
    assert back.status_code == 303
    assert _reload(db_session, case).delegate_user_id is None
    head_home = page(client.get("/staff"))
    assert head_home.select_one("#your-move-caption") is not None


@pytest.mark.parametrize(
    "chosen",
    ["", "abc", "99999999999999999999", "-1", "\u202e1", "1" * 5000],
)
def test_a_bad_choice_is_refused_with_a_message(client, db_session, settings, cast, deputy, chosen):
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    shown = client.get(f"/staff/complaints/{case.reference}")
    refused = client.post(
        f"/staff/complaints/{case.reference}/delegate",
        data={"csrf_token": csrf_of(shown), "delegate_id": chosen},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    summary = page(refused).select_one(".govuk-error-summary")
    assert "Choose a senior leader" in summary.text
    assert _reload(db_session, case).delegate_user_id is None


def test_the_server_refuses_someone_not_in_the_list(client, db_session, settings, cast, deputy):
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    shown = client.get(f"/staff/complaints/{case.reference}")
    for person in (cast.office, cast.chair, cast.head):
        refused = client.post(
            f"/staff/complaints/{case.reference}/delegate",
            data={"csrf_token": csrf_of(shown), "delegate_id": str(person.id)},
            follow_redirects=False,
        )
        assert refused.status_code == 422
        assert "Choose a senior leader from the list" in refused.text
    long_note = client.post(
        f"/staff/complaints/{case.reference}/delegate",
        data={
            "csrf_token": csrf_of(shown),
            "delegate_id": str(deputy.id),
            "delegate_note": "x" * 2001,
        },
        follow_redirects=False,
    )
    assert long_note.status_code == 422
    assert "Keep the note to 2,000 characters or less" in long_note.text
    assert _reload(db_session, case).delegate_user_id is None


# ---------------------------------------------------------------- two at once


@pytest.mark.committed
def test_two_delegations_at_once_one_wins(app, db_session, settings, cast, deputy, assistant):
    case = make_case(db_session, settings, cast, "open")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def give(to_id: int) -> None:
        with app.state.sessions() as session:
            mine = session.get(Complaint, case.id)
            head = session.get(type(cast.head), cast.head.id)
            session.commit()
            barrier.wait(timeout=60)
            try:
                services.delegate(session, settings, mine, head, to_id, "")
                session.commit()
                result = "won"
            except (StaleDataError, ComplaintError, OperationalError):
                session.rollback()
                result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=give, args=(p.id,)) for p in (deputy, assistant)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    case = _reload(db_session, case)
    assert case.delegate_user_id in (deputy.id, assistant.id)
    assert len(_events(db_session, case, timeline.Tag.delegate)) == 1
    emailed = [p for p in (deputy, assistant) if _mail_to(db_session, p)]
    assert [p.id for p in emailed] == [case.delegate_user_id]


def test_a_case_linked_later_goes_to_the_delegate_and_is_answered_with_its_lead(
    db_session, settings, cast, deputy
):
    lead = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, lead, cast.head, deputy)
    later = make_case(db_session, settings, cast, "new", parent_name="Second Parent")
    services.link_to_lead(db_session, settings, later, _reload(db_session, lead), cast.office)
    db_session.commit()
    later = _reload(db_session, later)
    assert later.delegate_user_id == deputy.id
    assert services.can_see(db_session, deputy, later)
    answered = services.respond(db_session, settings, _reload(db_session, lead), deputy, letter())
    db_session.commit()
    assert {case.id for case in answered} == {lead.id, later.id}
    body = db_session.scalars(
        select(ComplaintMessage.body).where(
            ComplaintMessage.complaint_id == later.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).one()
    assert "David Morgan" in body and "Daniel Mensah" not in body


def test_a_case_naming_the_delegate_cannot_join_their_lead(db_session, settings, cast, deputy):
    lead = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, lead, cast.head, deputy)
    naming = make_case(db_session, settings, cast, "new", about=About.staff, about_name="Mensah")
    with pytest.raises(ComplaintError, match="someone this case is about"):
        services.link_to_lead(db_session, settings, naming, _reload(db_session, lead), cast.office)
    db_session.rollback()
    assert not services.can_see(db_session, deputy, _reload(db_session, naming))


def test_the_delegate_hears_of_replies_reminders_and_withdrawal(
    db_session, settings, cast, deputy, clock
):
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    services.parent_reply(db_session, settings, _reload(db_session, case), "One more thing.")
    db_session.commit()
    clock.advance(timedelta(days=12))
    services.remind(db_session, settings)
    db_session.commit()
    services.withdraw(db_session, settings, _reload(db_session, case), "Sorted out at home")
    db_session.commit()
    subjects = [m.subject for m in _mail_to(db_session, deputy)]
    for about in ("replied", "reminder", "withdrawn"):
        assert any(about in subject.lower() for subject in subjects), (about, subjects)
    for about in ("replied", "reminder", "withdrawn"):
        head_subjects = [m.subject.lower() for m in _mail_to(db_session, cast.head)]
        assert any(about in subject for subject in head_subjects), about


def test_the_parent_reads_the_letter_as_from_the_handler(db_session, settings, cast, deputy):
    """Sent by the senior leader, the letter comes from the head on the parent's page; the
    history keeps who pressed send."""
    case = make_case(db_session, settings, cast, "open")
    _give(db_session, settings, case, cast.head, deputy)
    services.respond(db_session, settings, _reload(db_session, case), deputy, letter())
    db_session.commit()
    sent = services.messages_for(db_session, case, for_parent=True)[-1]
    assert sent.author_label == cast.head.name
    assert sent.author_user_id == deputy.id
