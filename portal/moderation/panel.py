"""The comments section of a public news post's page (a `post_panels` entry): the approved
comments, how many there are, and the way to write one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session

from portal.calendar import format_date
from portal.channel.models import Post
from portal.channel.services.posts import is_public
from portal.consent.parents import optional_parent
from portal.db import now_of
from portal.moderation.identity import who_is_commenting
from portal.moderation.services.comments import ShownComment, public_comments, public_count
from portal.security import csrf_token
from portal.templating import pre_text

PANEL_TEMPLATE = "moderation/post-comments.html"


def post_comments(request: Request, session: Session, post: Post) -> dict[str, Any] | None:
    """Only approved comments, and only on a public post (None otherwise: nothing shown)."""
    if post is None or not is_public(post, now_of(session)):
        return None
    shown = _rows(public_comments(session, post.id), post.slug)
    who = who_is_commenting(request, session, optional_parent(request, session))
    return {
        "post": post,
        "comments": shown,
        "count": public_count(session, post.id),
        "who": who,
        "default_name": who.default_name() if who is not None else "",
        "open": post.comments_open,
        "action": f"/news/{post.slug}/comment",
        "csrf_token": csrf_token(request),
    }


def _rows(comments: list[ShownComment], slug: str) -> list[dict[str, Any]]:
    """Each comment as the template shows it, its words and date made ready here: a post may
    have hundreds, and every attribute a sandboxed template reads is checked (the 500-comment
    figure in docs/performance.md)."""
    days: dict[object, str] = {}
    rows = []
    for comment in comments:
        day = comment.created_at.date() if isinstance(comment.created_at, datetime) else None
        if day not in days:
            days[day] = format_date(day) if day is not None else ""
        rows.append(
            {
                "id": comment.id,
                "name": comment.display_name,
                "body": pre_text(comment.body),
                "day": days[day],
                "report": f"/news/{slug}/comments/{comment.id}/report",
            }
        )
    return rows
