"""The parent's form for raising a concern or complaint: one question per page.

Answers are kept on the server in a draft (see `drafts.py`) after every page, so going back, a
lost connection or a refused file loses nothing. Only the last page calls the service; the
procedure's own rules (`services.validate_new`) are asked page by page for the fields each page
collects, so the views never restate them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from portal.clock import school_today, unix_seconds
from portal.complaints import attachments, drafts, services
from portal.complaints.attachments import MAX_BYTES, MAX_FILES, AttachmentError
from portal.complaints.models import About, Attachment, ComplaintDraft
from portal.complaints.services import ComplaintError, NewComplaint
from portal.config import Settings
from portal.db import SessionDep, now_of
from portal.forms import DATE_PARTS, read_date
from portal.inputs import CleanInputRoute, RowId
from portal.school.services import School, school_of
from portal.school.web import SchoolDep
from portal.security import client_address, cookie_options
from portal.signing import Signer
from portal.templating import render
from portal.throttle import Limit, attempt

router = APIRouter(route_class=CleanInputRoute)

STEPS = (
    "kind",
    "about",
    "category",
    "what-happened",
    "done-so-far",
    "put-right",
    "attachments",
    "contact",
    "check",
)
KINDS = ("concern", "complaint")
NAMED_ABOUTS = (About.staff, About.governor)
FIELD_STEPS = {
    "kind": "kind",
    "formal": "kind",
    "about": "about",
    "about_name": "about",
    "category": "category",
    "what_happened": "what-happened",
    "happened_on": "what-happened",
    "done_so_far": "done-so-far",
    "put_right": "put-right",
    "attachment_ids": "attachments",
    "file": "attachments",
    "anonymous": "contact",
    "parent_name": "contact",
    "parent_email": "contact",
    "parent_phone": "contact",
    "child_name": "contact",
    "anonymous_child": "contact",
}
# On the anonymous path, a child's name given is kept only when the parent says so: it can tell
# the school who the family is.
CHILD_NAME_CHOICES = ("keep", "remove")
LONG_TEXT_LIMIT = 10_000
NAME_LIMIT = 200
EMAIL_LIMIT = 320
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{6,30}$")
SUBMIT_LIMIT_SCOPE = "complaint-submit"
DONE_COOKIE = "portal_done"
DONE_PATH = "/complaints/new/done"
DONE_SECONDS = 30 * 60
HONEYPOT_FIELD = "website"


async def form_data(request: Request) -> FormData:
    """The submitted form, already read (and cached) by the CSRF check."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


@dataclass
class PageAnswer:
    """What one page's form gave: answers to save, what was typed, and what to fix."""

    changes: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    date_parts_wrong: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- answers and the rules


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def new_complaint(answers: dict[str, Any], attachment_ids: list[int] | None = None) -> NewComplaint:
    """The draft's answers in the shape the service takes; missing answers are blank."""
    about = answers.get("about")
    happened_on = answers.get("happened_on") or ""
    return NewComplaint(
        formal=answers.get("kind") == "complaint",
        about=About(about) if about in About.__members__ else About.school,
        about_name=answers.get("about_name", ""),
        category=answers.get("category", ""),
        what_happened=answers.get("what_happened", ""),
        happened_on=date.fromisoformat(happened_on) if happened_on else None,
        done_so_far=answers.get("done_so_far", ""),
        put_right=answers.get("put_right", ""),
        anonymous=bool(answers.get("anonymous")),
        parent_name=answers.get("parent_name", ""),
        parent_email=answers.get("parent_email", ""),
        parent_phone=answers.get("parent_phone", ""),
        child_name=answers.get("child_name", ""),
        attachment_ids=attachment_ids or [],
    )


def _rule_errors(
    answers: dict[str, Any], school: School, today: date, fields: tuple[str, ...]
) -> dict[str, str]:
    """The procedure's own checks, for the fields this page collects."""
    errors = services.validate_new(new_complaint(answers), school, today)
    return {name: message for name, message in errors.items() if name in fields}


def first_unanswered(answers: dict[str, Any], school: School, today: date) -> str | None:
    """The first page whose required answer is missing, or None when the draft can be sent."""
    if answers.get("kind") not in KINDS:
        return "kind"
    if answers.get("about") not in About.__members__:
        return "about"
    errors = services.validate_new(new_complaint(answers), school, today)
    steps = {FIELD_STEPS.get(name, "check") for name in errors}
    if _child_name_unasked(answers):
        steps.add("contact")
    return next((step for step in STEPS if step in steps), None)


def _child_name_unasked(answers: dict[str, Any]) -> bool:
    """Anonymous with a child's name, but not yet asked whether to keep it (a draft saved before
    the question existed): the contact page asks it before the case can be sent."""
    return (
        bool(answers.get("anonymous"))
        and bool(answers.get("child_name"))
        and answers.get("anonymous_child") not in CHILD_NAME_CHOICES
    )


def _values_from(answers: dict[str, Any]) -> dict[str, Any]:
    """Saved answers in the shape the pages' inputs use."""
    values = dict(answers)
    happened_on = answers.get("happened_on") or ""
    if happened_on:
        day = date.fromisoformat(happened_on)
        values.update(
            {
                "happened_on-day": str(day.day),
                "happened_on-month": str(day.month),
                "happened_on-year": str(day.year),
            }
        )
    return values


def _read_date(day: str, month: str, year: str) -> tuple[date | None, list[str], str]:
    """A GOV.UK date input: (the date or None, the parts to fix, what to do)."""
    answer = read_date(day, month, year)
    return answer.value, list(answer.wrong_parts), answer.problem


def _too_long(text: str, limit: int, what: str) -> str | None:
    if len(text) > limit:
        return f"{what} must be {limit:,} characters or fewer"
    return None


def _read_kind(form: FormData, answers: dict[str, Any], school: School, today: date) -> PageAnswer:
    kind = _text(form, "kind")
    result = PageAnswer(changes={"kind": kind}, values={"kind": kind})
    if kind not in KINDS:
        result.errors["kind"] = "Select whether this is a concern or a formal complaint"
    return result


def _read_about(form: FormData, answers: dict[str, Any], school: School, today: date) -> PageAnswer:
    about = _text(form, "about")
    typed = _text(form, "about_name")
    name = typed.strip() if about in NAMED_ABOUTS else ""
    result = PageAnswer(
        changes={"about": about, "about_name": name}, values={"about": about, "about_name": typed}
    )
    if about not in About.__members__:
        result.errors["about"] = "Select who your concern or complaint is about"
    if problem := _too_long(typed, NAME_LIMIT, "Their name"):
        result.errors["about_name"] = problem
    return result


def _read_category(
    form: FormData, answers: dict[str, Any], school: School, today: date
) -> PageAnswer:
    category = _text(form, "category")
    result = PageAnswer(changes={"category": category}, values={"category": category})
    result.errors = _rule_errors({**answers, **result.changes}, school, today, ("category",))
    return result


def _read_what_happened(
    form: FormData, answers: dict[str, Any], school: School, today: date
) -> PageAnswer:
    text = _text(form, "what_happened")
    raw = {f"happened_on-{part}": _text(form, f"happened_on-{part}") for part in DATE_PARTS}
    happened_on, wrong_parts, date_problem = _read_date(*raw.values())
    result = PageAnswer(
        changes={
            "what_happened": text.strip(),
            "happened_on": happened_on.isoformat() if happened_on else "",
        },
        values={"what_happened": text, **raw},
    )
    checked = _rule_errors(
        {**answers, **result.changes}, school, today, ("what_happened", "happened_on")
    )
    if problem := _too_long(text, LONG_TEXT_LIMIT, "What happened"):
        result.errors["what_happened"] = problem
    elif "what_happened" in checked:
        result.errors["what_happened"] = checked["what_happened"]
    if date_problem:
        result.errors[f"happened_on-{wrong_parts[0]}"] = date_problem
        result.date_parts_wrong = wrong_parts
    elif "happened_on" in checked:
        result.errors["happened_on-day"] = checked["happened_on"]
        result.date_parts_wrong = list(DATE_PARTS)
    return result


def _read_long_text(name: str, what: str) -> Callable[..., PageAnswer]:
    def read(form: FormData, answers: dict[str, Any], school: School, today: date) -> PageAnswer:
        text = _text(form, name)
        result = PageAnswer(changes={name: text.strip()}, values={name: text})
        if problem := _too_long(text, LONG_TEXT_LIMIT, what):
            result.errors[name] = problem
        return result

    return read


def _read_contact(
    form: FormData, answers: dict[str, Any], school: School, today: date
) -> PageAnswer:
    anonymous = _text(form, "anonymous") == "yes"
    typed = {
        name: _text(form, name).strip()
        for name in ("parent_name", "parent_email", "parent_phone", "child_name")
    }
    child_choice = _text(form, "anonymous_child")
    child_choice = child_choice if child_choice in CHILD_NAME_CHOICES else ""
    result = PageAnswer(values={**typed, "anonymous": anonymous, "anonymous_child": child_choice})
    if anonymous:
        result.changes = {
            "anonymous": True,
            "parent_name": "",
            "parent_email": "",
            "parent_phone": "",
            "child_name": "" if child_choice == "remove" else typed["child_name"],
            "anonymous_child": child_choice,
        }
    else:
        result.changes = {"anonymous": False, **typed, "anonymous_child": ""}
    checked = _rule_errors(
        {**answers, **result.changes}, school, today, ("parent_name", "parent_email")
    )
    errors: dict[str, str] = {}
    if not anonymous:
        if problem := _too_long(typed["parent_name"], NAME_LIMIT, "Your name"):
            errors["parent_name"] = problem
        elif "parent_name" in checked:
            errors["parent_name"] = checked["parent_name"]
        if not typed["parent_email"]:
            errors["parent_email"] = "Enter your email address"
        elif problem := _too_long(typed["parent_email"], EMAIL_LIMIT, "Your email address"):
            errors["parent_email"] = problem
        elif "parent_email" in checked:
            errors["parent_email"] = checked["parent_email"]
        if typed["parent_phone"] and not PHONE_PATTERN.match(typed["parent_phone"]):
            errors["parent_phone"] = (
                "Enter a phone number using numbers only, like 01632 960 001 or 07700 900 982"
            )
    if problem := _too_long(typed["child_name"], NAME_LIMIT, "Your child's name"):
        errors["child_name"] = problem
    if anonymous and typed["child_name"] and not child_choice:
        errors["anonymous_child"] = (
            "Select whether we should keep your child's name, or leave their name empty"
        )
    result.errors = errors
    return result


READERS: dict[str, Callable[[FormData, dict[str, Any], School, date], PageAnswer]] = {
    "kind": _read_kind,
    "about": _read_about,
    "category": _read_category,
    "what-happened": _read_what_happened,
    "done-so-far": _read_long_text("done_so_far", "What you have done so far"),
    "put-right": _read_long_text("put_right", "What would put it right"),
    "contact": _read_contact,
}


# ---------------------------------------------------------------- pages and cookies


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _draft(request: Request, session: SessionDep, now: datetime) -> ComplaintDraft | None:
    return drafts.find(session, request.cookies.get(drafts.DRAFT_COOKIE), now)


def _set_draft_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        drafts.DRAFT_COOKIE,
        token,
        **cookie_options(
            _settings(request),
            path=drafts.DRAFT_COOKIE_PATH,
            max_age=int(drafts.KEEP_FOR.total_seconds()),
        ),
    )


def _step_url(step: str, from_check: bool = False) -> str:
    return f"/complaints/new/{step}" + ("?from=check" if from_check else "")


def _next_url(step: str, from_check: bool) -> str:
    if from_check or step == "check":
        return _step_url("check")
    return _step_url(STEPS[STEPS.index(step) + 1])


def _back_url(step: str, from_check: bool) -> str:
    if from_check:
        return _step_url("check")
    index = STEPS.index(step)
    return "/complaints/new" if index == 0 else _step_url(STEPS[index - 1])


def _skipped_ahead(session: Session, step: str, answers: dict[str, Any]) -> Response | None:
    """Opening a page before the answers it depends on: go to the first one missing."""
    first = first_unanswered(answers, school_of(session), services.school_date(session))
    if first is not None and STEPS.index(first) < STEPS.index(step):
        return RedirectResponse(_step_url(first), status_code=303)
    return None


def _render_step(
    request: Request,
    session: SessionDep,
    step: str,
    draft: ComplaintDraft | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    from_check: bool = False,
    date_parts_wrong: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    _settings(request)
    answers = drafts.answers_of(draft)
    files = drafts.files_of(session, draft)
    errors = errors or {}
    if date_parts_wrong is None:
        date_parts_wrong = (
            list(DATE_PARTS) if any(k.startswith("happened_on") for k in errors) else []
        )
    context: dict[str, Any] = {
        "step": step,
        "values": values,
        "errors": errors,
        "from_check": from_check,
        "back_url": _back_url(step, from_check),
        "date_parts_wrong": date_parts_wrong,
        "date_error": next((m for k, m in errors.items() if k.startswith("happened_on")), ""),
        "abouts": list(About),
        "categories": school_of(session).categories,
        "files": files,
        "max_files": MAX_FILES,
        "text_limit": LONG_TEXT_LIMIT,
        "answers": answers,
        "new": new_complaint(answers),
        "change_url": lambda target: _step_url(target, from_check=True),
    }
    return render(request, f"complaints/form/{step}.html", context, status_code=status_code)


DONE_PURPOSE = "complaint-done"


def _set_done_cookie(request: Request, response: Response, payload: dict[str, Any]) -> None:
    """The private link for the confirmation page: signed, HttpOnly, short-lived, never a URL."""
    now = unix_seconds(request.app.state.clock.now())
    value = Signer(_settings(request).secret_key).sign(
        DONE_PURPOSE, json.dumps({**payload, "issued": now}), expires_at=now + DONE_SECONDS
    )
    response.set_cookie(
        DONE_COOKIE,
        value,
        **cookie_options(_settings(request), path=DONE_PATH, max_age=DONE_SECONDS),
    )


def _read_done_cookie(request: Request) -> dict[str, Any] | None:
    body = Signer(_settings(request).secret_key).unsign(
        DONE_PURPOSE,
        request.cookies.get(DONE_COOKIE, ""),
        now=unix_seconds(request.app.state.clock.now()),
    )
    if body is None:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _submit_allowed(request: Request) -> bool:
    """Counts this submission before any work, so a burst cannot get past the limit."""
    limit = Limit.per_hour(SUBMIT_LIMIT_SCOPE, _settings(request).submissions_per_hour_per_address)
    return attempt(request, limit, client_address(request))


# ---------------------------------------------------------------- routes


@router.get("/complaints/new")
def complaint_start(request: Request, school: SchoolDep) -> Response:
    return render(request, "complaints/form/start.html", {"out_of_scope": school.out_of_scope})


@router.get("/complaints/new/done")
def complaint_done(request: Request, session: SessionDep) -> Response:
    payload = _read_done_cookie(request)
    if payload is None:
        return RedirectResponse("/complaints/new", status_code=303)
    complaint = services.find_by_token(session, str(payload.get("token", "")))
    if complaint is None:
        return RedirectResponse("/complaints/new", status_code=303)
    return render(
        request,
        "complaints/form/done.html",
        {
            "complaint": complaint,
            "reference": complaint.reference,
            "kind": "complaint" if complaint.asked_for_formal else "concern",
            "track_url": f"{_settings(request).base_url}/track/{payload['token']}",
            "counted_later": complaint.received_on > school_today(complaint.received_at),
            "acknowledge_days": school_of(session).acknowledge_within_days,
        },
    )


PREFILL_PATH = "/complaints/new/prefill"


@router.post(PREFILL_PATH)
def complaint_prefill(request: Request, session: SessionDep, form: FormDep) -> Response:
    """Start the form with words the parent wrote elsewhere (a comment on the school's news they
    chose to send as a complaint instead). They begin at the first question as usual; the words
    wait on the "what happened" page, where the form's own rules check them like typed ones."""
    text = _text(form, "what_happened").strip()[:LONG_TEXT_LIMIT]
    now = now_of(session)
    draft = _draft(request, session, now)
    token = request.cookies.get(drafts.DRAFT_COOKIE, "")
    if draft is None:
        draft, token = drafts.start(session, now)
    if text:
        drafts.save(session, draft, {"what_happened": text}, now)
    session.commit()
    response = RedirectResponse(_step_url("kind"), status_code=303)
    _set_draft_cookie(request, response, token)
    return response


@router.post("/complaints/new/submit")
def complaint_submit(request: Request, session: SessionDep, form: FormDep) -> Response:
    settings = _settings(request)
    draft = _draft(request, session, now_of(session))
    if draft is None:
        return RedirectResponse(_step_url("kind"), status_code=303)
    answers = drafts.answers_of(draft)
    if skipped := _skipped_ahead(session, "check", answers):
        return skipped
    if not _submit_allowed(request):
        return render(
            request,
            "complaints/form/too-many.html",
            {"per_hour": settings.submissions_per_hour_per_address},
            status_code=429,
        )
    # A filled hidden field suggests a robot, but a person's browser may have filled it: keep the
    # submission, held for office to release, and show the real confirmation.
    suspected_junk = bool(_text(form, HONEYPOT_FIELD).strip())
    new = new_complaint(answers, drafts.file_ids_of(session, draft))
    try:
        received = services.submit(session, settings, new, held=suspected_junk)
    except ComplaintError as error:
        session.rollback()
        step = FIELD_STEPS.get(error.field, "check")
        key = "happened_on-day" if error.field == "happened_on" else error.field
        return _render_step(
            request,
            session,
            step,
            draft,
            values=_values_from(answers),
            errors={key: error.message},
            from_check=True,
            status_code=422,
        )
    if not drafts.discard(session, draft):
        # The same answers sent twice at once: the other sending made the case, as a second
        # "Send" after it had finished would find no draft.
        session.rollback()
        return RedirectResponse(_step_url("kind"), status_code=303)
    session.commit()
    response = RedirectResponse(DONE_PATH, status_code=303)
    _set_done_cookie(
        request,
        response,
        {"token": received.access_token},
    )
    response.delete_cookie(
        drafts.DRAFT_COOKIE, **cookie_options(_settings(request), path=drafts.DRAFT_COOKIE_PATH)
    )
    return response


@router.post("/complaints/new/attachments")
def complaint_attachments_save(request: Request, session: SessionDep, form: FormDep) -> Response:
    settings = _settings(request)
    now = now_of(session)
    draft = _draft(request, session, now)
    answers = drafts.answers_of(draft)
    if skipped := _skipped_ahead(session, "attachments", answers):
        return skipped
    from_check = _text(form, "from") == "check"
    adding = _text(form, "action") == "add"
    upload = form.get("file")
    chosen = isinstance(upload, UploadFile) and bool(upload.filename)
    if not chosen:
        if adding:
            return _render_step(
                request,
                session,
                "attachments",
                draft,
                values={},
                errors={"file": "Select a file to add"},
                from_check=from_check,
                status_code=422,
            )
        return RedirectResponse(_next_url("attachments", from_check), status_code=303)
    assert isinstance(upload, UploadFile)
    filename = upload.filename or "file"
    token = request.cookies.get(drafts.DRAFT_COOKIE, "")
    if draft is None:
        draft, token = drafts.start(session, now)
    content = upload.file.read(MAX_BYTES + 1)
    try:
        attachments.store(
            session, settings, filename=filename, content=content, draft_id=draft.token_hash
        )
    except AttachmentError as error:
        session.rollback()
        return _render_step(
            request,
            session,
            "attachments",
            _draft(request, session, now),
            values={},
            errors={"file": str(error)},
            from_check=from_check,
            status_code=422,
        )
    drafts.save(session, draft, {}, now)
    session.commit()
    target = (
        _step_url("attachments", from_check) if adding else _next_url("attachments", from_check)
    )
    response = RedirectResponse(target, status_code=303)
    _set_draft_cookie(request, response, token)
    return response


@router.post("/complaints/new/attachments/{attachment_id}/remove")
def complaint_attachment_remove(
    attachment_id: RowId, request: Request, session: SessionDep, form: FormDep
) -> Response:
    draft = _draft(request, session, now_of(session))
    attachment = session.get(Attachment, attachment_id)
    if draft is None or attachment is None or attachment.draft_id != draft.token_hash:
        raise HTTPException(status_code=404)
    attachments.remove(session, _settings(request), attachment)
    session.commit()
    return RedirectResponse(
        _step_url("attachments", _text(form, "from") == "check"), status_code=303
    )


@router.get("/complaints/new/{step}")
def complaint_question(step: str, request: Request, session: SessionDep) -> Response:
    if step not in STEPS:
        raise HTTPException(status_code=404)
    draft = _draft(request, session, now_of(session))
    answers = drafts.answers_of(draft)
    if skipped := _skipped_ahead(session, step, answers):
        return skipped
    return _render_step(
        request,
        session,
        step,
        draft,
        values=_values_from(answers),
        from_check=request.query_params.get("from") == "check",
    )


@router.post("/complaints/new/{step}")
def complaint_answer(step: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    read = READERS.get(step)
    if read is None:
        raise HTTPException(status_code=404)
    _settings(request)
    now = now_of(session)
    draft = _draft(request, session, now)
    answers = drafts.answers_of(draft)
    if skipped := _skipped_ahead(session, step, answers):
        return skipped
    from_check = _text(form, "from") == "check"
    result = read(form, answers, school_of(session), services.school_today(now))
    if result.errors:
        return _render_step(
            request,
            session,
            step,
            draft,
            values=result.values,
            errors=result.errors,
            from_check=from_check,
            date_parts_wrong=result.date_parts_wrong,
            status_code=422,
        )
    token = request.cookies.get(drafts.DRAFT_COOKIE, "")
    if draft is None:
        draft, token = drafts.start(session, now)
    drafts.save(session, draft, result.changes, now)
    session.commit()
    response = RedirectResponse(_next_url(step, from_check), status_code=303)
    _set_draft_cookie(request, response, token)
    return response
