"""The moderators' pages: the queue with its marks, filters and bulk actions, one comment with a
redaction, the word lists and test box, external comments, the settings, and who may open each."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import Role
from portal.history import history_of
from portal.moderation.models import Comment, ExternalComment, ModerationWord
from portal.moderation.services.settings import settings_of
from tests.conftest import csrf_of
from tests.factories import make_user, sign_in
from tests.moderation.helpers import moderator, parent_identity, pending_comment, world
from tests.pages import page, text_of

HOSTILE = ["x" * 20_000, "\u202eevil\u202c", "٣٤٥ مرحبا", "9" * 40, "a\x00b", "<script>x</script>"]


def _staff(client, db_session, role=Role.office):  # type: ignore[no-untyped-def]
    user = moderator(db_session, role, name=f"Mod {role.value}")
    sign_in(client, user)
    return user


def test_the_queue_marks_flags_in_words_and_filters_by_rule(client, db_session):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    named = pending_comment(db_session, post, who, "Well done Millie Jones!")
    plain = pending_comment(db_session, post, who, "Lovely day")
    _staff(client, db_session)
    queue = client.get("/staff/moderation")
    assert queue.status_code == 200
    card = page(queue).select_one(f"#comment-{named.id}")
    mark = card.select_one("mark")
    assert mark.text == "Millie Jones" and mark["data-rule"] == "pupil_name"
    assert "A pupil's name" in card.text and "On the pupil register" in card.text
    assert "sarah@example.com" not in queue.text
    filtered = client.get("/staff/moderation?rule=pupil_name")
    assert page(filtered).select_one(f"#comment-{plain.id}") is None
    assert page(filtered).select_one(f"#comment-{named.id}") is not None
    assert client.get("/staff/moderation?rule=nonsense&page=99999999999999").status_code == 200


def test_approve_with_a_redaction_the_moderator_chooses(client, db_session):
    family, post = world(db_session)
    text = "Go Maya Patel and Millie Jones! Call Bubba on 07700 900123."
    named = pending_comment(db_session, post, parent_identity(db_session, family), text)
    user = _staff(client, db_session)
    comment_page = client.get(f"/staff/moderation/comments/{named.id}")
    link = page(comment_page).select_one("#redact-link")["href"]
    assert link == f"/staff/moderation/comments/{named.id}/redact"
    shown = client.get(link)
    assert shown.status_code == 200
    boxes = page(shown).select("input[name=parts]")
    assert [b.has_attr("checked") for b in boxes] == [True, True, True]
    labels = [text_of_label(shown, b["id"]) for b in boxes]
    assert labels == ["“Maya Patel”", "“Millie Jones”", "“07700 900123”"]
    assert page(shown).select_one("#preview").text == (
        "Go [name removed] and [name removed]! Call Bubba on [details removed]."
    )
    token = csrf_of(shown)
    keep_millie = [boxes[0]["value"], boxes[2]["value"]]
    missing = client.post(
        link, data={"csrf_token": token, "parts": keep_millie, "also_remove": "Bubba, Zog"}
    )
    assert missing.status_code == 422
    assert "not in the comment: Zog" in text_of(missing)
    assert page(missing).select_one("#also_remove").text == "Bubba, Zog"
    assert [b.has_attr("checked") for b in page(missing).select("input[name=parts]")] == [
        True,
        False,
        True,
    ]
    nothing = client.post(link, data={"csrf_token": token})
    assert nothing.status_code == 422 and "Choose at least one part" in text_of(nothing)
    assert not any(b.has_attr("checked") for b in page(nothing).select("input[name=parts]"))
    previewed = client.post(
        link,
        data={"csrf_token": token, "parts": keep_millie, "also_remove": "bubba", "preview": "yes"},
    )
    assert previewed.status_code == 200
    assert page(previewed).select_one("#preview").text == (
        "Go [name removed] and Millie Jones! Call [details removed] on [details removed]."
    )
    db_session.refresh(named)
    assert named.status == "pending"
    done = client.post(
        link,
        data={"csrf_token": token, "parts": keep_millie, "also_remove": "bubba"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.refresh(named)
    assert named.status == "approved" and named.original_body == text
    assert (
        named.body
        == "Go [name removed] and Millie Jones! Call [details removed] on [details removed]."
    )
    event = history_of(db_session, "comment", named.id)[-1]
    assert event.tag == "comment:redact" and event.actor_user_id == user.id
    assert event.details["removed_rules"] == ["phone_number", "pupil_name"]
    assert event.details["words_removed"] == 1
    again = client.post(link, data={"csrf_token": token, "parts": keep_millie})
    assert again.status_code == 409 and "already decided" in text_of(again)
    assert client.get(link, follow_redirects=False).status_code == 303
    public = client.get("/news/sports-day/comment")
    assert "Bubba" not in public.text and text not in public.text


def text_of_label(response, input_id: str) -> str:  # type: ignore[no-untyped-def]
    return page(response).select_one(f"label[for={input_id}]").text.strip()


def test_a_redaction_of_typed_words_only_and_the_original_for_moderators_only(client, db_session):
    family, post = world(db_session)
    plain = pending_comment(
        db_session, post, parent_identity(db_session, family), "Big Tom and bigtom won"
    )
    _staff(client, db_session)
    link = f"/staff/moderation/comments/{plain.id}/redact"
    shown = client.get(link)
    assert page(shown).select("input[name=parts]") == []
    done = client.post(
        link,
        data={"csrf_token": csrf_of(shown), "also_remove": "big   tom"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.refresh(plain)
    assert plain.body == "[details removed] and bigtom won"
    moderator_view = client.get(f"/staff/moderation/comments/{plain.id}")
    assert "Big Tom and bigtom won" in text_of(moderator_view)
    assert "[details removed] and bigtom won" in page(moderator_view).select_one("#published").text


def test_the_queue_stops_counting_after_the_cap_and_still_pages(client, db_session, monkeypatch):
    from portal.moderation.services import decisions

    monkeypatch.setattr(decisions, "COUNT_CAP", 2)
    monkeypatch.setattr(decisions, "PAGE_SIZE", 1)
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    made = [pending_comment(db_session, post, who, f"Comment {i}") for i in range(4)]
    _staff(client, db_session)
    first = page(client.get("/staff/moderation"))
    assert first.select_one("#queue-count").text == "More than 2 comments waiting."
    assert first.select_one(f"#comment-{made[0].id}") is not None
    assert first.select_one("a[rel=next]")["href"] == "/staff/moderation?page=2"
    last = page(client.get("/staff/moderation?page=4"))
    assert last.select_one(f"#comment-{made[3].id}") is not None
    assert last.select_one("a[rel=next]") is None
    assert "Page 4" in last.select_one(".govuk-pagination").text


def test_bulk_reject_needs_a_reason_and_ids(client, db_session):
    family, post = world(db_session)
    who = parent_identity(db_session, family)
    made = [pending_comment(db_session, post, who, f"Comment {i}") for i in range(3)]
    _staff(client, db_session)
    token = csrf_of(client.get("/staff/moderation"))
    none = client.post("/staff/moderation", data={"csrf_token": token, "action": "approve"})
    assert none.status_code == 422
    no_reason = client.post(
        "/staff/moderation",
        data={"csrf_token": token, "action": "reject", "comment_ids": [m.id for m in made[:2]]},
    )
    assert no_reason.status_code == 422
    assert len(page(no_reason).select("input[name=comment_ids][checked]")) == 2
    done = client.post(
        "/staff/moderation",
        data={
            "csrf_token": token,
            "action": "reject",
            "reason": "Off topic",
            "comment_ids": [m.id for m in made[:2]],
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.expire_all()
    assert [db_session.get(Comment, m.id).status for m in made] == [
        "rejected",
        "rejected",
        "pending",
    ]


def test_word_lists_and_the_test_box(client, db_session):
    world(db_session)
    _staff(client, db_session)
    # The migration seeds the lists; a committed test elsewhere may have emptied the table since.
    if db_session.scalar(select(ModerationWord.id).where(ModerationWord.word == "ofsted")) is None:
        db_session.add(ModerationWord(kind="suspect", word="ofsted"))
        db_session.flush()
    words_page = client.get("/staff/moderation/words")
    assert words_page.status_code == 200 and "ofsted" in words_page.text
    token = csrf_of(words_page)
    added = client.post(
        "/staff/moderation/words",
        data={"csrf_token": token, "kind": "suspect", "word": "Zebracorn"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    dup = client.post(
        "/staff/moderation/words",
        data={"csrf_token": token, "kind": "suspect", "word": "zebracorn"},
    )
    assert dup.status_code == 422
    tested = client.post(
        "/staff/moderation/words/test",
        data={"csrf_token": token, "text": "A zebracorn met Millie Jones, mail me a@b.example"},
    )
    result = page(tested).select_one("#test-result")
    assert {m["data-rule"] for m in result.select("mark")} >= {
        "suspect_word",
        "pupil_name",
        "email_address",
    }
    row = db_session.scalars(select(ModerationWord).where(ModerationWord.word == "zebracorn")).one()
    removed = client.post(
        f"/staff/moderation/words/{row.id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert (
        client.post("/staff/moderation/words/999999/remove", data={"csrf_token": token}).status_code
        == 404
    )


def test_external_comments_are_recorded_and_screened(client, db_session):
    world(db_session)
    _staff(client, db_session)
    token = csrf_of(client.get("/staff/moderation/external"))
    bad = client.post(
        "/staff/moderation/external",
        data={
            "csrf_token": token,
            "channel": "myspace",
            "body": "",
            "action": "x",
            "link": "javascript:x",
        },
    )
    assert bad.status_code == 422
    done = client.post(
        "/staff/moderation/external",
        data={
            "csrf_token": token,
            "channel": "facebook",
            "link": "https://facebook.example/post/1",
            "author": "A parent",
            "body": "Millie Jones was pushed, call 07700 900123",
            "action": "hidden",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get("/staff/moderation/external?saved=1")
    card = page(shown).select_one(".govuk-summary-card")
    assert "Facebook" in card.text and card.select_one("mark[data-rule=pupil_name]") is not None
    assert db_session.scalars(select(ExternalComment)).one().action == "hidden"


def test_settings_are_admin_only_and_logged(client, db_session):
    world(db_session)
    _staff(client, db_session, Role.admin)
    shown = client.get("/staff/moderation/settings")
    token = csrf_of(shown)
    seen = page(shown).select_one("input[name=seen]")["value"]
    wrong = client.post(
        "/staff/moderation/settings",
        data={
            "csrf_token": token,
            "who_may_comment": "anyone",
            "reports_to_hide": "9" * 30,
            "seen": seen,
        },
    )
    assert wrong.status_code == 422 and "9" * 30 in wrong.text
    done = client.post(
        "/staff/moderation/settings",
        data={
            "csrf_token": token,
            "who_may_comment": "anyone",
            "reports_to_hide": "5",
            "seen": seen,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = settings_of(db_session)
    db_session.refresh(row)
    assert (row.who_may_comment, row.reports_to_hide) == ("anyone", 5)
    stale = client.post(
        "/staff/moderation/settings",
        data={
            "csrf_token": token,
            "who_may_comment": "register",
            "reports_to_hide": "3",
            "seen": seen,
        },
    )
    assert stale.status_code == 409
    assert len(history_of(db_session, "moderation-settings", row.id)) == 2


def test_blocked_commenters_are_listed_and_can_be_unblocked(client, db_session, settings):
    from portal.moderation.services import decisions
    from portal.moderation.services.decisions import Action, Decision

    family, post = world(db_session)
    who = parent_identity(db_session, family)
    pending_comment(db_session, post, who, "First")
    office = _staff(client, db_session)
    empty = client.get("/staff/moderation/blocked")
    assert empty.status_code == 200 and page(empty).select_one("#none-blocked") is not None
    queue = client.get("/staff/moderation")
    assert page(queue).select_one("a[href='/staff/moderation/blocked']") is not None
    decisions.block(db_session, settings, who.commenter.id, Decision(Action.block, "Rude"), office)
    db_session.commit()
    shown = client.get("/staff/moderation/blocked")
    card = page(shown).select_one(f"#commenter-{who.commenter.id}")
    assert "Sarah Jones, on the pupil register" in card.text and "Rude" in card.text
    assert "sarah@example.com" not in shown.text
    url = f"/staff/moderation/blocked/{who.commenter.id}/unblock"
    done = client.post(url, data={"csrf_token": csrf_of(shown)}, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert page(after).select_one("#unblocked") is not None
    assert page(after).select_one("#none-blocked") is not None
    db_session.refresh(who.commenter)
    assert not who.commenter.blocked and who.commenter.blocked_reason == ""
    tags = [e.tag for e in history_of(db_session, "commenter", who.commenter.id)]
    assert tags[-2:] == ["commenter:blocked", "commenter:unblocked"]
    again = client.post(url, data={"csrf_token": csrf_of(shown)})
    assert again.status_code == 409 and "not blocked" in text_of(again)
    gone = "/staff/moderation/blocked/999999/unblock"
    assert client.post(gone, data={"csrf_token": csrf_of(shown)}).status_code == 404


@pytest.mark.committed
def test_two_moderators_unblocking_at_once_exactly_one_wins(app, db_session, settings):
    from portal.moderation.services import decisions
    from portal.moderation.services.decisions import Action, Decision

    family, _post = world(db_session)
    who = parent_identity(db_session, family)
    users = [
        make_user(db_session, Role.office, name="Ann Office"),
        make_user(db_session, Role.head, name="Bob Head"),
    ]
    decisions.block(db_session, settings, who.commenter.id, Decision(Action.block, "x"), users[0])
    db_session.commit()
    clients = [TestClient(app, raise_server_exceptions=False) for _ in users]
    tokens = []
    for client, user in zip(clients, users, strict=True):
        sign_in(client, user)
        tokens.append(csrf_of(client.get("/staff/moderation/blocked")))
    codes = [0, 0]
    barrier = threading.Barrier(2)
    url = f"/staff/moderation/blocked/{who.commenter.id}/unblock"

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = (
            clients[i].post(url, data={"csrf_token": tokens[i]}, follow_redirects=False).status_code
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [303, 409]
    db_session.expire_all()
    tags = [e.tag for e in history_of(db_session, "commenter", who.commenter.id)]
    assert tags.count("commenter:unblocked") == 1


ROUTE_ROLES = {
    "/staff/moderation": {Role.office, Role.head},
    "/staff/moderation/comments/{comment_id}": {Role.office, Role.head},
    "/staff/moderation/comments/{comment_id}/redact": {Role.office, Role.head},
    "/staff/moderation/external": {Role.office, Role.head},
    "/staff/moderation/blocked": {Role.office, Role.head},
    "/staff/moderation/blocked/{commenter_id}/unblock": {Role.office, Role.head},
    "/staff/moderation/words": {Role.office, Role.admin},
    "/staff/moderation/words/test": {Role.office, Role.admin},
    "/staff/moderation/words/{word_id}/remove": {Role.office, Role.admin},
    "/staff/moderation/settings": {Role.admin},
}


def test_access_matrix_every_route_every_staff_role(app, client, db_session):
    from tests.routes import api_routes

    paths = {
        (method, route.path)
        for route in api_routes(app)
        if getattr(route, "path", "").startswith("/staff/moderation")
        for method in route.methods - {"HEAD"}
    }
    assert {path for _m, path in paths} == set(ROUTE_ROLES)
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role, name=f"Tester {role.value}"))
        token = csrf_of(client.get("/staff/login"))
        for method, path in sorted(paths):
            url = re.sub(r"\{\w+\}", "999999", path)
            if method == "GET":
                code = client.get(url, follow_redirects=False).status_code
            else:
                code = client.post(
                    url, data={"csrf_token": token}, follow_redirects=False
                ).status_code
            assert code < 500, (role, method, url)
            if role in ROUTE_ROLES[path]:
                assert code != 403, (role, method, url)
            else:
                assert code == 403, (role, method, url, code)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_on_every_field_keeps_the_text(client, db_session, value):
    from tests.conftest import TEST_SECRET
    from tests.moderation.helpers import send, signed_in_parent

    family, post = world(db_session)
    signed_in_parent(client, db_session, TEST_SECRET)
    for data in (
        {"body": value, "display_name": "Sarah J."},
        {"body": "Fine words", "display_name": value},
    ):
        response = send(client, data)
        assert response.status_code < 500
    client.cookies.clear()
    token = csrf_of(client.get("/news/sports-day/comment"))
    asked = client.post(
        "/news/sports-day/comment/email", data={"csrf_token": token, "email": value}
    )
    assert asked.status_code < 500
    _staff(client, db_session, Role.admin)
    token = csrf_of(client.get("/staff/moderation/words"))
    for path, data in (
        ("/staff/moderation/words", {"kind": "banned", "word": value}),
        ("/staff/moderation/words", {"kind": value, "word": "x"}),
        ("/staff/moderation/words/test", {"text": value}),
        (
            "/staff/moderation/settings",
            {"who_may_comment": value, "reports_to_hide": value, "seen": value},
        ),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code < 500, path
    waiting = pending_comment(
        db_session, post, parent_identity(db_session, family), "Go Maya Patel"
    )
    office = moderator(db_session, Role.office, name="Hostile Office")
    client.cookies.clear()
    sign_in(client, office)
    token = csrf_of(client.get("/staff/moderation"))
    for path, data in (
        ("/staff/moderation", {"action": value, "reason": value, "comment_ids": [value, "1"]}),
        (
            f"/staff/moderation/comments/{waiting.id}/redact",
            {"parts": [value, "1"], "also_remove": value},
        ),
        (
            "/staff/moderation/external",
            {"channel": value, "link": value, "author": value, "body": value, "action": value},
        ),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code < 500, path
        if len(value) < 1000 and "\x00" not in value and "\u202e" not in value and "<" not in value:
            assert value in response.text, path


@pytest.mark.committed
def test_two_moderators_deciding_at_once_exactly_one_wins(app, db_session):
    family, post = world(db_session)
    comment = pending_comment(db_session, post, parent_identity(db_session, family), "Race me")
    users = [
        make_user(db_session, Role.office, name="Ann Office"),
        make_user(db_session, Role.head, name="Bob Head"),
    ]
    clients = [TestClient(app, raise_server_exceptions=False) for _ in users]
    tokens = []
    for client, user in zip(clients, users, strict=True):
        sign_in(client, user)
        tokens.append(csrf_of(client.get(f"/staff/moderation/comments/{comment.id}")))
    codes = [0, 0]
    barrier = threading.Barrier(2)
    actions = [{"action": "approve"}, {"action": "reject", "reason": "No thank you"}]

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = (
            clients[i]
            .post(
                f"/staff/moderation/comments/{comment.id}",
                data={"csrf_token": tokens[i], **actions[i]},
                follow_redirects=False,
            )
            .status_code
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [303, 409]
    db_session.expire_all()
    decided = db_session.get(Comment, comment.id)
    assert decided.status == ("approved" if codes[0] == 303 else "rejected")
    events = [e.tag for e in history_of(db_session, "comment", comment.id)]
    assert events.count("comment:approve") + events.count("comment:reject") == 1


def test_a_comment_says_where_it_is_and_its_history_in_sentences(client, db_session, settings):
    from portal.moderation.services import comments, decisions
    from portal.moderation.services.decisions import Action, Decision

    family, post = world(db_session)
    comment = pending_comment(db_session, post, parent_identity(db_session, family), "Lovely")
    office = _staff(client, db_session)
    shown = text_of(client.get(f"/staff/moderation/comments/{comment.id}"))
    assert "Waiting for a moderator" in shown and "Sarah J. sent the comment." in shown
    assert "pending" not in shown.lower()
    decisions.decide(db_session, settings, comment.id, Decision(Action.approve), office)
    reporter = parent_identity(db_session, family, "tom@example.com")
    comments.report(db_session, comment, reporter.commenter, "It names my child")
    db_session.commit()
    shown = text_of(client.get(f"/staff/moderation/comments/{comment.id}"))
    assert "Published, and back with a moderator" in shown
    assert "approved the comment." in shown
    assert "Tom J. reported the comment: “ It names my child ”" in shown  # the reason in a <bdi>
    queue = text_of(client.get("/staff/moderation"))
    assert "Published, and back with a moderator" in queue and "Approved ·" not in queue
