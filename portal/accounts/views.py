"""Staff sign-in and sign-out, the staff home page, and the admin pages for staff accounts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from portal.accounts import services
from portal.accounts.access import CurrentUser, OptionalUser, require_role
from portal.accounts.forms import (
    AccountForm,
    ActiveForm,
    NewAccountForm,
    NewPasswordForm,
    SignInForm,
)
from portal.accounts.models import Role, StaffUser
from portal.db import SessionDep
from portal.history import Actor, history_of
from portal.inputs import CleanInputRoute, RowId
from portal.school.services import school_of
from portal.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    rotate_csrf,
    set_browser_cookies,
    set_session_cookie,
)
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]


def _safe_next(target: str | None) -> str:
    """Only a path on this site, so the sign-in page cannot be used to send people elsewhere."""
    if not target:
        return "/staff"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/staff"
    return target


@router.get("/staff/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "accounts/login.html", {"next": _safe_next(next)})


@router.post("/staff/login")
def login(
    request: Request,
    session: SessionDep,
    form: Annotated[SignInForm, Depends()],
) -> Response:
    values, next = form.shown_again(), form.next
    if errors := form.validate().errors:
        return render(
            request,
            "accounts/login.html",
            {"values": values, "errors": errors, "next": _safe_next(next)},
            status_code=422,
        )
    throttle = services.SignInThrottle.from_settings(
        request.app.state.limiter, request.app.state.settings
    )
    try:
        user = services.authenticate(
            session,
            throttle,
            email=form.email,
            password=form.password,
            address=client_address(request),
        )
    except services.SignInRefused as refusal:
        return render(
            request,
            "accounts/login.html",
            {"values": values, "errors": {"email": str(refusal)}, "next": _safe_next(next)},
            status_code=429 if "too many" in str(refusal).lower() else 401,
        )
    token = services.start_session(session, user, replacing=request.cookies.get(SESSION_COOKIE))
    session.commit()
    rotate_csrf(request)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, token)
    set_browser_cookies(request, response)
    return response


@router.post("/staff/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services.end_session(session, token)
        session.commit()
    rotate_csrf(request)
    response = RedirectResponse("/staff/login?signed_out=1", status_code=303)
    clear_session_cookie(request, response)
    set_browser_cookies(request, response)
    return response


@router.get("/staff")
def staff_home(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """What needs this person's attention: each installed domain's panel for their roles (their
    own cases, soonest deadline first; a warning that the term dates run out), then the menu."""
    panels = request.app.state.domains.panels_for(request, session, user)
    return render(request, "accounts/staff-home.html", {"user": user, "panels": panels})


@router.get("/staff/users")
def user_list(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return render(request, "accounts/users.html", {"users": services.list_users(session)})


@router.get("/staff/users/new")
def user_new(request: Request, admin: AdminUser) -> Response:
    return render(request, "accounts/user-new.html", {"roles": list(Role), "values": {"roles": []}})


@router.post("/staff/users/new")
def user_create(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[NewAccountForm, Depends()],
) -> Response:
    account = form.validate()
    errors = account.errors
    if not errors:
        try:
            user = services.create_user(
                session,
                email=account.value.email,
                name=account.value.name,
                password=account.value.password,
                roles=account.value.roles,
                actor=Actor.staff(admin),
                avoid=[school_of(session).name],
            )
        except services.AccountError as error:
            session.rollback()
            errors = {error.field: error.message}
        else:
            session.commit()
            return RedirectResponse(f"/staff/users/{user.id}?created=1", status_code=303)
    return render(
        request,
        "accounts/user-new.html",
        {
            "roles": list(Role),
            "values": {"name": form.name, "email": form.email, "roles": account.value.roles},
            "errors": errors,
        },
        status_code=422,
    )


def _user_or_404(session: SessionDep, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise HTTPException(status_code=404)
    return user


def _render_user(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "accounts/user.html",
        {
            "user": user,
            "roles": list(Role),
            "values": values or {"name": user.name, "roles": sorted(user.roles)},
            "errors": errors or {},
            "history": history_of(session, "staff_user", user.id)[-20:],
            "sessions": services.count_active_sessions(session, user),
        },
        status_code=status_code,
    )


@router.get("/staff/users/{user_id}")
def user_page(request: Request, session: SessionDep, admin: AdminUser, user_id: RowId) -> Response:
    return _render_user(request, session, _user_or_404(session, user_id))


@router.post("/staff/users/{user_id}")
def user_update(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    user_id: RowId,
    form: Annotated[AccountForm, Depends()],
) -> Response:
    user = _user_or_404(session, user_id)
    account = form.validate()
    errors = account.errors
    if not errors:
        try:
            services.change_details(
                session,
                user,
                name=account.value.name,
                roles=account.value.roles,
                actor=Actor.staff(admin),
            )
        except services.AccountError as error:
            session.rollback()
            errors = {error.field: error.message}
        else:
            session.commit()
            return RedirectResponse(f"/staff/users/{user.id}?saved=1", status_code=303)
    return _render_user(
        request,
        session,
        user,
        values={"name": form.name, "roles": account.value.roles},
        errors=errors,
        status_code=422,
    )


@router.post("/staff/users/{user_id}/active")
def user_set_active(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    user_id: RowId,
    form: Annotated[ActiveForm, Depends()],
) -> Response:
    user = _user_or_404(session, user_id)
    try:
        services.set_active(session, user, active=form.allowed, actor=Actor.staff(admin))
    except services.AccountError as error:
        session.rollback()
        return _render_user(
            request, session, user, errors={"account": error.message}, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/users/{user.id}?saved=1", status_code=303)


@router.post("/staff/users/{user_id}/password")
def user_set_password(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    user_id: RowId,
    form: Annotated[NewPasswordForm, Depends()],
) -> Response:
    user = _user_or_404(session, user_id)
    try:
        services.set_password(
            session,
            user,
            form.new_password,
            actor=Actor.staff(admin),
            avoid=[school_of(session).name],
        )
    except services.AccountError as error:
        session.rollback()
        return _render_user(
            request, session, user, errors={"new_password": error.message}, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/users/{user.id}?password=1", status_code=303)
