"""Sending comments, what screening keeps with them, and that nothing unapproved is ever shown."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.history import Actor, history_of
from portal.moderation.models import CommentFlag, CommentStatus, WordKind
from portal.moderation.screening import Rule, Severity
from portal.moderation.services import commenters, comments, decisions, words
from portal.moderation.services.comments import CommentRefused, Outcome
from portal.moderation.services.decisions import Action, Decision
from tests.moderation.helpers import (
    SECRET_WORD,
    mails_to,
    moderator,
    parent_identity,
    pending_comment,
    world,
)


def test_a_comment_waits_with_its_flags_and_is_not_public(db_session):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    text = "Millie Jones ran so fast! Call me on 07700 900123 or see https://example.com"
    comment = pending_comment(db_session, post, who, text)
    assert comment.status == CommentStatus.pending.value and comment.queued
    assert comment.display_name == "Sarah J." and comment.on_register
    flags = db_session.scalars(
        select(CommentFlag).where(CommentFlag.comment_id == comment.id)
    ).all()
    rules = {flag.rule for flag in flags}
    assert {Rule.pupil_name.value, Rule.link.value} <= rules
    for flag in flags:
        assert text[flag.start : flag.end] == flag.matched
        assert flag.context and flag.explanation
    assert comments.public_comments(db_session, post.id) == []
    assert comments.public_count(db_session, post.id) == 0
    assert [e.tag for e in history_of(db_session, "comment", comment.id)] == ["comment:sent"]


def test_a_banned_word_is_refused_at_once_and_recorded(db_session):
    family, post = world(db_session)
    words.add_word(db_session, WordKind.banned, SECRET_WORD, Actor.system())
    db_session.commit()
    sent = comments.send_comment(
        db_session, post, parent_identity(db_session, family), f"What a {SECRET_WORD}", "Sarah J."
    )
    db_session.commit()
    assert sent.outcome == Outcome.refused
    assert SECRET_WORD in sent.reason
    assert sent.comment.status == CommentStatus.rejected.value and not sent.comment.queued
    assert sent.comment.decision_reason == sent.reason
    assert any(
        flag.severity == Severity.reject.value
        for flag in db_session.scalars(
            select(CommentFlag).where(CommentFlag.comment_id == sent.comment.id)
        )
    )
    assert decisions.queue_page(db_session).total == 0


def test_a_complaint_like_comment_is_offered_the_form_then_may_be_posted_anyway(db_session):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    text = "I want to complain: this is unacceptable and nobody listens."
    first = comments.send_comment(db_session, post, who, text, "Sarah J.")
    assert first.outcome == Outcome.offer_complaint and first.comment is None
    second = comments.send_comment(db_session, post, who, text, "Sarah J.", post_anyway=True)
    db_session.commit()
    assert second.outcome == Outcome.held and second.comment.posted_anyway
    assert [
        item.comment.id for item in decisions.queue_page(db_session, rule="complaint").items
    ] == [second.comment.id]


def test_a_blocked_commenter_cannot_comment(db_session):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    comment = pending_comment(db_session, post, who)
    office = moderator(db_session)
    settings = None
    assert decisions.block(
        db_session, settings, who.commenter.id, Decision(Action.block, "Abuse"), office
    )
    db_session.commit()
    db_session.refresh(who.commenter)
    with pytest.raises(CommentRefused, match="cannot comment"):
        comments.send_comment(db_session, post, who, "Hello again", "Sarah J.")
    assert db_session.get(type(comment), comment.id).status == CommentStatus.pending.value


def test_comments_on_a_post_that_is_not_public_are_refused(db_session):
    family, post = world(db_session)
    post.status = "withdrawn"
    db_session.add(post)
    db_session.commit()
    with pytest.raises(CommentRefused):
        comments.send_comment(db_session, post, parent_identity(db_session, family), "Hi", "S J")


def test_the_display_name_is_never_an_email_and_has_limits(db_session):
    assert "display_name" in comments.check_words("Hello", "sarah@example.com")
    assert "display_name" in comments.check_words("Hello", "x" * 61)
    assert "body" in comments.check_words("x" * 2001, "Sarah")
    assert comments.check_words("Hello", "Sarah J.") == {}
    assert commenters.default_display_name("Sarah Jones") == "Sarah J."
    assert commenters.default_display_name("Cher") == "Cher"


def test_reports_return_a_comment_to_the_queue_and_hide_it_after_the_setting(db_session, settings):
    family, post = world(db_session)
    author = parent_identity(db_session, family)
    comment = pending_comment(db_session, post, author)
    office = moderator(db_session)
    assert decisions.decide(db_session, settings, comment.id, Decision(Action.approve), office)
    db_session.commit()
    assert comments.public_count(db_session, post.id) == 1
    reporters = [
        parent_identity(db_session, family, email)
        for email in ("tom@example.com", "ama@example.com", "nisha@example.com")
    ]
    assert comments.report(db_session, comment, reporters[0].commenter, "It is unkind")
    assert not comments.report(db_session, comment, reporters[0].commenter, "Again")
    db_session.commit()
    db_session.refresh(comment)
    assert comment.queued and comment.status == CommentStatus.approved.value
    assert comments.public_count(db_session, post.id) == 1  # still shown, back in the queue
    comments.report(db_session, comment, reporters[1].commenter, "Unkind")
    comments.report(db_session, comment, reporters[2].commenter, "Untrue")
    db_session.commit()
    db_session.refresh(comment)
    assert comment.status == CommentStatus.hidden.value and comment.queued
    assert comments.public_count(db_session, post.id) == 0
    assert comments.public_comments(db_session, post.id) == []
    with pytest.raises(CommentRefused):
        comments.report(db_session, comment, author.commenter, "   ")


def test_every_moderator_action(db_session, settings):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    office = moderator(db_session)
    approved = pending_comment(db_session, post, who, "Lovely day")
    named = pending_comment(db_session, post, who, "Well done Maya Patel and Millie Jones!")
    rejected = pending_comment(db_session, post, who, "Something rude")
    referred = pending_comment(db_session, post, who, "Parking at the gate is a problem")
    assert decisions.decide(db_session, settings, approved.id, Decision(Action.approve), office)
    assert decisions.decide(db_session, settings, named.id, Decision(Action.redact), office)
    with pytest.raises(decisions.DecisionRefused):
        decisions.decide(db_session, settings, rejected.id, Decision(Action.reject, ""), office)
    assert decisions.decide(
        db_session, settings, rejected.id, Decision(Action.reject, "It is unkind."), office
    )
    assert decisions.decide(db_session, settings, referred.id, Decision(Action.refer), office)
    db_session.commit()
    for row in (approved, named, rejected, referred):
        db_session.refresh(row)
    assert named.body == "Well done [name removed] and [name removed]!"
    assert named.original_body == "Well done Maya Patel and Millie Jones!"
    shown = comments.public_comments(db_session, post.id)
    assert [c.body for c in shown] == ["Lovely day", named.body]
    assert all("Millie" not in c.body for c in shown)
    assert rejected.status == "rejected" and referred.status == "referred"
    tags = [e.tag for e in history_of(db_session, "comment", rejected.id)]
    assert tags == ["comment:sent", "comment:reject"]
    event = history_of(db_session, "comment", named.id)[-1]
    assert event.actor_user_id == office.id and "pupil_name" in event.details["rules"]
    mails = mails_to(db_session, "sarah@example.com")
    assert any("It is unkind." in m.body_text and "Something rude" in m.body_text for m in mails)
    referral = [m for m in mails if "/news/comments/complaint/" in m.body_text]
    assert len(referral) == 1 and "Parking at the gate is a problem" in referral[0].body_text
    # Decided once: a second decision changes nothing.
    assert not decisions.decide(db_session, settings, rejected.id, Decision(Action.approve), office)


def test_redaction_needs_something_to_remove(db_session, settings):
    family, post = world(db_session)
    comment = pending_comment(db_session, post, parent_identity(db_session, family), "Lovely")
    with pytest.raises(decisions.DecisionRefused):
        decisions.decide(
            db_session, settings, comment.id, Decision(Action.redact), moderator(db_session)
        )


def test_bulk_and_block_with_pending_rejected(db_session, settings):
    family, post = world(db_session)
    sarah = parent_identity(db_session, family)
    tom = parent_identity(db_session, family, "tom@example.com")
    office = moderator(db_session)
    mine = [pending_comment(db_session, post, sarah, f"Comment {i}") for i in range(3)]
    toms = pending_comment(db_session, post, tom, "From Tom")
    result = decisions.decide_many(
        db_session, settings, [mine[0].id, mine[1].id, mine[0].id], Decision(Action.approve), office
    )
    assert (result.done, result.already) == (2, 0)
    assert decisions.decide(
        db_session,
        settings,
        toms.id,
        Decision(Action.block, "Repeated abuse", reject_pending=True),
        office,
    )
    db_session.commit()
    db_session.refresh(toms)
    assert toms.status == "rejected"
    assert decisions.queue_page(db_session).total == 1  # Sarah's third
    assert tom.commenter.id != sarah.commenter.id


def test_pending_text_is_emailed_to_nobody_but_its_author(db_session, settings):
    from portal.mail import OutboxMessage

    family, post = world(db_session)
    text = "A very private pending remark 12345"
    comment = pending_comment(db_session, post, parent_identity(db_session, family), text)
    decisions.decide(
        db_session, settings, comment.id, Decision(Action.reject, "No"), moderator(db_session)
    )
    db_session.commit()
    for message in db_session.scalars(select(OutboxMessage)):
        if text in message.body_text:
            assert message.to_address == "sarah@example.com"


def test_the_screener_is_rebuilt_when_the_lists_or_register_change(db_session):
    first = words.screener_for(db_session)
    assert words.screener_for(db_session) is first
    words.add_word(db_session, WordKind.suspect, "zebracorn", Actor.system())
    second = words.screener_for(db_session)
    assert second is not first
    assert any(f.rule == Rule.suspect_word for f in second.screen("a zebracorn").flags)
    world(db_session)
    third = words.screener_for(db_session)
    assert third is not second
    assert any(f.rule == Rule.pupil_name for f in third.screen("hi Maya Patel").flags)
    with pytest.raises(words.WordRefused):
        words.add_word(db_session, WordKind.suspect, "ZebraCorn", Actor.system())
    assert Role.office  # the lists are history-logged
    assert history_of(db_session, "moderation-words", "suspect")


def test_a_redaction_removes_only_what_was_chosen_and_whole_words():
    from portal.moderation.models import CommentFlag

    text = "Sam Scunthorpe met Sam at 1 High St"
    flags = [
        CommentFlag(
            id=1,
            rule="pupil_name",
            severity="hold",
            start=0,
            end=14,
            matched="",
            context="",
            explanation="",
        ),
        CommentFlag(
            id=2,
            rule="street_address",
            severity="hold",
            start=26,
            end=35,
            matched="",
            context="",
            explanation="",
        ),
        CommentFlag(
            id=3,
            rule="complaint",
            severity="hold",
            start=0,
            end=3,
            matched="",
            context="",
            explanation="",
        ),
    ]
    assert decisions.redacted(text, flags) == "[name removed] met Sam at [details removed]"
    only_address = decisions.Redaction((2,), ())
    assert (
        decisions.redacted(text, flags, only_address)
        == "Sam Scunthorpe met Sam at [details removed]"
    )
    # A typed word is removed as a whole word, wherever it is, any case; "Scun" is not in it.
    typed = decisions.Redaction((), ("sam",))
    assert decisions.redacted(text, flags, typed) == (
        "[details removed] Scunthorpe met [details removed] at 1 High St"
    )
    assert (
        decisions.check_extra_words(text, "Scun")[1] == "These words are not in the comment: Scun"
    )
    # A typed word inside a chosen part goes with it; a complaint flag is never removed.
    both = decisions.Redaction((1, 3), ("Scunthorpe",))
    assert decisions.redacted(text, flags, both) == "[name removed] met Sam at 1 High St"
    assert decisions.extra_words("a, A,\n b  c ,,") == ["a", "b c"]
    assert decisions.check_extra_words(text, ",".join(["Sam"] * 30))[0] == ["Sam"]
    assert "fewer" in decisions.check_extra_words(text, ",".join(str(i) for i in range(30)))[1]
