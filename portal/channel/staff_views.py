"""The staff news pages (/staff/news): write a post, add its pictures and say who is in them,
send it to the head, approve or return it, take it down, deal with a consent warning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import StaffUser
from portal.channel.forms import (
    AnswerPupilsForm,
    ApproveForm,
    ImageForm,
    NoteForm,
    PostedPicture,
    PostForm,
    PupilsForm,
    RemovePupilForm,
    ReturnForm,
    RevisionForm,
    revision_of,
)
from portal.channel.models import Post, PostImage, PostStatus
from portal.channel.services import images, workflow
from portal.channel.services.posts import is_public
from portal.consent.services import pupils as finder
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId, row_id_or_none
from portal.templating import render
from portal.text import render_markdown

router = APIRouter(route_class=CleanInputRoute)
NewsUser = Annotated[StaffUser, Depends(require_role(*workflow.NEWS_ROLES))]
DraftUser = Annotated[StaffUser, Depends(require_role(*workflow.DRAFT_ROLES))]
ApproveUser = Annotated[StaffUser, Depends(require_role(*workflow.APPROVE_ROLES))]
TakeDownUser = Annotated[StaffUser, Depends(require_role(*workflow.TAKE_DOWN_ROLES))]
BASE = "/staff/news"
LISTED_STATUSES = (
    PostStatus.awaiting_approval,
    PostStatus.returned,
    PostStatus.draft,
    PostStatus.approved,
    PostStatus.withdrawn,
)


def _post(session: Session, post_id: int) -> Post:
    post = workflow.post_of(session, post_id)
    if post is None:
        raise HTTPException(status_code=404)
    return post


def _base_url(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


def _see(post_id: int, note: str = "") -> RedirectResponse:
    suffix = f"?done={note}" if note else ""
    return RedirectResponse(f"{BASE}/{post_id}{suffix}", status_code=303)


DONE = {
    "created": "The post is saved as a draft",
    "saved": "Your changes are saved",
    "sent": "The post is sent to the head for approval",
    "approved": "The post is approved",
    "returned": "The post is returned to its author with your comments",
    "withdrawn": "The post is taken down",
    "dealt": "The warning is marked as dealt with",
    "picture": "The picture is added. Now say who is in the pictures",
    "removed": "The picture is removed",
    "pupils": "Who is in the pictures is saved",
}


@router.get(BASE)
def news_list(request: Request, session: SessionDep, user: NewsUser) -> Response:
    sections = [
        (status, workflow.posts_with_status(session, status.value)) for status in LISTED_STATUSES
    ]
    authors = [post.author_id for _status, posts in sections for post in posts]
    return render(
        request,
        "channel/news.html",
        {
            "user": user,
            "counts": workflow.status_counts(session),
            "sections": sections,
            "waiting": workflow.waiting_for(session, user),
            "flagged": workflow.flagged_posts(session),
            "now": now_of(session),
            "may_draft": user.has_role(*workflow.DRAFT_ROLES),
            "names": workflow.names_by_id(session, authors),
            "base": BASE,
        },
    )


@router.get(BASE + "/new")
def news_new(request: Request, user: DraftUser) -> Response:
    return render(request, "channel/news-new.html", {"base": BASE, "values": {}})


@router.post(BASE + "/new")
def news_create(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    form: Annotated[PostForm, Depends()],
) -> Response:
    checked = form.validate()
    if checked.ok:
        try:
            post = workflow.create_post(
                session, user, title=form.title, summary=form.summary, body=form.body_markdown
            )
            session.commit()
            return _see(post.id or 0, "created")
        except workflow.NewsRefused as refused:
            session.rollback()
            errors = {refused.field or "title": str(refused)}
    else:
        errors = checked.errors
    return render(
        request,
        "channel/news-new.html",
        {"base": BASE, "values": form.typed(), "errors": errors},
        status_code=422,
    )


def _post_page(
    request: Request,
    session: Session,
    user: StaffUser,
    post: Post,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    now = now_of(session)
    checks = workflow.check_pupils(session, post, now)
    events = workflow.history(session, post)
    names = workflow.names_by_id(session, [post.author_id, post.approved_by_id])
    return render(
        request,
        "channel/news-post.html",
        {
            "post": post,
            "status": PostStatus(post.status),
            "body": render_markdown(post.body_markdown),
            "images": workflow.images_of(session, post),
            "checks": checks,
            "failing": workflow.failing(checks),
            "events": events,
            "sentences": workflow.SENTENCES,
            "author": names.get(post.author_id, ""),
            "approver": names.get(post.approved_by_id or 0, ""),
            "approvers": workflow.approvers_for(session, post),
            "comments": workflow.last_comments(session, post),
            "is_public": is_public(post, now),
            "may_edit": workflow.may_edit(user, post),
            "may_send": workflow.may_edit(user, post) and post.status in workflow.SENDABLE,
            "may_approve": post.status == PostStatus.awaiting_approval.value
            and workflow.may_approve(session, user, post),
            "is_author": workflow.is_author(user, post),
            "may_take_down": post.status == PostStatus.approved.value
            and workflow.may_take_down(user),
            "may_remove_pictures": workflow.may_remove_pictures(user, post),
            "done": DONE.get(request.query_params.get("done", "")[:20], ""),
            "values": values or {"when": "now"},
            "errors": errors or {},
            "base": BASE,
        },
        status_code=status_code,
    )


@dataclass(frozen=True)
class _Acting:
    """A member of staff acting on a post from its pages."""

    request: Request
    session: Session
    user: StaffUser
    post: Post

    def change(
        self,
        change: Callable[[], object],
        *,
        then: str | Callable[[], Response],
        values: dict[str, Any] | None = None,
        refused: Callable[[workflow.NewsRefused], Response] | None = None,
    ) -> Response:
        """Make a change through the workflow and commit it, then answer `then` (a note for the
        post's page, or a response). When the workflow refuses, roll back, read the post again
        and answer `refused(reason)`; by default the post's page with the reason (409 when the
        post has moved on, 422 when a field is at fault) and `values` as typed."""
        session, post = self.session, self.post
        try:
            change()
            session.commit()
        except workflow.NewsRefused as reason:
            session.rollback()
            session.refresh(post)
            if refused is not None:
                return refused(reason)
            return _post_page(
                self.request,
                session,
                self.user,
                post,
                errors={reason.field or "post-status": str(reason)},
                values=values,
                status_code=409 if reason.field == "" else 422,
            )
        return _see(post.id or 0, then) if isinstance(then, str) else then()


@router.get(BASE + "/{post_id}")
def news_post(request: Request, session: SessionDep, user: NewsUser, post_id: RowId) -> Response:
    return _post_page(request, session, user, _post(session, post_id))


@router.get(BASE + "/{post_id}/edit")
def news_edit(request: Request, session: SessionDep, user: DraftUser, post_id: RowId) -> Response:
    post = _post(session, post_id)
    if not workflow.may_edit(user, post):
        return _see(post_id)
    values = {
        "title": post.title,
        "summary": post.summary,
        "body_markdown": post.body_markdown,
        "revision": str(post.revision),
    }
    return render(request, "channel/news-edit.html", {"post": post, "values": values, "base": BASE})


@router.post(BASE + "/{post_id}/edit")
def news_save(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[PostForm, Depends()],
) -> Response:
    post = _post(session, post_id)

    def again(errors: dict[str, str]) -> Response:
        return render(
            request,
            "channel/news-edit.html",
            {"post": post, "values": form.typed(), "errors": errors, "base": BASE},
            status_code=422,
        )

    checked = form.validate()
    if not checked.ok:
        return again(checked.errors)
    return _Acting(request, session, user, post).change(
        lambda: workflow.edit_post(
            session,
            user,
            post,
            title=form.title,
            summary=form.summary,
            body=form.body_markdown,
            seen_revision=revision_of(form.revision),
        ),
        then="saved",
        refused=lambda reason: again({reason.field or "title": str(reason)}),
    )


@router.post(BASE + "/{post_id}/submit")
def news_submit(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[RevisionForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    seen, base_url = revision_of(form.revision), _base_url(request)
    return _Acting(request, session, user, post).change(
        lambda: workflow.submit(session, user, post, seen_revision=seen, base_url=base_url),
        then="sent",
    )


@router.post(BASE + "/{post_id}/approve")
def news_approve(
    request: Request,
    session: SessionDep,
    user: ApproveUser,
    post_id: RowId,
    form: Annotated[ApproveForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    checked = form.validate(now_of(session))
    if not checked.ok:
        return _post_page(
            request,
            session,
            user,
            post,
            errors=checked.errors,
            values=form.typed(),
            status_code=422,
        )
    seen = revision_of(form.revision)
    return _Acting(request, session, user, post).change(
        lambda: workflow.approve(session, user, post, seen_revision=seen, publish_at=checked.value),
        then="approved",
        values=form.typed(),
    )


@router.post(BASE + "/{post_id}/return")
def news_return(
    request: Request,
    session: SessionDep,
    user: ApproveUser,
    post_id: RowId,
    form: Annotated[ReturnForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    return _Acting(request, session, user, post).change(
        lambda: workflow.return_post(
            session,
            user,
            post,
            seen_revision=revision_of(form.revision),
            comments=form.comments,
            base_url=_base_url(request),
        ),
        then="returned",
        values={"when": "now", "comments": form.comments},
    )


@router.post(BASE + "/{post_id}/withdraw")
def news_withdraw(
    request: Request,
    session: SessionDep,
    user: TakeDownUser,
    post_id: RowId,
    form: Annotated[NoteForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    return _Acting(request, session, user, post).change(
        lambda: workflow.withdraw(session, user, post, note=form.note),
        then="withdrawn",
    )


@router.post(BASE + "/{post_id}/dealt-with")
def news_dealt_with(
    request: Request,
    session: SessionDep,
    user: TakeDownUser,
    post_id: RowId,
    form: Annotated[NoteForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    return _Acting(request, session, user, post).change(
        lambda: workflow.deal_with_flag(session, user, post, note=form.note),
        then="dealt",
        values={"when": "now", "note": form.note},
    )


# ---------------------------------------------------------------- pictures


def _pictures_page(
    request: Request,
    session: Session,
    post: Post,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "channel/news-images.html",
        {
            "post": post,
            "images": workflow.images_of(session, post),
            "max_images": images.MAX_IMAGES,
            "values": values or {},
            "errors": errors or {},
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.get(BASE + "/{post_id}/images")
def news_images(request: Request, session: SessionDep, user: DraftUser, post_id: RowId) -> Response:
    post = _post(session, post_id)
    if not workflow.may_edit(user, post):
        return _see(post_id)
    return _pictures_page(request, session, post)


@router.post(BASE + "/{post_id}/images")
async def news_image_add(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[ImageForm, Depends()],
    picture: PostedPicture,
) -> Response:
    post = _post(session, post_id)
    if picture is None:
        return _pictures_page(
            request, session, post, errors={"file": "Choose a photo"}, values=form.typed()
        )
    content = await picture.read(images.MAX_BYTES + 1)
    return _Acting(request, session, user, post).change(
        lambda: images.add_image(
            session,
            request.app.state.settings,
            user,
            post,
            filename=picture.filename or "picture",
            content=content,
            alt_text=form.alt_text,
        ),
        then=lambda: RedirectResponse(f"{BASE}/{post_id}/pupils?done=picture", status_code=303),
        refused=lambda reason: _pictures_page(
            request,
            session,
            post,
            errors={reason.field or "file": str(reason)},
            values=form.typed(),
        ),
    )


@router.post(BASE + "/{post_id}/images/{image_id}/remove")
def news_image_remove(
    request: Request, session: SessionDep, user: DraftUser, post_id: RowId, image_id: RowId
) -> Response:
    post = _post(session, post_id)
    image = session.get(PostImage, image_id)
    if image is None or image.post_id != post.id:
        raise HTTPException(status_code=404)
    return _Acting(request, session, user, post).change(
        lambda: images.remove_image(session, request.app.state.settings, user, post, image),
        then="removed",
    )


@router.get(BASE + "/{post_id}/images/{image_id}")
def news_image_file(
    request: Request, session: SessionDep, user: NewsUser, post_id: RowId, image_id: RowId
) -> Response:
    image = session.get(PostImage, image_id)
    if image is None or image.post_id != post_id:
        raise HTTPException(status_code=404)
    return picture_response(request, image, cache="private, no-store")


def picture_response(request: Request, image: PostImage, *, cache: str) -> Response:
    path = images.path_of(request.app.state.settings, image)
    try:
        content = path.read_bytes()
    except OSError:
        raise HTTPException(status_code=404) from None
    return Response(
        content,
        media_type=image.content_type,
        headers={
            "Cache-Control": cache,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# ---------------------------------------------------------------- who is in the pictures


def _pupils_page(
    request: Request,
    session: Session,
    user: StaffUser,
    post: Post,
    *,
    name: str = "",
    class_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    searched = bool(name or class_name)
    found, total = (
        finder.find_pupils(session, name=name, class_name=class_name) if searched else ([], 0)
    )
    listed = workflow.pupils_of(session, post)
    answer = ""
    if post.pupils_answered:
        answer = (
            workflow.NOBODY
            if not listed
            else (workflow.NAMED if post.names_pupils else workflow.LISTED)
        )
    return render(
        request,
        "channel/news-pupils.html",
        {
            "post": post,
            "listed": listed,
            "checks": {
                line.pupil.id: line
                for line in workflow.check_pupils(session, post, now_of(session))
            },
            "classes": finder.classes(session),
            "query": {"name": name, "class_name": class_name},
            "searched": searched,
            "found": found,
            "total": total,
            "has_images": bool(workflow.images_of(session, post)),
            "done": DONE.get(request.query_params.get("done", "")[:20], ""),
            "values": values or {"who": answer, "pupil_ids": []},
            "errors": errors or {},
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.get(BASE + "/{post_id}/pupils")
def news_pupils(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    name: str = "",
    class_name: str = "",
) -> Response:
    post = _post(session, post_id)
    if not workflow.may_edit(user, post):
        return _see(post_id)
    return _pupils_page(request, session, user, post, name=name[:100], class_name=class_name[:40])


@router.post(BASE + "/{post_id}/pupils")
def news_pupils_add(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[PupilsForm, Depends()],
    name: str = "",
    class_name: str = "",
) -> Response:
    post = _post(session, post_id)
    ids = form.ids()

    def again(error: str) -> Response:
        return _pupils_page(
            request,
            session,
            user,
            post,
            name=name[:100],
            class_name=class_name[:40],
            errors={"pupil_ids": error},
            values={"who": "", "pupil_ids": list(form.pupil_ids or [])[:500]},
        )

    if not ids:
        return again("Tick the pupils in the pictures")
    return _Acting(request, session, user, post).change(
        lambda: workflow.add_pupils(session, user, post, ids),
        then=lambda: RedirectResponse(f"{BASE}/{post_id}/pupils", status_code=303),
        refused=lambda reason: again(str(reason)),
    )


@router.post(BASE + "/{post_id}/pupils/remove")
def news_pupils_remove(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[RemovePupilForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    pupil_id = row_id_or_none(form.pupil_id)
    if pupil_id is None:
        raise HTTPException(status_code=404)
    return _Acting(request, session, user, post).change(
        lambda: workflow.remove_pupil(session, user, post, pupil_id),
        then=lambda: (
            _see(post_id)
            if post.status == PostStatus.approved.value
            else RedirectResponse(f"{BASE}/{post_id}/pupils", status_code=303)
        ),
    )


@router.post(BASE + "/{post_id}/pupils/answer")
def news_pupils_answer(
    request: Request,
    session: SessionDep,
    user: DraftUser,
    post_id: RowId,
    form: Annotated[AnswerPupilsForm, Depends()],
) -> Response:
    post = _post(session, post_id)
    return _Acting(request, session, user, post).change(
        lambda: workflow.answer_pupils(session, user, post, form.who),
        then="pupils",
        refused=lambda reason: _pupils_page(
            request,
            session,
            user,
            post,
            errors={"who": str(reason)},
            values={"who": form.who[:20], "pupil_ids": []},
        ),
    )
