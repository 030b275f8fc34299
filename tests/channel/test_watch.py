"""The watch on published and scheduled posts: every way the photo check can change for a pupil
in a post's pictures (a pupil leaving the register, a changed record, a consent setting, answers
lapsing with time) flags a public post to the head and office, or returns a scheduled one to its
author; and nobody is emailed twice about the same warning."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.channel.models import PostStatus
from portal.channel.services import posts, workflow
from portal.consent.models import AnswerHow, ConsentRecord, FlagKind
from portal.consent.services import flags, register
from portal.consent.services import settings as consent_settings
from portal.consent.services.answers import Validity
from portal.consent.services.flags import settings_of
from portal.consent.services.invitations import daily
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import history_of
from portal.mail import OutboxMessage
from tests.channel.conftest import approved_with, say_website
from tests.consent.helpers import MAPPING, pupil_file

WARNING = "Check a news post now"


def warned(session, post) -> list[str]:  # type: ignore[no-untyped-def]
    """Who was emailed the consent warning about this post (once per email)."""
    session.expire_all()
    return sorted(
        m.to_address
        for m in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.related_type == "news_post",
                OutboxMessage.related_id == str(post.id),
            )
        )
        if WARNING in m.subject
    )


def tags(session, post) -> list[str]:  # type: ignore[no-untyped-def]
    return [event.tag for event in history_of(session, "news_post", post.id)]


def head_and_office(people) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted([people.head.email, people.office.email])


def assert_flagged(session, post, people, words: str) -> None:  # type: ignore[no-untyped-def]
    session.refresh(post)
    assert post.status == PostStatus.approved
    assert post.consent_flagged_at is not None
    assert words in post.consent_flag_detail
    assert [p.id for p in workflow.flagged_posts(session)] == [post.id]
    assert warned(session, post) == head_and_office(people)
    assert tags(session, post).count(workflow.FLAGGED) == 1


def assert_returned(session, post, words: str) -> None:  # type: ignore[no-untyped-def]
    session.refresh(post)
    assert post.status == PostStatus.returned
    assert words in workflow.last_comments(session, post)
    assert workflow.SENT_BACK in tags(session, post)


@pytest.fixture
def later(db_session) -> datetime:
    return now_of(db_session) + timedelta(days=7)


# ---------------------------------------------------------------- the register's import

ROW = {
    "P1": "T-P1,Amelia,Jones,,Year 3,3B,21/03/2017,Sarah Jones,sarah@example.com,Mother,Yes,,,,",
    "P2": "T-P2,Kwame,Mensah,,Year 3,3B,21/03/2017,Ama Mensah,ama@example.com,Mother,Yes,,,,",
    "P3": "T-P3,Zoe,Clarke,,Year 3,3B,21/03/2017,Rob Clarke,rob@example.com,Mother,Yes,,,,",
}


def import_rows(session, user, *rows: str, full: bool = True) -> None:  # type: ignore[no-untyped-def]
    pupil_import, _header = register.start_import(
        session, user, "pupils.csv", pupil_file(*rows), full=full
    )
    register.confirm_import(session, user, pupil_import, MAPPING)
    session.commit()


def test_pupils_leaving_in_a_full_import_flag_public_posts_and_return_scheduled_ones(
    db_session, settings, people, register, later
):
    public = approved_with(db_session, settings, people, [register.allowed])
    scheduled = approved_with(
        db_session, settings, people, [register.unnamed], publish_at=later, title="Harvest"
    )
    import_rows(db_session, people.office, ROW["P3"])
    assert_flagged(db_session, public, people, "Amelia Jones, 3B: Left the school")
    assert_returned(db_session, scheduled, "Kwame Mensah, 3B: Left the school")
    assert not posts.is_public(scheduled, later)
    # The same file again: nothing more changed, nobody is emailed again.
    import_rows(db_session, people.office, ROW["P3"])
    assert warned(db_session, public) == head_and_office(people)


def test_a_changed_record_that_changes_the_check_flags_the_post_and_a_new_class_does_not(
    db_session, settings, people, register
):
    post = approved_with(db_session, settings, people, [register.allowed])
    everyone = (ROW["P1"].replace("3B", "4M"), ROW["P2"], ROW["P3"])
    import_rows(db_session, people.office, *everyone)
    db_session.refresh(post)
    assert post.consent_flagged_at is None
    assert warned(db_session, post) == []
    # The only parent who said yes no longer has parental responsibility: their yes stops counting.
    no_longer = ROW["P1"].replace("Mother,Yes", "Mother,No")
    import_rows(db_session, people.office, no_longer, full=False)
    assert_flagged(db_session, post, people, "Amelia Jones, 3B: No answer yet")


# ---------------------------------------------------------------- the consent settings


def website(session):  # type: ignore[no-untyped-def]
    session.expire_all()
    return next(p for p in purposes(session, include_retired=True) if p.key == "website")


def test_a_new_website_wording_asked_again_flags_and_returns_posts_showing_its_pupils(
    db_session, settings, people, register, later
):
    public = approved_with(db_session, settings, people, [register.allowed])
    scheduled = approved_with(
        db_session, settings, people, [register.unnamed], publish_at=later, title="Harvest"
    )
    purpose = website(db_session)
    # A typo fixed, parents not asked again: their answers still count.
    consent_settings.change_purpose(
        db_session,
        people.admin,
        purpose.id,
        consent_settings.PurposeChange(purpose.name, purpose.wording + " ", True, False),
        seen_revision=purpose.revision,
    )
    db_session.commit()
    db_session.refresh(public)
    assert public.consent_flagged_at is None
    purpose = website(db_session)
    consent_settings.change_purpose(
        db_session,
        people.admin,
        purpose.id,
        consent_settings.PurposeChange(purpose.name, "Photos on the new website.", True, True),
        seen_revision=purpose.revision,
    )
    db_session.commit()
    assert_flagged(db_session, public, people, "Amelia Jones, 3B: Lapsed: ask again")
    assert_returned(db_session, scheduled, "Kwame Mensah, 3B: Lapsed: ask again")
    # Another change for everyone: the warning stands, and nobody is emailed again.
    row = settings_of(db_session)
    consent_settings.save_validity(
        db_session, people.admin, Validity.key_stage, seen_revision=row.revision
    )
    db_session.commit()
    assert warned(db_session, public) == head_and_office(people)


def test_retiring_the_website_use_flags_every_post_showing_a_pupil(
    db_session, settings, people, register
):
    post = approved_with(db_session, settings, people, [register.allowed, register.unnamed])
    purpose = website(db_session)
    consent_settings.set_active(
        db_session, people.admin, purpose.id, False, seen_revision=purpose.revision
    )
    db_session.commit()
    assert_flagged(db_session, post, people, workflow.NOT_ASKED)


def test_a_shorter_validity_flags_a_post_whose_pupil_answered_last_school_year(
    db_session, settings, people, register
):
    row = settings_of(db_session)
    consent_settings.save_validity(
        db_session, people.admin, Validity.while_at_school, seen_revision=row.revision
    )
    pupil = register.unnamed
    db_session.execute(
        ConsentRecord.__table__.delete().where(ConsentRecord.pupil_id == pupil.id)  # type: ignore[attr-defined]
    )
    db_session.add(
        ConsentRecord(
            pupil_id=pupil.id,
            purpose_id=website(db_session).id,
            contact_id=register.contacts["P2"],
            answer=True,
            naming=False,
            given_at=datetime(2026, 6, 10, 9, 0),  # the school year before the test clock's
            how=AnswerHow.paper,
            wording_version=1,
        )
    )
    db_session.commit()
    post = approved_with(db_session, settings, people, [pupil])
    row = settings_of(db_session)
    consent_settings.save_validity(
        db_session, people.admin, Validity.school_year, seen_revision=row.revision
    )
    db_session.commit()
    assert_flagged(db_session, post, people, "Kwame Mensah, 3B: Lapsed: ask again")


def test_turning_naming_off_flags_a_post_that_names_its_pupil(
    db_session, settings, people, register
):
    from tests.channel.conftest import draft, sent, with_picture

    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.allowed])
    workflow.answer_pupils(db_session, people.office, post, workflow.NAMED)
    sent(db_session, people.office, post)
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    purpose = website(db_session)
    consent_settings.change_purpose(
        db_session,
        people.admin,
        purpose.id,
        consent_settings.PurposeChange(purpose.name, purpose.wording, False, False),
        seen_revision=purpose.revision,
    )
    db_session.commit()
    assert_flagged(db_session, post, people, "may not be named")


# ---------------------------------------------------------------- answers lapsing with time


def test_the_daily_run_flags_a_public_post_once_its_pupils_answer_has_lapsed(
    db_session, settings, people, register, clock
):
    post = approved_with(db_session, settings, people, [register.allowed])
    clock.set(datetime(2027, 7, 20, 10, 0))  # the same school year: still allowed
    daily(db_session, settings)
    db_session.commit()
    db_session.refresh(post)
    assert post.consent_flagged_at is None
    clock.set(datetime(2027, 9, 2, 6, 0))  # a new school year: last year's answers lapsed
    report = daily(db_session, settings)
    db_session.commit()
    assert report.pupils_checked == 3
    assert_flagged(db_session, post, people, "Amelia Jones, 3B: Lapsed: ask again")
    clock.advance(timedelta(days=1))
    daily(db_session, settings)
    db_session.commit()
    assert warned(db_session, post) == head_and_office(people)
    assert tags(db_session, post).count(workflow.FLAGGED) == 1


# ---------------------------------------------------------------- no nagging


def test_a_flagged_post_is_not_flagged_again_but_its_warning_lists_who_fails_now(
    db_session, settings, people, register, clock
):
    post = approved_with(db_session, settings, people, [register.allowed, register.unnamed])
    clock.advance(timedelta(hours=1))
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], False, False)
    db_session.commit()
    assert_flagged(db_session, post, people, "Amelia Jones, 3B: Withdrawn on")
    flagged_at = post.consent_flagged_at
    clock.advance(timedelta(hours=1))
    flags.set_flag(db_session, people.office, register.unnamed, FlagKind.at_risk, "Reason")
    db_session.commit()
    db_session.refresh(post)
    assert post.consent_flagged_at == flagged_at
    assert "Amelia Jones, 3B: Withdrawn on" in post.consent_flag_detail
    assert "Kwame Mensah, 3B: Restricted" in post.consent_flag_detail
    assert warned(db_session, post) == head_and_office(people)
    assert tags(db_session, post).count(workflow.FLAGGED) == 1


def test_a_post_dealt_with_is_flagged_again_only_when_a_pupil_fails_anew(
    db_session, settings, people, register, clock
):
    post = approved_with(db_session, settings, people, [register.allowed, register.unnamed])
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], False, False)
    db_session.commit()
    workflow.remove_pupil(db_session, people.head, post, register.allowed.id)  # type: ignore[arg-type]
    workflow.deal_with_flag(db_session, people.head, post, note="Picture cropped")
    db_session.commit()
    assert workflow.flagged_posts(db_session) == []
    # The daily run, and another change for the pupil now out of the pictures: nothing new.
    clock.advance(timedelta(days=1))
    daily(db_session, settings)
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], True, True)
    db_session.commit()
    assert workflow.flagged_posts(db_session) == []
    assert len(warned(db_session, post)) == 2
    # A pupil still in the pictures is restricted: that is news, so it is flagged again.
    flags.set_flag(db_session, people.office, register.unnamed, FlagKind.at_risk, "Reason")
    db_session.commit()
    db_session.refresh(post)
    assert "Kwame Mensah, 3B: Restricted" in post.consent_flag_detail
    assert [p.id for p in workflow.flagged_posts(db_session)] == [post.id]
    assert len(warned(db_session, post)) == 4
    assert tags(db_session, post).count(workflow.FLAGGED) == 2


# ---------------------------------------------------------------- the whole register at once


def test_the_watch_copes_with_every_pupil_id_at_once(db_session, settings, people, register):
    post = approved_with(db_session, settings, people, [register.allowed])
    other = approved_with(db_session, settings, people, [register.unnamed], title="Harvest")
    # Amelia's yes becomes a no behind the watch's back; it is told only below, among 40,000
    # ids (more than SQLite takes in one statement).
    db_session.execute(
        ConsentRecord.__table__.update()  # type: ignore[attr-defined]
        .where(ConsentRecord.pupil_id == register.allowed.id)
        .values(answer=False, naming=None)
    )
    ids = [*range(100_000, 120_000), register.allowed.id, *range(200_000, 220_000)]
    pupil_consent_changed(db_session, ids, now_of(db_session))
    db_session.commit()
    assert_flagged(db_session, post, people, "Amelia Jones, 3B: Refused")
    db_session.refresh(other)
    assert other.consent_flagged_at is None
