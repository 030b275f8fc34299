"""The parents' comment pages: asking for a link (register only, or anyone), commenting, the
complaint offer, a banned word, reporting, and the post panel showing only approved comments."""

from __future__ import annotations

from sqlalchemy import select

from portal.complaints import drafts
from portal.complaints.models import ComplaintDraft
from portal.domains import installed
from portal.history import Actor
from portal.moderation.identity import COMMENTER_COOKIE
from portal.moderation.models import Comment, Commenter, CommentStatus, WhoMayComment, WordKind
from portal.moderation.services import decisions, words
from portal.moderation.services.decisions import Action, Decision
from portal.moderation.services.settings import settings_of
from portal.sealing import unseal
from tests.conftest import TEST_SECRET
from tests.consent.families import last_link
from tests.moderation.helpers import (
    SECRET_WORD,
    comment_form,
    mails_to,
    moderator,
    parent_identity,
    pending_comment,
    send,
    signed_in_parent,
    world,
)
from tests.pages import csrf_of, page, text_of


def _ask(client, email: str):  # type: ignore[no-untyped-def]
    token = csrf_of(comment_form(client))
    return client.post(
        "/news/sports-day/comment/email",
        data={"csrf_token": token, "email": email},
        follow_redirects=False,
    )


def _anyone(db_session) -> None:
    row = settings_of(db_session)
    row.who_may_comment = WhoMayComment.anyone.value
    db_session.add(row)
    db_session.commit()


def test_a_parent_on_the_register_signs_in_from_the_post_and_comes_back(client, db_session):
    world(db_session)
    shown = comment_form(client)
    assert shown.status_code == 200 and page(shown).select_one("#email") is not None
    asked = _ask(client, "sarah@example.com")
    assert asked.status_code == 200 and page(asked).h1.text == "Check your email"
    link = last_link(db_session, TEST_SECRET, "sarah@example.com")
    assert link.endswith("?next=/news/sports-day/comment")
    path = "/" + link.split("/", 3)[3]
    opened = client.get(path)
    assert page(opened).select_one("input[name=next]")["value"] == "/news/sports-day/comment"
    used = client.post(
        path.split("?")[0],
        data={"csrf_token": csrf_of(opened), "next": "/news/sports-day/comment"},
        follow_redirects=False,
    )
    assert used.headers["location"] == "/news/sports-day/comment"
    form = comment_form(client)
    assert page(form).select_one("#display_name")["value"] == "Sarah J."
    sent = send(client, {"body": "What a lovely day", "display_name": "Sarah J."})
    assert sent.status_code == 303 and sent.headers["location"] == "/news/sports-day/comment/sent"
    assert db_session.scalars(select(Comment)).one().status == CommentStatus.pending.value


def test_the_sign_in_link_never_returns_anywhere_but_a_news_page(client, db_session):
    world(db_session)
    from tests.consent.families import ask_for_link

    ask_for_link(client, "sarah@example.com")
    path = "/" + last_link(db_session, TEST_SECRET, "sarah@example.com").split("/", 3)[3]
    opened = client.get(path + "?next=https://evil.example/")
    assert page(opened).select_one("input[name=next]") is None
    used = client.post(
        path, data={"csrf_token": csrf_of(opened), "next": "//evil.example"}, follow_redirects=False
    )
    assert used.headers["location"] == "/photos/answers"


def test_every_address_sees_the_same_page_and_register_only_sends_no_comment_link(
    client, db_session
):
    world(db_session)
    known, unknown = _ask(client, "sarah@example.com"), _ask(client, "stranger@example.com")
    assert known.status_code == unknown.status_code == 200
    assert page(known).h1.text == page(unknown).h1.text
    mails = mails_to(db_session, "stranger@example.com")
    assert len(mails) == 1 and mails[0].sealed_secret is None  # "not on our list"
    assert db_session.scalars(select(Commenter)).all() == []


def test_anyone_may_comment_after_confirming_by_their_own_link(client, db_session):
    world(db_session)
    _anyone(db_session)
    assert _ask(client, "stranger@example.com").status_code == 200
    mail = mails_to(db_session, "stranger@example.com")[-1]
    link = unseal(TEST_SECRET, mail.sealed_secret)
    assert "/news/comment-link/" in link and "stranger" not in link
    path = "/" + link.split("/", 3)[3]
    opened = client.get(path)
    assert opened.status_code == 200
    used = client.post(path, data={"csrf_token": csrf_of(opened)}, follow_redirects=False)
    assert used.headers["location"] == "/news/sports-day/comment"
    assert COMMENTER_COOKIE in used.headers["set-cookie"]
    again = client.post(
        path, data={"csrf_token": csrf_of(comment_form(client))}, follow_redirects=False
    )
    assert again.status_code == 410  # once only
    form = comment_form(client)
    assert page(form).select_one("#display_name")["value"] == ""
    missing = send(client, {"body": "Hello", "display_name": ""})
    assert missing.status_code == 422 and "Enter the name" in text_of(missing)
    sent = send(client, {"body": "Hello from a neighbour", "display_name": "Pat"})
    assert sent.status_code == 303
    comment = db_session.scalars(select(Comment)).one()
    assert not comment.on_register and comment.display_name == "Pat"
    assert db_session.get(Commenter, comment.commenter_id).confirmed_at is not None


def test_a_tampered_commenter_cookie_is_nobody(client, db_session):
    world(db_session)
    client.cookies.set(COMMENTER_COOKIE, "MQ.9999999999.deadbeef")
    assert page(comment_form(client)).select_one("#email") is not None


def test_the_complaint_offer_and_the_prefilled_complaint_form(client, db_session):
    world(db_session)
    signed_in_parent(client, db_session, TEST_SECRET)
    words_typed = "I want to complain, this is unacceptable and nobody listens"
    offer = send(client, {"body": words_typed, "display_name": "Sarah J."})
    assert offer.status_code == 200
    shown = page(offer)
    assert shown.h1.text == "Is this a concern or complaint?"
    assert shown.select_one("input[name=what_happened]")["value"] == words_typed
    assert db_session.scalars(select(Comment)).all() == []
    to_form = client.post(
        "/complaints/new/prefill",
        data={"csrf_token": csrf_of(offer), "what_happened": words_typed},
        follow_redirects=False,
    )
    assert to_form.headers["location"] == "/complaints/new/kind"
    draft = db_session.scalars(select(ComplaintDraft)).one()
    assert drafts.answers_of(draft)["what_happened"] == words_typed
    anyway = send(client, {"body": words_typed, "display_name": "Sarah J.", "post_anyway": "yes"})
    assert anyway.status_code == 303
    assert db_session.scalars(select(Comment)).one().posted_anyway


def test_a_banned_word_is_refused_with_the_reason_and_the_text_kept(client, db_session):
    world(db_session)
    words.add_word(db_session, WordKind.banned, SECRET_WORD, Actor.system())
    db_session.commit()
    signed_in_parent(client, db_session, TEST_SECRET)
    typed = f"You are a {SECRET_WORD} and I said so"
    refused = send(client, {"body": typed, "display_name": "Sarah J."})
    assert refused.status_code == 422
    assert page(refused).select_one("#body").text == typed
    assert SECRET_WORD in page(refused).select_one(".govuk-error-summary").text
    row = db_session.scalars(select(Comment)).one()
    assert row.status == CommentStatus.rejected.value and SECRET_WORD in row.decision_reason


def test_a_blocked_parent_is_told_clearly(client, db_session, settings):
    family, _post = world(db_session)
    who = parent_identity(db_session, family)
    decisions.block(
        db_session, settings, who.commenter.id, Decision(Action.block, "x"), moderator(db_session)
    )
    db_session.commit()
    signed_in_parent(client, db_session, TEST_SECRET)
    assert "cannot comment" in text_of(comment_form(client))
    refused = client.post(
        "/news/sports-day/comment",
        data={"csrf_token": csrf_of(client.get("/staff/login")), "body": "Hi", "display_name": "S"},
    )
    assert refused.status_code == 422 and "cannot comment" in text_of(refused)


def test_a_post_that_is_not_public_has_no_comment_page(client, db_session):
    from tests.moderation.helpers import draft_post

    draft_post(db_session, moderator(db_session))
    assert client.get("/news/not-yet/comment").status_code == 404
    assert client.get("/news/nothing-here/comment").status_code == 404
    assert client.get("/news/" + "x" * 500 + "/comment").status_code == 404


def test_the_post_panel_shows_only_approved_comments_and_counts_them(
    app, client, db_session, settings
):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    office = moderator(db_session)
    texts = ["First approved", "Second approved", "Third approved", "Still pending", "Rejected one"]
    made = [pending_comment(db_session, post, who, text) for text in texts]
    for comment in made[:3]:
        decisions.decide(db_session, settings, comment.id, Decision(Action.approve), office)
    decisions.decide(db_session, settings, made[4].id, Decision(Action.reject, "No"), office)
    db_session.commit()
    request = client.get("/news/sports-day/comment").request  # any request for the panel
    from starlette.requests import Request

    scope = {
        "type": "http",
        "app": app,
        "headers": [],
        "path": "/",
        "method": "GET",
        "query_string": b"",
    }
    shown = installed().panels_for_post(Request(scope), db_session, post)
    assert [p.template for p in shown] == ["moderation/post-comments.html"]
    panel = shown[0].panel
    assert panel["count"] == 3
    assert [c["body"].striptags() for c in panel["comments"]] == texts[:3]
    html = app.state.templates.get_template(shown[0].template).render(
        panel=panel, school=app.state.school_for(Request(scope)), csrf_token="x"
    )
    assert "3 comments" in html
    assert "Still pending" not in html and "Rejected one" not in html
    assert "sarah@example.com" not in html
    assert request is not None


def test_reporting_a_published_comment(client, db_session, settings):
    family, post = world(db_session)
    comment = pending_comment(db_session, post, parent_identity(db_session, family), "Hmm")
    decisions.decide(
        db_session, settings, comment.id, Decision(Action.approve), moderator(db_session)
    )
    db_session.commit()
    path = f"/news/sports-day/comments/{comment.id}/report"
    assert "confirm your email" in text_of(client.get(path))
    signed_in_parent(client, db_session, TEST_SECRET, "tom@example.com")
    shown = client.get(path)
    empty = client.post(
        path, data={"csrf_token": csrf_of(shown), "reason": " "}, follow_redirects=False
    )
    assert empty.status_code == 422
    done = client.post(
        path, data={"csrf_token": csrf_of(shown), "reason": "Unkind"}, follow_redirects=False
    )
    assert done.status_code == 200 and page(done).h1.text == "Thank you for telling us"
    db_session.refresh(comment)
    assert comment.queued and comment.report_count == 1
    pending = pending_comment(db_session, post, parent_identity(db_session, family), "Waiting")
    assert client.get(f"/news/sports-day/comments/{pending.id}/report").status_code == 404
