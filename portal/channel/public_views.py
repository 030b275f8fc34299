"""The school's news for everyone: /news (newest first, a page at a time), /news/<slug>, the
pictures of public posts, and the Atom feed. Every one of them asks `posts.public_clause` (or
`public_post`, `is_public`): a post that is not public is a 404, whoever asks."""

from __future__ import annotations

import re
from datetime import datetime
from xml.etree import ElementTree

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from portal.channel.services import posts
from portal.channel.staff_views import picture_response
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute
from portal.school.web import SchoolDep
from portal.templating import render
from portal.text import render_markdown

router = APIRouter(route_class=CleanInputRoute)
ATOM = "http://www.w3.org/2005/Atom"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_IMAGE = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")
MAX_PAGE = 10_000
PUBLIC_CACHE = "no-cache"  # a post taken down leaves every cache at once


def _page_number(value: str) -> int:
    if not value:
        return 1
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > 5
        or not 1 <= int(value) <= MAX_PAGE
    ):
        raise HTTPException(status_code=404)
    return int(value)


@router.get("/news")
def news(request: Request, session: SessionDep, page: str = "") -> Response:
    number = _page_number(page[:10])
    now = now_of(session)
    shown, pages = posts.public_page(session, now, number)
    if number > pages:
        raise HTTPException(status_code=404)
    return render(
        request,
        "channel/public-news.html",
        {"posts": shown, "page": number, "pages": pages},
    )


def _atom_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/news/feed.atom")
def news_feed(request: Request, session: SessionDep, school: SchoolDep) -> Response:
    """The public posts as an Atom feed (RFC 4287), built with ElementTree so every value is
    escaped."""
    now = now_of(session)
    latest = posts.latest_public(session, now)
    base = str(request.app.state.settings.base_url).rstrip("/")
    ElementTree.register_namespace("", ATOM)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str):  # type: ignore[no-untyped-def]
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    add(feed, "title", f"{school.name}: news")
    add(feed, "id", f"{base}/news")
    add(feed, "updated", _atom_time(latest[0].publish_at if latest else now))  # type: ignore[arg-type]
    add(feed, "link", rel="self", href=f"{base}/news/feed.atom")
    add(feed, "link", rel="alternate", href=f"{base}/news")
    author = add(feed, "author")
    add(author, "name", school.name)
    for post in latest:
        entry = add(feed, "entry")
        add(entry, "title", post.title)
        add(entry, "id", f"{base}/news/{post.slug}")
        add(entry, "link", rel="alternate", href=f"{base}/news/{post.slug}")
        add(entry, "published", _atom_time(post.publish_at))  # type: ignore[arg-type]
        add(entry, "updated", _atom_time(post.publish_at))  # type: ignore[arg-type]
        if post.summary:
            add(entry, "summary", post.summary)
        add(entry, "content", str(render_markdown(post.body_markdown)), type="html")
    body = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": PUBLIC_CACHE},
    )


@router.get("/news/images/{name}")
def news_image(request: Request, session: SessionDep, name: str) -> Response:
    if not _IMAGE.match(name):
        raise HTTPException(status_code=404)
    image = posts.public_image(session, name, now_of(session))
    if image is None:
        raise HTTPException(status_code=404)
    return picture_response(request, image, cache=PUBLIC_CACHE)


@router.get("/news/{slug}")
def news_post(request: Request, session: SessionDep, slug: str) -> Response:
    if not _SLUG.match(slug):
        raise HTTPException(status_code=404)
    post = posts.public_post(session, slug, now_of(session))
    if post is None:
        raise HTTPException(status_code=404)
    post_panels = request.app.state.domains.panels_for_post(request, session, post)
    return render(
        request,
        "channel/public-post.html",
        {
            "post": post,
            "body": render_markdown(post.body_markdown),
            "images": posts.public_images(session, post),
            "post_panels": post_panels,
        },
    )
