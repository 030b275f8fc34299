"""The news channel's rules, through its services: every step of a post's approval, nobody
approving their own post, the photo check before approval, the warning when consent changes
after, scheduled posts going out by the clock, pictures made safe, Markdown made safe."""

from __future__ import annotations

import io
import stat
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from sqlalchemy import select

from portal.accounts.models import Role
from portal.channel.models import PostPupil, PostStatus
from portal.channel.services import images, posts, workflow
from portal.consent.models import FlagKind
from portal.consent.services import flags
from portal.db import now_of
from portal.history import history_of
from portal.mail import OutboxMessage
from portal.text import render_markdown
from tests.channel.conftest import approved_with, draft, png, say_website, sent, with_picture
from tests.factories import make_user


def outbox(session, subject_part: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return [m for m in session.scalars(select(OutboxMessage)) if subject_part in m.subject]


def tags(session, post) -> list[str]:  # type: ignore[no-untyped-def]
    return [event.tag for event in history_of(session, "news_post", post.id)]


def test_a_post_goes_from_draft_to_the_head_and_out(db_session, people, clock):
    post = draft(db_session, people.office)
    assert post.status == PostStatus.draft and post.slug.startswith("draft-")
    assert not posts.is_public(post, now_of(db_session))
    workflow.edit_post(
        db_session,
        people.office,
        post,
        title="Sports day 2026",
        summary="",
        body="Races.",
        seen_revision=post.revision,
    )
    sent(db_session, people.office, post)
    assert post.status == PostStatus.awaiting_approval
    asked = outbox(db_session, "waiting for your approval")
    assert [m.to_address for m in asked] == [people.head.email]
    assert "/staff/news/" in asked[0].body_text
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    assert post.status == PostStatus.approved
    assert post.slug == "sports-day-2026"
    assert post.approved_by_id == people.head.id
    assert posts.public_post(db_session, "sports-day-2026", now_of(db_session)).id == post.id
    workflow.withdraw(db_session, people.office, post)
    db_session.commit()
    assert post.status == PostStatus.withdrawn
    assert posts.public_post(db_session, post.slug, now_of(db_session)) is None
    assert tags(db_session, post) == [
        workflow.CREATED,
        workflow.EDITED,
        workflow.SUBMITTED,
        workflow.APPROVED,
        workflow.WITHDRAWN,
    ]


def test_the_head_returns_a_post_with_comments_and_the_author_is_told(db_session, people):
    post = sent(db_session, people.office, draft(db_session, people.office))
    with pytest.raises(workflow.NewsRefused, match="Write what"):
        workflow.return_post(
            db_session, people.head, post, seen_revision=post.revision, comments=" ", base_url=""
        )
    workflow.return_post(
        db_session,
        people.head,
        post,
        seen_revision=post.revision,
        comments="Add the date, please.",
        base_url="http://test",
    )
    db_session.commit()
    assert post.status == PostStatus.returned
    assert workflow.last_comments(db_session, post) == "Add the date, please."
    told = outbox(db_session, "returned with comments")
    assert [m.to_address for m in told] == [people.office.email]
    assert "Add the date, please." in told[0].body_text
    sent(db_session, people.office, post)  # sent again after the changes
    assert post.status == PostStatus.awaiting_approval


def test_nobody_approves_their_own_post_and_the_chair_approves_the_heads(db_session, people):
    post = sent(db_session, people.head, draft(db_session, people.head, "From the head"))
    with pytest.raises(workflow.NewsRefused, match="someone else must approve"):
        workflow.approve(
            db_session, people.head, post, seen_revision=post.revision, publish_at=None
        )
    assert [u.id for u in workflow.approvers_for(db_session, post)] == [people.chair.id]
    assert [m.to_address for m in outbox(db_session, "waiting for your approval")] == [
        people.chair.email
    ]
    workflow.approve(db_session, people.chair, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    assert post.status == PostStatus.approved


def test_with_a_second_head_the_chair_does_not_approve(db_session, people):
    deputy = make_user(db_session, Role.head, name="Second Head")
    post = sent(db_session, people.head, draft(db_session, people.head))
    assert [u.id for u in workflow.approvers_for(db_session, post)] == [deputy.id]
    with pytest.raises(workflow.NewsRefused, match="Only the head"):
        workflow.approve(
            db_session, people.chair, post, seen_revision=post.revision, publish_at=None
        )


def test_only_drafting_roles_write_and_only_the_author_edits(db_session, people):
    with pytest.raises(workflow.NewsRefused):
        workflow.create_post(db_session, people.governor, title="x", summary="", body="y")
    post = draft(db_session, people.office)
    with pytest.raises(workflow.NewsRefused, match="Only the author"):
        workflow.edit_post(
            db_session, people.senior, post, title="t", summary="", body="b", seen_revision=1
        )


def test_an_old_revision_cannot_overwrite_a_newer_one(db_session, people):
    post = draft(db_session, people.office)
    seen = post.revision
    workflow.edit_post(
        db_session, people.office, post, title="One", summary="", body="b", seen_revision=seen
    )
    with pytest.raises(workflow.NewsRefused, match="changed this post"):
        workflow.edit_post(
            db_session, people.office, post, title="Two", summary="", body="b", seen_revision=seen
        )


def test_the_head_cannot_approve_what_changed_since_they_read_it(db_session, people):
    post = sent(db_session, people.office, draft(db_session, people.office))
    seen = post.revision
    workflow.edit_post(
        db_session, people.office, post, title="New", summary="", body="b", seen_revision=seen
    )
    with pytest.raises(workflow.NewsRefused, match="changed this post while you were reading"):
        workflow.approve(db_session, people.head, post, seen_revision=seen, publish_at=None)


def test_a_title_is_one_line(db_session, people):
    post = workflow.create_post(
        db_session, people.office, title="Sports\nday\u2028 now", summary="", body="b"
    )
    assert post.title == "Sports day now"


def test_a_picture_needs_an_answer_about_pupils_before_it_is_sent(db_session, settings, people):
    post = draft(db_session, people.office)
    images.add_image(
        db_session, settings, people.office, post, filename="a.png", content=png(), alt_text="A"
    )
    with pytest.raises(workflow.NewsRefused, match="Say which pupils"):
        workflow.submit(db_session, people.office, post, seen_revision=post.revision, base_url="")
    workflow.answer_pupils(db_session, people.office, post, workflow.NOBODY)
    workflow.submit(db_session, people.office, post, seen_revision=post.revision, base_url="")


def test_pictures_are_resized_stripped_and_private(db_session, settings, people):
    post = draft(db_session, people.office)
    image = images.add_image(
        db_session, settings, people.office, post, filename="a.png", content=png(), alt_text="A"
    )
    db_session.commit()
    assert (image.width, image.height) == (1600, 800)
    path = images.path_of(settings, image)
    with Image.open(path) as opened:
        assert opened.size == (1600, 800)
        assert "Location" not in opened.info
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent.name == "news"


@pytest.mark.parametrize(
    ("content", "alt", "message"),
    [
        (b"%PDF-1.4 not a picture", "A", "must be a JPG or PNG"),
        (b"", "A", "is empty"),
        (b"\x89PNG\r\n\x1a\nbroken", "A", "could not be opened"),
        (None, " ", "Describe the picture"),
        (None, "x" * 501, "500 characters"),
    ],
)
def test_pictures_are_refused_with_a_reason(db_session, settings, people, content, alt, message):
    post = draft(db_session, people.office)
    with pytest.raises(workflow.NewsRefused, match=message):
        images.add_image(
            db_session,
            settings,
            people.office,
            post,
            filename="a.png",
            content=png(10, 10) if content is None else content,
            alt_text=alt,
        )


def test_a_refused_transaction_leaves_no_file(db_session, settings, people):
    post = draft(db_session, people.office)
    image = images.add_image(
        db_session, settings, people.office, post, filename="a.png", content=png(), alt_text="A"
    )
    path = images.path_of(settings, image)
    assert path.exists()
    db_session.rollback()
    assert not path.exists()


def test_the_photo_check_refuses_approval_and_says_who_and_why(
    db_session, settings, people, register
):
    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.allowed, register.refused])
    sent(db_session, people.office, post)
    with pytest.raises(workflow.PhotoCheckRefused) as refused:
        workflow.approve(
            db_session, people.head, post, seen_revision=post.revision, publish_at=None
        )
    assert [line.pupil.id for line in refused.value.failing] == [register.refused.id]
    assert refused.value.failing[0].words == "Refused"
    assert "Zoe Clarke" in str(refused.value)
    db_session.rollback()
    assert post.status == PostStatus.awaiting_approval


def test_a_named_pupil_needs_consent_to_be_named(db_session, settings, people, register):
    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.allowed, register.unnamed])
    workflow.answer_pupils(db_session, people.office, post, workflow.NAMED)
    assert all(row.named for row in db_session.scalars(select(PostPupil)))
    sent(db_session, people.office, post)
    with pytest.raises(workflow.PhotoCheckRefused) as refused:
        workflow.approve(
            db_session, people.head, post, seen_revision=post.revision, publish_at=None
        )
    assert [line.pupil.id for line in refused.value.failing] == [register.unnamed.id]
    assert "may not be named" in refused.value.failing[0].words


def test_pupils_with_consent_let_the_post_out(db_session, settings, people, register):
    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.allowed, register.unnamed])
    sent(db_session, people.office, post)
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    assert post.status == PostStatus.approved


def test_a_withdrawal_after_publishing_flags_the_post_and_tells_head_and_office(
    db_session, settings, people, register, clock
):
    post = approved_with(db_session, settings, people, [register.allowed])
    clock.advance(timedelta(hours=1))
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], False, False)
    db_session.commit()
    db_session.refresh(post)
    assert post.consent_flagged_at == now_of(db_session)
    assert "Amelia Jones, 3B: Withdrawn on" in post.consent_flag_detail
    told = outbox(db_session, "Check a news post now")
    assert sorted(m.to_address for m in told) == sorted([people.office.email, people.head.email])
    assert [p.id for p in workflow.flagged_posts(db_session)] == [post.id]
    assert workflow.FLAGGED in tags(db_session, post)
    # Still public until the head or office decide; dealing with it needs the pupil out first.
    with pytest.raises(workflow.NewsRefused, match="still says no"):
        workflow.deal_with_flag(db_session, people.head, post, note="Replaced")
    workflow.remove_pupil(db_session, people.head, post, register.allowed.id)  # type: ignore[arg-type]
    workflow.deal_with_flag(db_session, people.head, post, note="Picture replaced")
    db_session.commit()
    assert post.consent_flagged_at is None
    assert workflow.flagged_posts(db_session) == []


def test_a_safeguarding_flag_after_publishing_flags_the_post_too(
    db_session, settings, people, register
):
    post = approved_with(db_session, settings, people, [register.unnamed])
    flags.set_flag(db_session, people.office, register.unnamed, FlagKind.at_risk, "Reason")
    db_session.commit()
    db_session.refresh(post)
    assert post.consent_flagged_at is not None
    assert "Restricted" in post.consent_flag_detail
    assert "Reason" not in post.consent_flag_detail


def test_a_consent_change_for_a_pupil_not_in_posts_changes_nothing(
    db_session, settings, people, register
):
    post = approved_with(db_session, settings, people, [register.allowed])
    say_website(db_session, people.office, register.unnamed, register.contacts["P2"], False, False)
    db_session.commit()
    db_session.refresh(post)
    assert post.consent_flagged_at is None
    assert outbox(db_session, "Check a news post now") == []


def test_a_scheduled_post_goes_out_when_its_time_comes(db_session, settings, people, clock):
    later = now_of(db_session) + timedelta(days=7)
    post = approved_with(db_session, settings, people, [], publish_at=later)
    assert post.status == PostStatus.approved
    assert posts.public_post(db_session, post.slug, now_of(db_session)) is None
    assert posts.public_page(db_session, now_of(db_session), 1)[0] == []
    clock.set(later)
    assert posts.public_post(db_session, post.slug, now_of(db_session)).id == post.id
    assert [p.id for p in posts.latest_public(db_session, now_of(db_session))] == [post.id]


def test_a_scheduled_post_is_returned_when_consent_is_withdrawn_before_it_goes_out(
    db_session, settings, people, register
):
    later = now_of(db_session) + timedelta(days=7)
    post = approved_with(db_session, settings, people, [register.allowed], publish_at=later)
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], False, False)
    db_session.commit()
    db_session.refresh(post)
    assert post.status == PostStatus.returned
    assert "Amelia Jones" in workflow.last_comments(db_session, post)
    assert not posts.is_public(post, later)


def test_approving_for_a_past_time_is_refused(db_session, people):
    post = sent(db_session, people.office, draft(db_session, people.office))
    with pytest.raises(workflow.NewsRefused, match="future"):
        workflow.approve(
            db_session,
            people.head,
            post,
            seen_revision=post.revision,
            publish_at=now_of(db_session) - timedelta(minutes=1),
        )


def test_two_posts_with_one_title_get_two_addresses(db_session, people):
    slugs = []
    for _ in range(2):
        post = sent(db_session, people.office, draft(db_session, people.office, "Harvest"))
        workflow.approve(
            db_session, people.head, post, seen_revision=post.revision, publish_at=None
        )
        db_session.commit()
        slugs.append(post.slug)
    assert slugs[0] == "harvest" and slugs[1].startswith("harvest-")


def test_only_head_and_office_take_a_post_down(db_session, people):
    post = sent(db_session, people.office, draft(db_session, people.office))
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    with pytest.raises(workflow.NewsRefused):
        workflow.withdraw(db_session, people.senior, post)
    workflow.withdraw(db_session, people.head, post)
    with pytest.raises(workflow.NewsRefused, match="already"):
        workflow.withdraw(db_session, people.office, post)


def test_markdown_is_made_safe():
    html = str(
        render_markdown(
            "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) "
            '[y](https://example.com "t") <img src=x onerror=alert(1)> **bold**'
        )
    )
    parsed = BeautifulSoup(html, "html.parser")
    assert parsed.select("script, img") == []
    assert [a["href"] for a in parsed.select("a")] == ["https://example.com"]
    assert not any(tag.attrs.get("onerror") for tag in parsed.find_all(True))
    assert '<h2 class="govuk-heading-m">Title</h2>' in html
    assert 'href="https://example.com"' in html
    assert "<strong>bold</strong>" in html


def test_the_slug_is_plain(db_session):
    assert workflow.slug_for("Zoë's  trip — to the Zoo!") == "zoes-trip-to-the-zoo"
    assert workflow.slug_for("!!!") == "post"
    assert workflow.slug_for("Images") == "images-post"
    assert workflow.slug_for("Comments") == "comments-post"
    assert len(workflow.slug_for("a" * 500)) == 80


def test_a_picture_file_is_never_read_from_its_name(db_session, settings, people):
    post = draft(db_session, people.office)
    jpeg = io.BytesIO()
    Image.new("RGB", (10, 10)).save(jpeg, format="JPEG")
    image = images.add_image(
        db_session,
        settings,
        people.office,
        post,
        filename="photo.png",
        content=jpeg.getvalue(),
        alt_text="A",
    )
    assert image.content_type == "image/jpeg" and image.stored_name.endswith(".jpg")
