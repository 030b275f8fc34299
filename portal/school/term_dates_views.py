"""The term dates pages (admins only): /staff/settings/term-dates and what hangs off it.

Each change is one transaction: the school profile's row lock, the change, its history event, and
every open case's deadline worked out again (the listeners of `portal.school.term_dates`); then
the page says what moved. The views read and check the form; the rules are in term_dates.py.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.calendar import Term
from portal.clock import unix_seconds
from portal.db import SessionDep
from portal.forms import Checked
from portal.inputs import CleanInputRoute, RowId
from portal.school import term_dates as rules
from portal.school.forms import ClosureForm, ImportConfirmForm, TermForm
from portal.school.ical import MAX_BYTES, IcalError, read_ics
from portal.school.models import SchoolClosure, SchoolTerm
from portal.school.services import calendar_of, school_of
from portal.security import signer
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]
BASE = "/staff/settings/term-dates"
IMPORT_PURPOSE = "term-dates-import"
IMPORT_GOOD_FOR = 60 * 60  # seconds a preview can be confirmed in
T = TypeVar("T")


# ---------------------------------------------------------------- the calendar


@router.get(BASE)
def term_dates_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _calendar_page(request, session)


def _calendar_page(
    request: Request,
    session: Session,
    *,
    conflict: bool = False,
    status_code: int = 200,
) -> Response:
    school = school_of(session)
    stored = rules.stored_dates(session, school.id) if school.id is not None else None
    calendar = calendar_of(session)
    reasons = {row.day: row.reason for row in stored.closures} if stored else {}
    return render(
        request,
        "school/term-dates.html",
        {
            "terms": stored.terms if stored else [],
            "closures": stored.closures if stored else [],
            "years": rules.school_years(calendar, reasons),
            "warning": rules.running_out(session),
            "conflict": rules.TermDatesConflict.MESSAGE if conflict else None,
            "base": BASE,
        },
        status_code=status_code,
    )


def _done(request: Request, session: Session, result: rules.ChangeResult) -> Response:
    session.commit()
    return render(request, "school/term-dates-done.html", {"result": result, "base": BASE})


def _conflict(request: Request, session: Session) -> Response:
    session.rollback()
    return _calendar_page(request, session, conflict=True, status_code=409)


# ---------------------------------------------------------------- terms


@router.get(BASE + "/terms/new")
def new_term_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _term_form(request, None)


@router.post(BASE + "/terms/new")
def add_term(
    request: Request, session: SessionDep, admin: AdminUser, form: Annotated[TermForm, Depends()]
) -> Response:
    try:
        result = rules.add_term(session, admin, _accepted(form.validate()))
    except rules.TermDatesInputError as error:
        session.rollback()
        return _term_form(request, None, values=form.typed(), errors=error.errors)
    return _done(request, session, result)


@router.get(BASE + "/terms/{term_id}")
def change_term_page(
    request: Request, session: SessionDep, admin: AdminUser, term_id: RowId
) -> Response:
    term = _term_or_404(session, term_id)
    values = {"name": term.name, **rules.date_parts("start", term.start)}
    values.update(rules.date_parts("end", term.end))
    return _term_form(request, term, values=values)


@router.post(BASE + "/terms/{term_id}")
def change_term(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    term_id: RowId,
    form: Annotated[TermForm, Depends()],
) -> Response:
    try:
        result = rules.change_term(session, admin, term_id, _accepted(form.validate()))
    except rules.TermDatesInputError as error:
        session.rollback()
        term = session.get(SchoolTerm, term_id)
        if term is None:
            return _conflict(request, session)
        return _term_form(request, term, values=form.typed(), errors=error.errors)
    except rules.TermDatesConflict:
        return _conflict(request, session)
    return _done(request, session, result)


@router.get(BASE + "/terms/{term_id}/remove")
def remove_term_page(
    request: Request, session: SessionDep, admin: AdminUser, term_id: RowId
) -> Response:
    term = _term_or_404(session, term_id)
    inside = [
        row
        for row in rules.stored_dates(session, term.school_id).closures
        if term.start <= row.day <= term.end
    ]
    return render(
        request,
        "school/term-dates-remove.html",
        {"term": term, "closure": None, "inside": inside, "base": BASE},
    )


@router.post(BASE + "/terms/{term_id}/remove")
def remove_term(
    request: Request, session: SessionDep, admin: AdminUser, term_id: RowId
) -> Response:
    try:
        result = rules.remove_term(session, admin, term_id)
    except rules.TermDatesConflict:
        return _conflict(request, session)
    return _done(request, session, result)


def _term_or_404(session: Session, term_id: int) -> SchoolTerm:
    term = session.get(SchoolTerm, term_id)
    if term is None or term.school_id != school_of(session).id:
        raise HTTPException(status_code=404)
    return term


def _term_form(
    request: Request,
    term: SchoolTerm | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "school/term-dates-term.html",
        {
            "term": term,
            "action": f"{BASE}/terms/{term.id}" if term else f"{BASE}/terms/new",
            "values": values or {},
            "errors": errors or {},
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


def _accepted(checked: Checked[T | None]) -> T:
    """A form's value, or its field errors raised as the rules raise theirs (one way to show
    them: what the calendar refuses and what the form refuses look the same)."""
    if checked.value is None:
        raise rules.TermDatesInputError(checked.errors)
    return checked.value


# ---------------------------------------------------------------- closure days


@router.get(BASE + "/closures/new")
def new_closure_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _closure_form(request)


@router.post(BASE + "/closures/new")
def add_closure(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ClosureForm, Depends()],
) -> Response:
    try:
        result = rules.add_closure(session, admin, _accepted(form.validate()))
    except rules.TermDatesInputError as error:
        session.rollback()
        return _closure_form(request, values=form.typed(), errors=error.errors)
    return _done(request, session, result)


@router.get(BASE + "/closures/{closure_id}/remove")
def remove_closure_page(
    request: Request, session: SessionDep, admin: AdminUser, closure_id: RowId
) -> Response:
    closure = session.get(SchoolClosure, closure_id)
    if closure is None or closure.school_id != school_of(session).id:
        raise HTTPException(status_code=404)
    return render(
        request,
        "school/term-dates-remove.html",
        {"term": None, "closure": closure, "inside": [], "base": BASE},
    )


@router.post(BASE + "/closures/{closure_id}/remove")
def remove_closure(
    request: Request, session: SessionDep, admin: AdminUser, closure_id: RowId
) -> Response:
    try:
        result = rules.remove_closure(session, admin, closure_id)
    except rules.TermDatesConflict:
        return _conflict(request, session)
    return _done(request, session, result)


def _closure_form(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "school/term-dates-closure.html",
        {"values": values or {}, "errors": errors or {}, "base": BASE},
        status_code=422 if errors else 200,
    )


# ---------------------------------------------------------------- importing an .ics file


@router.get(BASE + "/import")
def import_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return render(request, "school/term-dates-import.html", {"base": BASE})


@router.post(BASE + "/import")
def import_preview(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    def refused(message: str) -> Response:
        return render(
            request,
            "school/term-dates-import.html",
            {"errors": {"file": message}, "base": BASE},
            status_code=422,
        )

    if file is None or not file.filename:
        return refused("Choose the term dates file (.ics) to import")
    content = file.file.read(MAX_BYTES + 1)
    if not content:
        return refused("The file is empty: choose the term dates file (.ics)")
    try:
        plan = read_ics(content, file.filename)
    except IcalError as error:
        return refused(str(error))
    school_id = school_of(session).id
    if school_id is None:
        raise HTTPException(status_code=404)
    stored = rules.stored_dates(session, school_id)
    old_terms, old_closures = rules.replaced_by(stored, plan)
    return render(
        request,
        "school/term-dates-preview.html",
        {
            "plan": plan,
            "old_terms": old_terms,
            "old_closures": old_closures,
            "signed_plan": _sign_plan(request, admin, plan, stored.fingerprint),
            "filename": file.filename,
            "base": BASE,
        },
    )


@router.post(BASE + "/import/confirm")
def import_confirm(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ImportConfirmForm, Depends()],
) -> Response:
    read = _unsign_plan(request, admin, form.plan)
    if read is None:
        return render(
            request,
            "school/term-dates-import.html",
            {
                "errors": {
                    "file": "That preview has expired or could not be read: choose the file again"
                },
                "base": BASE,
            },
            status_code=422,
        )
    confirmed, fingerprint = read
    try:
        result = rules.import_dates(session, admin, confirmed, fingerprint)
    except rules.TermDatesConflict:
        return _conflict(request, session)
    except rules.TermDatesInputError as error:
        session.rollback()
        return render(
            request,
            "school/term-dates-import.html",
            {"errors": {"file": next(iter(error.errors.values()))}, "base": BASE},
            status_code=422,
        )
    return _done(request, session, result)


def _sign_plan(request: Request, admin: StaffUser, plan: rules.ImportPlan, seen: str) -> str:
    payload = json.dumps(
        {
            "terms": [[t.name, t.start.isoformat(), t.end.isoformat()] for t in plan.terms],
            "closures": [[day.isoformat(), reason] for day, reason in plan.closures],
            "seen": seen,
        },
        separators=(",", ":"),
    )
    now = unix_seconds(request.app.state.clock.now())
    return signer(request).sign(
        IMPORT_PURPOSE, payload, expires_at=now + IMPORT_GOOD_FOR, bound_to=f"staff:{admin.id}"
    )


def _unsign_plan(
    request: Request, admin: StaffUser, value: str
) -> tuple[rules.ImportPlan, str] | None:
    now = unix_seconds(request.app.state.clock.now())
    payload = signer(request).unsign(IMPORT_PURPOSE, value, now=now, bound_to=f"staff:{admin.id}")
    if payload is None:
        return None
    try:
        data = json.loads(payload)
        terms = tuple(
            Term(str(name), date.fromisoformat(start), date.fromisoformat(end))
            for name, start, end in data["terms"]
        )
        closures = tuple((date.fromisoformat(day), str(reason)) for day, reason in data["closures"])
        seen = str(data["seen"])
    except (ValueError, KeyError, TypeError):
        return None
    if not terms:
        return None
    return rules.ImportPlan(terms=terms, closures=closures), seen
