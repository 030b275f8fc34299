"""The photo check (/staff/photo-check): pick the pupils in a picture and where it will be used;
the answer per pupil, kept as a check anyone with the role can open again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.consent.forms import PhotoCheckForm
from portal.consent.models import PhotoCheck, Purpose
from portal.consent.services import photo_check as checks
from portal.consent.services import pupils as finder
from portal.consent.services.purposes import purposes
from portal.db import SessionDep
from portal.inputs import CleanInputRoute, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
# Whoever puts pictures out for the school: office, the head, senior leaders and admins.
CHECK_ROLES = (Role.office, Role.head, Role.senior_leader, Role.admin)
CheckUser = Annotated[StaffUser, Depends(require_role(*CHECK_ROLES))]
BASE = "/staff/photo-check"


@router.get(BASE)
def photo_check(
    request: Request,
    session: SessionDep,
    user: CheckUser,
    name: str = "",
    class_name: str = "",
    purpose: str = "",
) -> Response:
    return _check_page(
        request, session, name=name[:100], class_name=class_name[:40], purpose=purpose[:40]
    )


def _check_page(
    request: Request,
    session: Session,
    *,
    name: str = "",
    class_name: str = "",
    purpose: str = "",
    ticked: list[str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    searched = bool(name or class_name)
    found, total = (
        finder.find_pupils(session, name=name, class_name=class_name) if searched else ([], 0)
    )
    return render(
        request,
        "consent/photo-check.html",
        {
            "purposes": purposes(session),
            "classes": finder.classes(session),
            "query": {"name": name, "class_name": class_name},
            "searched": searched,
            "pupils": found,
            "total": total,
            "values": {"purpose": purpose, "pupil_ids": ticked or []},
            "recent": checks.recent_checks(session),
            "errors": errors or {},
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.post(BASE)
def photo_check_make(
    request: Request,
    session: SessionDep,
    user: CheckUser,
    form: Annotated[PhotoCheckForm, Depends()],
    name: str = "",
    class_name: str = "",
) -> Response:
    checked = form.validate_for(purposes(session))
    if checked.value is None:
        return _check_page(
            request,
            session,
            name=name[:100],
            class_name=class_name[:40],
            purpose=form.purpose[:40],
            ticked=list(form.pupil_ids or []),
            errors=checked.errors,
        )
    purpose, ids = checked.value
    try:
        check = checks.record_check(session, user, ids, purpose)
        session.commit()
    except checks.CheckRefused as refused:
        session.rollback()
        return _check_page(
            request, session, purpose=purpose.key, errors={"pupil_ids": str(refused)}
        )
    return RedirectResponse(f"{BASE}/{check.id}", status_code=303)


@router.get(BASE + "/{check_id}")
def photo_check_result(
    request: Request, session: SessionDep, user: CheckUser, check_id: RowId
) -> Response:
    check = session.get(PhotoCheck, check_id)
    if check is None:
        raise HTTPException(status_code=404)
    lines = checks.reopen(session, check)
    checker = session.get(StaffUser, check.checked_by_user_id)
    return render(
        request,
        "consent/photo-check-result.html",
        {
            "check": check,
            "purpose": session.get(Purpose, check.purpose_id),
            "checker": checker.name if checker else "",
            "lines": lines,
            "out_of_date": any(line.changed for line in lines),
            "base": BASE,
        },
    )
