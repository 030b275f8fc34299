"""The admin pages for the wording of every email and letter: list, edit with a preview, and
back to our default. Views ask `portal.wording.services` and render; the service owns writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.db import SessionDep
from portal.history import Actor
from portal.inputs import CleanInputRoute
from portal.school.web import SchoolDep
from portal.templating import render
from portal.wording import services
from portal.wording.forms import VersionedForm, WordingForm
from portal.wording.rendering import Rendered, WordingProblem

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]
NOT_SET_UP = "Give the school's name on the settings pages before changing its wording"


@router.get("/staff/settings/wording")
def wording(request: Request, session: SessionDep, admin: AdminUser, school: SchoolDep) -> Response:
    return render(request, "wording/list.html", {"listed": services.listing(session, school)})


def _editing(session: SessionDep, school: SchoolDep, key: str) -> services.Editing:
    editing = services.editing(session, school, key)
    if editing is None:
        raise HTTPException(status_code=404)
    return editing


@router.get("/staff/settings/wording/{key}")
def wording_key(
    request: Request, session: SessionDep, admin: AdminUser, school: SchoolDep, key: str
) -> Response:
    editing = _editing(session, school, key)
    return _edit_page(request, editing, editing.subject, editing.body, editing.version)


@router.post("/staff/settings/wording/{key}")
def wording_key_post(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    school: SchoolDep,
    key: str,
    form: Annotated[WordingForm, Depends()],
) -> Response:
    editing = _editing(session, school, key)
    subject, body, seen = form.subject, form.body, form.seen_version
    try:
        if school.id is None:
            raise WordingProblem("body", NOT_SET_UP)
        if form.saving:
            services.save(
                session,
                school,
                key,
                subject=subject,
                body=body,
                seen_version=seen,
                actor=Actor.staff(admin),
            )
            session.commit()
            return RedirectResponse(f"/staff/settings/wording/{key}?saved=1", status_code=303)
        shown = services.preview(editing.wording, school, subject, body)
    except WordingProblem as problem:
        session.rollback()
        return _edit_page(
            request, editing, subject, body, seen, errors={problem.field: problem.message}
        )
    return _edit_page(request, editing, subject, body, seen, preview=shown)


def _edit_page(
    request: Request,
    editing: services.Editing,
    subject: str,
    body: str,
    version: int,
    *,
    preview: Rendered | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "wording/edit.html",
        {
            "editing": editing,
            "wording": editing.wording,
            "values": {"subject": subject, "body": body},
            "version": version,
            "preview": preview,
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/staff/settings/wording/{key}/reset")
def wording_key_reset(
    request: Request, session: SessionDep, admin: AdminUser, school: SchoolDep, key: str
) -> Response:
    editing = _editing(session, school, key)
    if not editing.overridden:
        return RedirectResponse(f"/staff/settings/wording/{key}", status_code=303)
    return render(request, "wording/reset.html", {"editing": editing, "wording": editing.wording})


@router.post("/staff/settings/wording/{key}/reset")
def wording_key_reset_post(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    school: SchoolDep,
    key: str,
    form: Annotated[VersionedForm, Depends()],
) -> Response:
    _editing(session, school, key)
    done = services.reset(
        session, school, key, seen_version=form.seen_version, actor=Actor.staff(admin)
    )
    session.commit()
    outcome = "reset=1" if done else "unchanged=1"
    return RedirectResponse(f"/staff/settings/wording/{key}?{outcome}", status_code=303)
