"""Public pages for parents, and the admin page that publishes a new policy version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.clock import school_today
from portal.db import SessionDep, now_of
from portal.guidance import services
from portal.guidance.forms import PolicyForm
from portal.inputs import CleanInputRoute
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "guidance/home.html")


@router.get("/parents/online")
def parents_online(request: Request, session: SessionDep) -> Response:
    return render(
        request, "guidance/parents-online.html", {"policy": services.current_policy(session)}
    )


@router.get("/policy")
def policy(request: Request, session: SessionDep) -> Response:
    current = services.current_policy(session)
    return render(
        request,
        "guidance/policy.html",
        {
            "policy": current,
            "current": current,
            "body": services.render_markdown(current.body_markdown) if current else None,
            "versions": services.policy_versions(session),
        },
    )


@router.get("/policy/versions/{version}")
def policy_version(request: Request, session: SessionDep, version: str) -> Response:
    shown = services.find_version(session, version)
    if shown is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "guidance/policy.html",
        {
            "policy": shown,
            "current": services.current_policy(session),
            "body": services.render_markdown(shown.body_markdown),
            "versions": services.policy_versions(session),
        },
    )


@router.get("/accessibility")
def accessibility(request: Request) -> Response:
    return render(request, "guidance/accessibility.html")


@router.get("/privacy")
def privacy(request: Request) -> Response:
    return render(request, "guidance/privacy.html")


@router.get("/staff/policy")
def staff_policy(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return render(
        request, "guidance/staff-policy.html", {"versions": services.policy_versions(session)}
    )


@router.get("/staff/policy/new")
def staff_policy_new(request: Request, session: SessionDep, user: AdminUser) -> Response:
    current = services.current_policy(session)
    values = {
        "version": _next_version(current.version) if current else "1",
        "effective_on": school_today(now_of(session)).isoformat(),
        "body_markdown": current.body_markdown if current else "",
        "summary_of_changes": "",
    }
    return render(request, "guidance/staff-policy-new.html", {"values": values})


@router.post("/staff/policy/new")
def staff_policy_publish(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    form: Annotated[PolicyForm, Depends()],
) -> Response:
    try:
        services.publish_policy(
            session,
            version=form.version,
            effective_on=form.effective_date,
            body_markdown=form.body_markdown,
            summary_of_changes=form.summary_of_changes,
            user=user,
        )
    except services.PolicyError as error:
        session.rollback()
        return render(
            request,
            "guidance/staff-policy-new.html",
            {"values": form.typed(), "errors": {error.field: error.message}},
            status_code=422,
        )
    session.commit()
    return RedirectResponse("/staff/policy?published=" + form.version, status_code=303)


def _next_version(version: str) -> str:
    head = version.split(".")[0]
    return str(int(head) + 1) if head.isdigit() else ""
