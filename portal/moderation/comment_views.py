"""The parents' side of comments: the comment page of a public post, the email link, reporting a
published comment, and the way from a comment to the complaints form. The comments section on
the post's own page is this domain's post panel (`panel.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.channel.models import Post
from portal.channel.services.posts import public_post
from portal.config import Settings
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId
from portal.moderation.forms import CommentForm, EmailForm, ReportForm
from portal.moderation.identity import CommentingAs, start_commenter_session
from portal.moderation.models import WhoMayComment
from portal.moderation.services import commenters, comments
from portal.moderation.services.comments import CommentRefused, Outcome
from portal.moderation.services.decisions import comment_for_complaint_token, shown_text
from portal.moderation.services.settings import who_may_comment
from portal.security import client_address
from portal.templating import render
from portal.throttle import Limit, throttle_of

router = APIRouter(route_class=CleanInputRoute)
TOKEN_MAX_CHARS = 100
SLUG_MAX_CHARS = 120
COMPLAINT_FORM_PREFILL = "/complaints/new/prefill"
TOO_MANY = (
    "You have asked for too many links. Wait an hour, then try again, or phone the school office."
)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _post(session: Session, slug: str) -> Post:
    post = public_post(session, slug, now_of(session)) if len(slug) <= SLUG_MAX_CHARS else None
    if post is None:
        raise HTTPException(status_code=404)
    return post


def comment_path(post: Post) -> str:
    return f"/news/{post.slug}/comment"


def _comment_page(
    request: Request,
    session: Session,
    post: Post,
    who: commenters.Identity | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    typed = values or {}
    if who is not None and "display_name" not in typed:
        typed = {**typed, "display_name": who.default_name()}
    return render(
        request,
        "moderation/comment.html",
        {
            "post": post,
            "who": who,
            "values": typed,
            "errors": errors or {},
            "anyone": who_may_comment(session) == WhoMayComment.anyone,
            "action": comment_path(post),
        },
        status_code=422 if errors and status_code == 200 else status_code,
    )


@router.get("/news/comment-link/{token}")
def news_comment_link(request: Request, session: SessionDep, token: str) -> Response:
    """The link only shows a button: opening it (as an email scanner may) does not use it."""
    usable = len(token) <= TOKEN_MAX_CHARS and commenters.waiting_link(session, token) is not None
    return render(
        request,
        "moderation/comment-link.html",
        {"usable": usable, "token": token if usable else ""},
        status_code=200 if usable else 410,
    )


@router.post("/news/comment-link/{token}")
def news_comment_link_use(request: Request, session: SessionDep, token: str) -> Response:
    row = commenters.use_link(session, token) if len(token) <= TOKEN_MAX_CHARS else None
    if row is None:
        session.rollback()
        return render(
            request, "moderation/comment-link.html", {"usable": False, "token": ""}, status_code=410
        )
    session.commit()
    response = RedirectResponse(row.next_path or "/", status_code=303)
    start_commenter_session(request, response, row)
    return response


@router.get("/news/comments/complaint/{token}")
def news_comment_complaint(request: Request, session: SessionDep, token: str) -> Response:
    """From the email a moderator's "send to the complaints procedure" sends: the author's
    words, and a button that starts the complaint form with them."""
    comment = (
        comment_for_complaint_token(session, _settings(request), token)
        if len(token) <= 300
        else None
    )
    if comment is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "moderation/comment-complaint.html",
        {"words": shown_text(comment), "prefill": COMPLAINT_FORM_PREFILL},
    )


@router.get("/news/{slug}/comment")
def news_comment(request: Request, session: SessionDep, slug: str, who: CommentingAs) -> Response:
    return _comment_page(request, session, _post(session, slug), who)


@router.post("/news/{slug}/comment")
def news_comment_send(
    request: Request,
    session: SessionDep,
    slug: str,
    who: CommentingAs,
    form: Annotated[CommentForm, Depends()],
) -> Response:
    post = _post(session, slug)
    if who is None:
        return RedirectResponse(comment_path(post), status_code=303)
    checked = form.validate()
    if checked.value is None:
        return _comment_page(
            request, session, post, who, values=form.typed(), errors=checked.errors
        )
    body, name = checked.value
    try:
        sent = comments.send_comment(
            session, post, who, body, name, post_anyway=form.post_anyway == "yes"
        )
    except CommentRefused as refused:
        session.rollback()
        return _comment_page(
            request, session, post, who, values=form.typed(), errors={refused.field: str(refused)}
        )
    if sent.outcome == Outcome.offer_complaint:
        return render(
            request,
            "moderation/comment-complaint-offer.html",
            {
                "post": post,
                "values": form.typed(),
                "action": comment_path(post),
                "prefill": COMPLAINT_FORM_PREFILL,
            },
        )
    session.commit()
    if sent.outcome == Outcome.refused:
        return _comment_page(
            request, session, post, who, values=form.typed(), errors={"body": sent.reason}
        )
    return RedirectResponse(comment_path(post) + "/sent", status_code=303)


@router.get("/news/{slug}/comment/sent")
def news_comment_sent(request: Request, session: SessionDep, slug: str) -> Response:
    return render(request, "moderation/comment-sent.html", {"post": _post(session, slug)})


@router.post("/news/{slug}/comment/email")
def news_comment_email(
    request: Request,
    session: SessionDep,
    slug: str,
    who: CommentingAs,
    form: Annotated[EmailForm, Depends()],
) -> Response:
    """Every address gets the same page: see `commenters.request_link`. Counted per visitor
    (refused with a message) and per address (the same page, no more emails)."""
    post = _post(session, slug)
    checked = form.validate()
    if checked.value is None:
        return _comment_page(
            request, session, post, who, values=form.typed(), errors=checked.errors
        )
    settings = _settings(request)
    per_client = Limit.per_hour(
        "parent-link-client", settings.parent_link_requests_per_hour_per_client
    )
    per_address = Limit.per_hour("parent-link-address", settings.parent_links_per_hour_per_address)
    refused = throttle_of(request).attempt_all(
        (per_client, (client_address(request),)), (per_address, (checked.value.lower(),))
    )
    if refused is per_client:
        response = _comment_page(
            request,
            session,
            post,
            who,
            values=form.typed(),
            errors={"email": TOO_MANY},
            status_code=429,
        )
        response.headers["Retry-After"] = "3600"
        return response
    if refused is None:
        commenters.request_link(session, settings, checked.value, comment_path(post))
        session.commit()
    return render(
        request,
        "moderation/comment-check-email.html",
        {"email": checked.value, "post": post, "minutes": commenters.LINK_MINUTES},
    )


def _report_target(session: Session, slug: str, comment_id: int) -> tuple[Post, Any]:
    post = _post(session, slug)
    comment = comments.public_comment(session, post, comment_id)
    if comment is None:
        raise HTTPException(status_code=404)
    return post, comment


@router.get("/news/{slug}/comments/{comment_id}/report")
def news_comment_report(
    request: Request, session: SessionDep, slug: str, comment_id: RowId, who: CommentingAs
) -> Response:
    post, comment = _report_target(session, slug, comment_id)
    return render(
        request, "moderation/comment-report.html", {"post": post, "comment": comment, "who": who}
    )


@router.post("/news/{slug}/comments/{comment_id}/report")
def news_comment_report_send(
    request: Request,
    session: SessionDep,
    slug: str,
    comment_id: RowId,
    who: CommentingAs,
    form: Annotated[ReportForm, Depends()],
) -> Response:
    post, comment = _report_target(session, slug, comment_id)
    if who is None:
        return RedirectResponse(comment_path(post), status_code=303)
    reporter = who.commenter
    if reporter is None and who.contact is not None:
        reporter = commenters.commenter_for_contact(session, who.contact)
    assert reporter is not None
    try:
        comments.report(session, comment, reporter, form.reason)
    except CommentRefused as refused:
        session.rollback()
        return render(
            request,
            "moderation/comment-report.html",
            {
                "post": post,
                "comment": comment,
                "who": who,
                "values": form.typed(),
                "errors": {refused.field: str(refused)},
            },
            status_code=422,
        )
    session.commit()
    return render(request, "moderation/comment-reported.html", {"post": post})
