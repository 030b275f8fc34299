"""The moderators' pages: the queue (/staff/moderation), one comment, the word lists with a box to
test text, comments recorded from the school's social media, and the moderation settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.channel.models import Post
from portal.config import Settings
from portal.consent.models import Contact
from portal.db import SessionDep
from portal.history import Actor, history_of
from portal.inputs import CleanInputRoute, RowId
from portal.moderation.forms import (
    DecisionForm,
    ExternalForm,
    RedactionForm,
    SettingsForm,
    TestTextForm,
    WordForm,
)
from portal.moderation.models import (
    Comment,
    Commenter,
    ExternalAction,
    ExternalChannel,
    WhoMayComment,
    WordKind,
)
from portal.moderation.screening import Rule
from portal.moderation.services import decisions, external, words
from portal.moderation.services import settings as moderation_settings
from portal.moderation.services.comments import reports_of
from portal.moderation.services.decisions import (
    MODERATOR_ROLES,
    Action,
    DecisionRefused,
    rule_label,
    segments,
    shown_text,
)
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
BASE = "/staff/moderation"
# Who keeps the word lists: admins (the school's settings) and office (who moderate and see
# which words come up). Recorded in docs/decisions.md.
WORD_ROLES = (Role.admin, Role.office)
SETTINGS_ROLES = moderation_settings.SETTINGS_ROLES
Moderator = Annotated[StaffUser, Depends(require_role(*MODERATOR_ROLES))]
WordKeeper = Annotated[StaffUser, Depends(require_role(*WORD_ROLES))]
Admin = Annotated[StaffUser, Depends(require_role(*SETTINGS_ROLES))]
RULES = [(rule.value, rule.label) for rule in Rule]
CHANGED_MEANWHILE = (
    "Another admin changed these settings while you were looking. Check them and save again."
)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _see_other(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


def _save_or_show_again(
    session: Session,
    form: Any,
    page: Callable[..., Response],
    save: Callable[[Any], object],
    then: str,
    *,
    refused: type[Exception] | tuple[type[Exception], ...] = (),
    again: Callable[[Any], Response] | None = None,
) -> Response:
    """A form that saves one thing: `save` the checked value, commit and go to `then`; or show the
    `page` again with the form's errors and what was typed (422). When saving raises `refused`,
    roll back and answer `again(reason)`."""
    checked = form.validate()
    if checked.value is None:
        return page(errors=checked.errors, values=form.typed(), status_code=422)
    try:
        save(checked.value)
    except refused as reason:
        session.rollback()
        assert again is not None
        return again(reason)
    session.commit()
    return _see_other(then)


def _page_number(request: Request) -> int:
    typed = request.query_params.get("page", "1")
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 7 else 1


def _queue(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rule = request.query_params.get("rule", "")
    rule = rule if rule in Rule.__members__ else ""
    found = decisions.queue_page(session, rule=rule or None, page=_page_number(request))
    return render(
        request,
        "moderation/moderation.html",
        {
            "queue": found,
            "rule": rule,
            "rules": RULES,
            "actions": [a for a in Action if a != Action.block],
            "errors": errors or {},
            "values": values or {},
            "done": request.query_params.get("done", ""),
            "already": request.query_params.get("already", ""),
            "status_words": decisions.status_words,
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE)
def moderation(request: Request, session: SessionDep, user: Moderator) -> Response:
    return _queue(request, session)


@router.post(BASE)
def moderation_decide(
    request: Request,
    session: SessionDep,
    user: Moderator,
    form: Annotated[DecisionForm, Depends()],
) -> Response:
    """The queue's checkboxes and one action for all of them."""
    ids = form.ids()
    checked = form.validate()
    errors = dict(checked.errors)
    if not ids:
        errors["comment_ids"] = "Choose at least one comment"
    if errors or checked.value is None:
        return _queue(request, session, errors=errors, values=form.typed(), status_code=422)
    try:
        result = decisions.decide_many(session, _settings(request), ids, checked.value, user)
    except DecisionRefused as refused:
        session.rollback()
        return _queue(
            request,
            session,
            errors={refused.field: str(refused)},
            values=form.typed(),
            status_code=422,
        )
    session.commit()
    return _see_other(f"{BASE}?done={result.done}&already={result.already}")


def _comment_page(
    request: Request,
    session: Session,
    comment: Comment,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    flags = decisions.flags_of(session, [comment.id])[comment.id]
    commenter = session.get(Commenter, comment.commenter_id)
    contact = (
        session.get(Contact, commenter.contact_id)
        if commenter is not None and commenter.contact_id
        else None
    )
    return render(
        request,
        "moderation/moderation-comment.html",
        {
            "comment": comment,
            "post": session.get(Post, comment.post_id),
            "flags": flags,
            "segments": segments(shown_text(comment), flags),
            "commenter": commenter,
            "contact": contact,
            "reports": reports_of(session, comment.id),
            "history": history_of(session, "comment", comment.id),
            "event_sentence": decisions.event_sentence,
            "event_has_actor": decisions.event_has_actor,
            "status_words": decisions.status_words,
            "actions": [a for a in Action if a != Action.redact],
            "rule_label": rule_label,
            "errors": errors or {},
            "values": values or {},
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/comments/{comment_id}")
def moderation_comment(
    request: Request, session: SessionDep, user: Moderator, comment_id: RowId
) -> Response:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise HTTPException(status_code=404)
    return _comment_page(request, session, comment)


@router.post(BASE + "/comments/{comment_id}")
def moderation_comment_decide(
    request: Request,
    session: SessionDep,
    user: Moderator,
    comment_id: RowId,
    form: Annotated[DecisionForm, Depends()],
) -> Response:
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise HTTPException(status_code=404)
    checked = form.validate()
    if checked.value is None:
        return _comment_page(
            request, session, comment, errors=checked.errors, values=form.typed(), status_code=422
        )
    try:
        won = decisions.decide(session, _settings(request), comment.id, checked.value, user)
    except DecisionRefused as refused:
        session.rollback()
        return _comment_page(
            request,
            session,
            comment,
            errors={refused.field: str(refused)},
            values=form.typed(),
            status_code=422,
        )
    if not won:
        session.rollback()
        session.refresh(comment)
        return _comment_page(
            request,
            session,
            comment,
            errors={"action": "Someone else has already decided about this comment"},
            values=form.typed(),
            status_code=409,
        )
    session.commit()
    return _see_other(f"{BASE}?done=1&already=0")


def _redaction_page(
    request: Request,
    session: Session,
    comment: Comment,
    *,
    form: RedactionForm | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    text = shown_text(comment)
    flags = decisions.flags_of(session, [comment.id])[comment.id]
    parts = decisions.removable(flags)
    if form is None:
        form = RedactionForm(parts=[str(flag.id) for flag in parts])
    words = [] if errors else decisions.extra_words(form.also_remove)
    preview = decisions.redacted(text, flags, decisions.Redaction(form.part_ids(), tuple(words)))
    return render(
        request,
        "moderation/moderation-comment-redact.html",
        {
            "comment": comment,
            "post": session.get(Post, comment.post_id),
            "segments": segments(text, flags),
            "parts": parts,
            "preview": preview,
            "name_rules": decisions.NAME_RULES,
            "rule_label": rule_label,
            "errors": errors or {},
            "values": form.typed(),
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/comments/{comment_id}/redact")
def moderation_comment_redact(
    request: Request, session: SessionDep, user: Moderator, comment_id: RowId
) -> Response:
    """Choose what a redaction removes: every flagged name and detail is ticked at first."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise HTTPException(status_code=404)
    if not comment.queued:
        return _see_other(f"{BASE}/comments/{comment.id}")
    return _redaction_page(request, session, comment)


@router.post(BASE + "/comments/{comment_id}/redact")
def moderation_comment_redact_save(
    request: Request,
    session: SessionDep,
    user: Moderator,
    comment_id: RowId,
    form: Annotated[RedactionForm, Depends()],
) -> Response:
    """Approve with the chosen parts removed, or (the preview button) show what would be
    published."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise HTTPException(status_code=404)
    checked = form.validate(shown_text(comment))
    if checked.value is None:
        return _redaction_page(
            request, session, comment, form=form, errors=checked.errors, status_code=422
        )
    if form.preview == "yes":
        return _redaction_page(request, session, comment, form=form)
    try:
        won = decisions.decide(session, _settings(request), comment.id, checked.value, user)
    except DecisionRefused as refused:
        session.rollback()
        return _redaction_page(
            request,
            session,
            comment,
            form=form,
            errors={refused.field: str(refused)},
            status_code=422,
        )
    if not won:
        session.rollback()
        session.refresh(comment)
        return _comment_page(
            request,
            session,
            comment,
            errors={"action": "Someone else has already decided about this comment"},
            status_code=409,
        )
    session.commit()
    return _see_other(f"{BASE}?done=1&already=0")


# ---------------------------------------------------------------- blocked commenters


def _blocked_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "moderation/moderation-blocked.html",
        {
            "blocked": decisions.blocked_commenters(session),
            "unblocked": request.query_params.get("unblocked", "") if not errors else "",
            "errors": errors or {},
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/blocked")
def moderation_blocked(request: Request, session: SessionDep, user: Moderator) -> Response:
    return _blocked_page(request, session)


@router.post(BASE + "/blocked/{commenter_id}/unblock")
def moderation_blocked_unblock(
    request: Request, session: SessionDep, user: Moderator, commenter_id: RowId
) -> Response:
    commenter = session.get(Commenter, commenter_id)
    if commenter is None:
        raise HTTPException(status_code=404)
    if not decisions.unblock(session, commenter.id, user):
        session.rollback()
        return _blocked_page(
            request,
            session,
            errors={"blocked": "This commenter is not blocked: someone may have unblocked them"},
            status_code=409,
        )
    session.commit()
    return _see_other(BASE + "/blocked?unblocked=1")


# ---------------------------------------------------------------- the word lists


def _words_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    tested: Any = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "moderation/moderation-words.html",
        {
            "lists": [(kind, words.words_of(session, kind)) for kind in WordKind],
            "kinds": list(WordKind),
            "tested": tested,
            "tested_segments": segments(tested.text, list(tested.flags)) if tested else [],
            "errors": errors or {},
            "values": values or {},
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/words")
def moderation_words(request: Request, session: SessionDep, user: WordKeeper) -> Response:
    return _words_page(request, session)


@router.post(BASE + "/words")
def moderation_words_add(
    request: Request, session: SessionDep, user: WordKeeper, form: Annotated[WordForm, Depends()]
) -> Response:
    page = partial(_words_page, request, session)
    return _save_or_show_again(
        session,
        form,
        page,
        lambda kind: words.add_word(session, kind, form.word, Actor.staff(user)),
        BASE + "/words",
        refused=words.WordRefused,
        again=lambda reason: page(
            errors={reason.field: str(reason)}, values=form.typed(), status_code=422
        ),
    )


@router.post(BASE + "/words/{word_id}/remove")
def moderation_words_remove(
    request: Request, session: SessionDep, user: WordKeeper, word_id: RowId
) -> Response:
    if words.remove_word(session, word_id, Actor.staff(user)) is None:
        raise HTTPException(status_code=404)
    session.commit()
    return _see_other(BASE + "/words")


@router.post(BASE + "/words/test")
def moderation_words_test(
    request: Request,
    session: SessionDep,
    user: WordKeeper,
    form: Annotated[TestTextForm, Depends()],
) -> Response:
    """What screening would flag in some text: nothing is kept."""
    checked = form.validate()
    if checked.value is None:
        return _words_page(
            request, session, errors=checked.errors, values=form.typed(), status_code=422
        )
    tested = words.screener_for(session).screen(checked.value)
    session.commit()
    return _words_page(request, session, values=form.typed(), tested=tested)


# ---------------------------------------------------------------- external channels


def _external_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rows = [
        (row, segments(row.body, flags), sorted({rule_label(f.rule) for f in flags}))
        for row, flags in external.recorded(session)
    ]
    return render(
        request,
        "moderation/moderation-external.html",
        {
            "rows": rows,
            "channels": list(ExternalChannel),
            "external_actions": list(ExternalAction),
            "channel_label": lambda v: (
                ExternalChannel(v).label if v in ExternalChannel.__members__ else v
            ),
            "action_label": lambda v: (
                ExternalAction(v).label if v in ExternalAction.__members__ else v
            ),
            "errors": errors or {},
            "values": values or {},
            "saved": request.query_params.get("saved", ""),
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/external")
def moderation_external(request: Request, session: SessionDep, user: Moderator) -> Response:
    return _external_page(request, session)


@router.post(BASE + "/external")
def moderation_external_add(
    request: Request,
    session: SessionDep,
    user: Moderator,
    form: Annotated[ExternalForm, Depends()],
) -> Response:
    return _save_or_show_again(
        session,
        form,
        partial(_external_page, request, session),
        lambda recorded: external.record(session, recorded, user),
        BASE + "/external?saved=1",
    )


# ---------------------------------------------------------------- settings


def _settings_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    row = moderation_settings.settings_of(session)
    shown = values or {
        "who_may_comment": row.who_may_comment,
        "reports_to_hide": str(row.reports_to_hide),
        "seen": str(row.revision),
    }
    return render(
        request,
        "moderation/moderation-settings.html",
        {
            "choices": list(WhoMayComment),
            "changes": moderation_settings.changes(session),
            "errors": errors or {},
            "values": shown,
            "saved": request.query_params.get("saved", ""),
            "base": BASE,
        },
        status_code=status_code,
    )


@router.get(BASE + "/settings")
def moderation_settings_page(request: Request, session: SessionDep, user: Admin) -> Response:
    return _settings_page(request, session)


@router.post(BASE + "/settings")
def moderation_settings_save(
    request: Request, session: SessionDep, user: Admin, form: Annotated[SettingsForm, Depends()]
) -> Response:
    page = partial(_settings_page, request, session)
    return _save_or_show_again(
        session,
        form,
        page,
        lambda chosen: moderation_settings.change(
            session, chosen, form.seen_revision(), Actor.staff(user)
        ),
        BASE + "/settings?saved=1",
        refused=moderation_settings.SettingsChanged,
        again=lambda _changed: page(errors={"who_may_comment": CHANGED_MEANWHILE}, status_code=409),
    )
