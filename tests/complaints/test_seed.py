"""Seeded cases look like the services' own: counters, deadlines, search, references, history."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, StaffUser
from portal.complaints import services
from portal.complaints.models import (
    NO_DEADLINE,
    About,
    Complaint,
    ComplaintMessage,
    MessageKind,
    Status,
    StatusCount,
)
from portal.complaints.seed import seed_cases
from portal.complaints.services import NewComplaint, QueueFilters
from portal.history import HistoryEvent

CASES = 300
# Seeding is a bulk load (`portal seed`): its own pragmas and sequences, real commits.
pytestmark = pytest.mark.committed


@pytest.fixture
def seeded(db_session, settings):
    added = seed_cases(db_session, settings, CASES, batch_size=120, progress=None)
    assert added == CASES
    return db_session


def office_user(session) -> StaffUser:
    users = session.scalars(select(StaffUser).order_by(StaffUser.id))
    return next(u for u in users if u.has_role(Role.office))


def test_counter_table_equals_the_real_counts(seeded):
    real = {
        f"{status}:{about}": count
        for status, about, count in seeded.execute(
            select(Complaint.status, Complaint.about, func.count()).group_by(
                Complaint.status, Complaint.about
            )
        )
    }
    stored = {row.status: row.count for row in seeded.scalars(select(StatusCount)) if row.count}
    assert stored == real
    assert sum(real.values()) >= CASES


def test_active_cases_have_deadlines_and_closed_ones_do_not(seeded):
    cases = list(seeded.scalars(select(Complaint)))
    active = [c for c in cases if c.is_active]
    assert active, "some seeded cases should still be active"
    assert len(active) < len(cases) / 2, "most seeded cases should be finished"
    for case in cases:
        assert case.is_active == Status(case.status).is_active
        if case.is_active:
            assert case.next_deadline is not None
            assert case.queue_date == case.next_deadline
            assert case.deadline_kind is not None
        else:
            assert case.next_deadline is None
            assert case.queue_date == NO_DEADLINE
            # Held (possible junk) is waiting for office, not closed.
            assert (case.closed_at is None) == (case.status == Status.held)


def test_references_are_unique_and_well_formed(seeded):
    references = list(seeded.scalars(select(Complaint.reference)))
    assert len(references) == len(set(references))
    for reference in references:
        assert services.normalise_reference(reference) == reference
    hashes = list(seeded.scalars(select(Complaint.access_token_hash)))
    assert len(hashes) == len(set(hashes))
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)


def test_every_case_has_history_messages_and_letters(seeded):
    seeded_ids = list(
        seeded.scalars(select(Complaint.id).order_by(Complaint.id.desc()).limit(CASES))
    )
    messages = Counter(seeded.scalars(select(ComplaintMessage.complaint_id)))
    events = Counter(
        int(subject)
        for subject in seeded.scalars(
            select(HistoryEvent.subject_id).where(HistoryEvent.subject_type == "complaint")
        )
    )
    for case_id in seeded_ids:
        assert 1 <= messages[case_id] <= 3
        assert 2 <= events[case_id] <= 5
    receive = seeded.scalars(
        select(HistoryEvent.subject_id).where(HistoryEvent.tag == "complaint:receive")
    )
    assert {int(s) for s in receive} >= set(seeded_ids)
    responded = seeded.scalars(select(Complaint).where(Complaint.status == Status.responded))
    for case in responded:
        kinds = [m.kind for m in services.messages_for(seeded, case, for_parent=True)]
        assert MessageKind.stage1_letter in kinds


def test_queue_pages_through_the_active_cases_in_deadline_order(seeded):
    office = office_user(seeded)
    first = services.queue_page(seeded, office, QueueFilters())
    assert len(first.cases) == 25
    assert first.next_cursor
    second = services.queue_page(seeded, office, QueueFilters(), after=first.next_cursor)
    both = first.cases + second.cases
    keys = [(c.queue_date, c.id) for c in both]
    assert keys == sorted(keys)
    assert len({c.id for c in both}) == len(both)
    assert all(c.is_active and c.about in (About.school, About.staff) for c in both)


def test_search_finds_a_seeded_word(seeded):
    office = office_user(seeded)
    case = seeded.scalars(
        select(Complaint)
        .where(Complaint.is_active.is_(True), Complaint.about == About.school)
        .order_by(Complaint.id)
    ).first()
    word = max(re.findall(r"[a-z]+", case.what_happened.lower()), key=len)
    found = services.queue_page(seeded, office, QueueFilters(search=word), limit=1000)
    assert case.id in {c.id for c in found.cases}
    assert all(word in c.what_happened.lower() for c in found.cases if c.parent_name)


def test_the_services_carry_on_after_seeding(seeded, settings, school):
    received = services.submit(
        seeded,
        settings,
        NewComplaint(
            formal=True,
            about=About.school,
            about_name="",
            category=school.categories[0],
            what_happened="The school gate was locked early and my son waited outside.",
            happened_on=date(2026, 11, 20),
            done_so_far="",
            put_right="",
            anonymous=False,
            parent_name="Test Parent",
            parent_email="test.parent@example.com",
        ),
    )
    seeded.commit()
    newest = seeded.scalar(select(func.max(Complaint.id)))
    assert received.complaint.id == newest
    assert services.find_by_token(seeded, received.access_token).id == newest


def test_seeding_again_adds_to_what_is_there(seeded, settings):
    before = seeded.scalar(select(func.count()).select_from(Complaint))
    assert seed_cases(seeded, settings, 40, rng_seed=1, progress=None) == 40
    assert seeded.scalar(select(func.count()).select_from(Complaint)) == before + 40
    references = list(seeded.scalars(select(Complaint.reference)))
    assert len(references) == len(set(references))
    stored = sum(row.count for row in seeded.scalars(select(StatusCount)))
    assert stored == before + 40
