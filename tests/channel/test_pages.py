"""The staff news pages and the public news, through HTTP and the parsed HTML."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.channel.models import Post, PostImage, PostPupil, PostStatus
from portal.channel.services import workflow
from portal.db import now_of
from portal.mail import OutboxMessage
from tests.channel.conftest import draft, png, sent, with_picture
from tests.conftest import csrf_of, page, text_of
from tests.factories import make_user, sign_in

ATOM = "{http://www.w3.org/2005/Atom}"


def write(client, **fields):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/staff/news/new"))
    data = {
        "title": "Harvest festival",
        "summary": "Thank you",
        "body_markdown": "Tins **and** jars.",
    }
    data.update(fields)
    return client.post(
        "/staff/news/new", data={**data, "csrf_token": token}, follow_redirects=False
    )


def post_on(client, url, data, from_page):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(from_page))
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def only_post(db_session) -> Post:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return db_session.scalars(select(Post).order_by(Post.id.desc())).first()


def test_office_writes_sends_and_the_head_approves_through_the_pages(
    client, db_session, people, settings
):
    sign_in(client, people.office)
    response = write(client)
    assert response.status_code == 303
    post = only_post(db_session)
    assert response.headers["location"] == f"/staff/news/{post.id}?done=created"
    html = page(client.get(response.headers["location"]))
    assert html.select_one("h1").text.strip() == "Harvest festival"
    assert "<strong>and</strong>" in str(html.select_one(".school-post-body"))
    # A picture, then who is in it.
    token = csrf_of(client.get(f"/staff/news/{post.id}/images"))
    response = client.post(
        f"/staff/news/{post.id}/images",
        data={"csrf_token": token, "alt_text": "Tins on a table"},
        files={"file": ("tins.png", png(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/pupils?done=picture")
    response = post_on(
        client,
        f"/staff/news/{post.id}/pupils/answer",
        {"who": "none"},
        f"/staff/news/{post.id}/pupils",
    )
    assert response.status_code == 303
    image = db_session.scalar(select(PostImage))
    staff_image = client.get(f"/staff/news/{post.id}/images/{image.id}")
    assert staff_image.headers["content-type"] == "image/png"
    response = post_on(
        client,
        f"/staff/news/{post.id}/submit",
        {"revision": str(only_post(db_session).revision)},
        f"/staff/news/{post.id}",
    )
    assert response.status_code == 303
    assert only_post(db_session).status == PostStatus.awaiting_approval
    mail = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == people.head.email)
    ).all()
    assert any("Harvest festival" in m.subject for m in mail)
    # The public cannot see it yet, nor its picture.
    client.cookies.clear()
    assert client.get("/news").status_code == 200
    assert "Harvest festival" not in client.get("/news").text
    assert client.get(f"/news/images/{image.stored_name}").status_code == 404
    # The head approves.
    sign_in(client, people.head)
    home = page(client.get("/staff"))
    assert "Harvest festival" in home.select_one("#news-waiting").find_next("ul").text
    listing = page(client.get("/staff/news"))
    assert "Harvest festival" in listing.select_one("#waiting").find_next("ul").text
    response = post_on(
        client,
        f"/staff/news/{post.id}/approve",
        {"revision": str(only_post(db_session).revision), "when": "now"},
        f"/staff/news/{post.id}",
    )
    assert response.status_code == 303
    post = only_post(db_session)
    assert post.status == PostStatus.approved and post.slug == "harvest-festival"
    client.cookies.clear()
    news = page(client.get("/news"))
    assert [a["href"] for a in news.select("#posts a")] == ["/news/harvest-festival"]
    public = client.get("/news/harvest-festival")
    assert public.status_code == 200
    html = page(public)
    assert html.select_one("h1").text.strip() == "Harvest festival"
    assert html.select_one("img.school-post-image")["alt"] == "Tins on a table"
    assert client.get(f"/news/images/{image.stored_name}").status_code == 200
    history = text_of(client.get("/news/harvest-festival"))
    assert "Approved" not in history  # the public page has no staff history
    sign_in(client, people.office)
    events = page(client.get(f"/staff/news/{post.id}")).select("#history li")
    assert len(events) == 5  # started, picture, who is in it, sent, approved


def test_the_head_sees_the_refusal_when_a_pupil_has_no_consent(
    client, db_session, people, settings, register
):
    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.refused])
    sent(db_session, people.office, post)
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    html = page(client.get(url))
    assert html.select_one("#photo-check-failing") is not None
    response = post_on(
        client, url + "/approve", {"revision": str(post.revision), "when": "now"}, url
    )
    assert response.status_code == 422
    html = page(response)
    summary = html.select_one(".govuk-error-summary").text
    assert "Zoe Clarke" in summary
    assert "Refused" in html.select_one("#pupil-checks").text
    db_session.expire_all()
    assert db_session.get(Post, post.id).status == PostStatus.awaiting_approval


def test_the_author_cannot_approve_and_sees_why(client, db_session, people):
    post = sent(db_session, people.head, draft(db_session, people.head))
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    assert page(client.get(url)).select_one("#approve") is None
    response = post_on(
        client, url + "/approve", {"revision": str(post.revision), "when": "now"}, url
    )
    assert response.status_code == 409
    assert "someone else must approve" in page(response).select_one(".govuk-error-summary").text


def test_approving_for_later_and_the_post_waits(client, db_session, people, clock):
    post = sent(db_session, people.office, draft(db_session, people.office))
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    later = now_of(db_session) + timedelta(days=7)
    response = post_on(
        client,
        url + "/approve",
        {
            "revision": str(post.revision),
            "when": "later",
            "publish_on_day": str(later.day),
            "publish_on_month": str(later.month),
            "publish_on_year": str(later.year),
            "publish_time": "09:30",
        },
        url,
    )
    assert response.status_code == 303
    db_session.expire_all()
    post = db_session.get(Post, post.id)
    assert post.publish_at.date() == later.date()
    assert client.get(f"/news/{post.slug}").status_code == 404
    clock.set(post.publish_at)
    assert client.get(f"/news/{post.slug}").status_code == 200


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"when": ""}, "when", "Choose when"),
        ({"when": "later", "publish_time": "25:00"}, "publish_time", "Enter the time"),
        (
            {
                "when": "later",
                "publish_on_day": "1",
                "publish_on_month": "1",
                "publish_on_year": "2020",
                "publish_time": "09:00",
            },
            "publish_on_day",
            "future",
        ),
        (
            {
                "when": "later",
                "publish_on_day": "99999999999999999999",
                "publish_on_month": "1",
                "publish_on_year": "2027",
                "publish_time": "09:00",
            },
            "publish_on_day",
            "real date",
        ),
    ],
)
def test_the_approval_form_says_what_to_fix(client, db_session, people, fields, field, message):
    post = sent(db_session, people.office, draft(db_session, people.office))
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    response = post_on(client, url + "/approve", {"revision": str(post.revision), **fields}, url)
    assert response.status_code == 422
    html = page(response)
    assert message in html.select_one(".govuk-error-summary").text
    assert html.select_one(f"#{field}") is not None
    assert html.title.text.startswith("Error: ")


def test_returning_a_post_emails_the_author(client, db_session, people):
    post = sent(db_session, people.office, draft(db_session, people.office))
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    response = post_on(
        client, url + "/return", {"revision": str(post.revision), "comments": ""}, url
    )
    assert response.status_code == 422
    response = post_on(
        client, url + "/return", {"revision": str(post.revision), "comments": "Add a photo"}, url
    )
    assert response.status_code == 303
    sign_in(client, people.office)
    html = page(client.get(url))
    assert "Add a photo" in html.select_one("#returned-comments").text
    assert db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == people.office.email)
    )


HOSTILE = [
    "x" * 25_000,
    "\u202eevil\u202c and \x00 nul",
    "Zoë 🎉 مرحبا 中文",
    str(2**64),
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_in_every_field_keeps_the_form_and_never_fails(
    client, db_session, people, value
):
    sign_in(client, people.office)
    for field in ("title", "summary", "body_markdown"):
        response = write(client, **{field: value})
        assert response.status_code in (303, 422), (field, response.status_code)
        if response.status_code == 422:
            html = page(response)
            kept = html.select_one(f"#{field}")
            shown = kept.text if kept.name == "textarea" else kept.get("value", "")
            assert (
                shown.strip()[:50]
                == value.replace("\u202e", "")
                .replace("\u202c", "")
                .replace("\x00", "")
                .strip()[:50]
            )
    post = draft(db_session, people.office)
    url = f"/staff/news/{post.id}"
    for path, data in [
        ("/edit", {"title": value, "summary": value, "body_markdown": value, "revision": value}),
        ("/submit", {"revision": value}),
        ("/pupils", {"pupil_ids": [value, value]}),
        ("/pupils/answer", {"who": value}),
        ("/pupils/remove", {"pupil_id": value}),
        ("/images", {"alt_text": value}),
        ("/withdraw", {"note": value}),
        ("/dealt-with", {"note": value}),
    ]:
        response = post_on(client, url + path, data, url)
        assert response.status_code < 500, (path, response.status_code)
    response = client.get(url + "/pupils", params={"name": value, "class_name": value})
    assert response.status_code == 200
    sign_in(client, people.head)
    sent_post = sent(db_session, people.office, draft(db_session, people.office))
    url = f"/staff/news/{sent_post.id}"
    for path, data in [
        (
            "/approve",
            {
                "revision": value,
                "when": value,
                "publish_time": value,
                "publish_on_day": value,
                "publish_on_month": value,
                "publish_on_year": value,
            },
        ),
        (
            "/approve",
            {
                "revision": value,
                "when": "later",
                "publish_time": value,
                "publish_on_day": value,
                "publish_on_month": "1",
                "publish_on_year": "2027",
            },
        ),
        ("/return", {"revision": value, "comments": value}),
    ]:
        response = post_on(client, url + path, data, url)
        assert response.status_code < 500, (path, response.status_code)
    assert client.get("/news", params={"page": value}).status_code in (200, 404)
    assert client.get("/news/" + quote(value[:200])).status_code == 404


def test_an_image_that_is_not_a_picture_is_refused_with_the_form_kept(client, db_session, people):
    post = draft(db_session, people.office)
    sign_in(client, people.office)
    url = f"/staff/news/{post.id}/images"
    token = csrf_of(client.get(url))
    response = client.post(
        url,
        data={"csrf_token": token, "alt_text": "Kept words"},
        files={"file": ("x.png", b"%PDF-1.4 nope", "image/png")},
    )
    assert response.status_code == 422
    html = page(response)
    assert "JPG or PNG" in html.select_one(".govuk-error-summary").text
    assert html.select_one("#alt_text").text.strip() == "Kept words"
    response = client.post(url, data={"csrf_token": token, "alt_text": "No file"})
    assert response.status_code == 422
    assert "Choose a photo" in text_of(response)


def test_the_pupil_picker_finds_adds_and_removes(client, db_session, people, settings, register):
    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [])
    sign_in(client, people.office)
    url = f"/staff/news/{post.id}/pupils"
    found = page(client.get(url, params={"class_name": "3B"}))
    boxes = {box["value"] for box in found.select("input[name=pupil_ids]")}
    assert str(register.allowed.id) in boxes
    response = post_on(
        client, url, {"pupil_ids": [str(register.allowed.id), str(register.refused.id)]}, url
    )
    assert response.status_code == 303
    listed = page(client.get(url)).select_one("#listed").text
    assert "Amelia Jones" in listed and "Zoe Clarke" in listed and "Refused" in listed
    response = post_on(client, url + "/remove", {"pupil_id": str(register.refused.id)}, url)
    assert response.status_code == 303
    db_session.expire_all()
    assert {r.pupil_id for r in db_session.scalars(select(PostPupil))} == {register.allowed.id}
    response = post_on(client, url + "/answer", {"who": "named"}, url)
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(Post, post.id).names_pupils is True


def approved(db_session, people, title="Sports day"):  # type: ignore[no-untyped-def]
    post = sent(db_session, people.office, draft(db_session, people.office, title))
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    return post


def test_no_post_but_a_public_one_is_ever_served(client, db_session, people, settings):
    public = approved(db_session, people, "Public one")
    draft_post = draft(db_session, people.office, "A draft")
    waiting = sent(db_session, people.office, draft(db_session, people.office, "Waiting"))
    returned = sent(db_session, people.office, draft(db_session, people.office, "Returned"))
    workflow.return_post(
        db_session,
        people.head,
        returned,
        seen_revision=returned.revision,
        comments="No",
        base_url="",
    )
    scheduled = sent(db_session, people.office, draft(db_session, people.office, "Scheduled"))
    workflow.approve(
        db_session,
        people.head,
        scheduled,
        seen_revision=scheduled.revision,
        publish_at=now_of(db_session) + timedelta(days=3),
    )
    withdrawn = approved(db_session, people, "Withdrawn")
    workflow.withdraw(db_session, people.head, withdrawn)
    db_session.commit()
    listing = client.get("/news").text
    feed = client.get("/news/feed.atom").text
    assert "Public one" in listing and "Public one" in feed
    for post in (draft_post, waiting, returned, scheduled, withdrawn):
        db_session.refresh(post)
        assert client.get(f"/news/{post.slug}").status_code == 404, post.title
        assert post.title not in listing and post.title not in feed
    assert public.slug in listing


def test_the_feed_is_valid_atom(client, db_session, people):
    approved(db_session, people, "Tom & Jerry <visit>")
    response = client.get("/news/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for name in ("title", "id", "updated"):
        assert root.find(f"{ATOM}{name}").text
    entry = root.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "Tom & Jerry <visit>"
    assert entry.find(f"{ATOM}link").get("href").endswith("/news/tom-jerry-visit")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", entry.find(f"{ATOM}updated").text)
    assert "<strong>" not in response.text  # html content is escaped inside the XML


def test_news_is_paginated_newest_first(client, db_session, people, clock):
    for number in range(12):
        approved(db_session, people, f"Post number {number}")
        clock.advance(timedelta(minutes=1))
    first = page(client.get("/news"))
    titles = [a.text.strip() for a in first.select("#posts a")]
    assert titles[0] == "Post number 11" and len(titles) == 10
    second = page(client.get("/news?page=2"))
    assert [a.text.strip() for a in second.select("#posts a")] == ["Post number 1", "Post number 0"]
    assert client.get("/news?page=3").status_code == 404
    assert client.get("/news?page=0").status_code == 404


def test_the_flag_shows_on_the_news_list_and_the_home_page(
    client, db_session, people, settings, register
):
    from tests.channel.conftest import say_website

    post = draft(db_session, people.office)
    with_picture(db_session, settings, people.office, post, [register.allowed])
    sent(db_session, people.office, post)
    workflow.approve(db_session, people.head, post, seen_revision=post.revision, publish_at=None)
    db_session.commit()
    say_website(db_session, people.office, register.allowed, register.contacts["P1"], False, False)
    db_session.commit()
    for user in (people.office, people.head):
        sign_in(client, user)
        assert page(client.get("/staff")).select_one("#news-flagged") is not None
        assert page(client.get("/staff/news")).select_one("#flagged") is not None
    sign_in(client, people.senior)
    assert page(client.get("/staff")).select_one("#news-flagged") is None
    sign_in(client, people.head)
    url = f"/staff/news/{post.id}"
    response = post_on(client, url + "/withdraw", {}, url)
    assert response.status_code == 303
    assert client.get(f"/news/{post.slug}").status_code == 404


NEWS_ROLES = {Role.office, Role.head, Role.senior_leader, Role.chair}
DRAFT_ROLES = {Role.office, Role.head, Role.senior_leader}
APPROVE_ROLES = {Role.head, Role.chair}
TAKE_DOWN_ROLES = {Role.head, Role.office}


def test_every_role_against_every_news_route(app, client, db_session, people):
    """The access matrix for the news routes, read from the router."""
    from portal.channel.staff_views import router
    from tests.routes import api_routes

    post = draft(db_session, people.office)
    routes = [(m, r.path, r) for r in api_routes(router) for m in sorted(r.methods - {"HEAD"})]
    assert len(routes) == 19
    wrong = []
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role, name=f"Someone {role.value}"))
        token = page(client.get("/staff")).select_one("input[name=csrf_token]")
        csrf = token["value"] if token else ""
        for method, path, route in routes:
            roles = set(
                next(
                    d.call.required_roles
                    for d in route.dependant.dependencies
                    if hasattr(d.call, "required_roles")
                )
            )
            url = path.replace("{post_id}", str(post.id)).replace("{image_id}", "999999")
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                response = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
            allowed = role in roles
            code = response.status_code
            if code >= 500 or (allowed and code == 403) or (not allowed and code != 403):
                wrong.append(f"{role.value} {method} {url}: {code}")
    assert wrong == []
    db_session.expire_all()
    assert db_session.get(Post, post.id).status == PostStatus.draft


def test_the_menu_shows_news_to_those_who_may_open_it(client, db_session):
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role, name=f"Menu {role.value}"))
        links = [a["href"] for a in page(client.get("/staff")).select("#navigation a")]
        assert ("/staff/news" in links) == (role in NEWS_ROLES), role
