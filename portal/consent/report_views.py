"""Consent reports (/staff/consent-reports): per class and purpose, who may appear and who may
not, on screen, printed (one page per class) and as CSV; who has not answered; and the request
for answers sent to those families, previewed first, with its letters-home list."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.consent.forms import ConsentRequestForm
from portal.consent.models import Purpose
from portal.consent.services import flags, reports
from portal.consent.services import requests as asking
from portal.consent.services.purposes import purposes
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
# Whoever puts pictures out or takes pupils on a trip: office, the head, senior leaders, admins.
REPORT_ROLES = (Role.office, Role.head, Role.senior_leader, Role.admin)
# Emailing every family of a class is the register keepers' job: office and admins.
REQUEST_ROLES = (Role.office, Role.admin)
ReportUser = Annotated[StaffUser, Depends(require_role(*REPORT_ROLES))]
RequestUser = Annotated[StaffUser, Depends(require_role(*REQUEST_ROLES))]
BASE = "/staff/consent-reports"
CHOOSE_GROUP = "Choose a class or year group"
CHOOSE_PURPOSE = "Choose where the pictures will be used"
CHOOSE_PURPOSES = "Tick at least one use of photos to ask about"
PurposeKeys = Annotated[list[str] | None, Query()]


def _chosen(
    session: Session, group: str, purpose: str, *, required: bool = False
) -> tuple[reports.Group | None, Purpose | None, dict[str, str]]:
    """The report's group and purpose from the query, with what to fix (on the report page,
    nothing asked yet is no error: the page just shows its form)."""
    errors: dict[str, str] = {}
    if not group and not purpose and not required:
        return None, None, errors
    found = reports.group_of(session, group[:100])
    if found is None:
        errors["group"] = CHOOSE_GROUP
    chosen = next((p for p in purposes(session) if p.key == purpose), None)
    if chosen is None:
        errors["purpose"] = CHOOSE_PURPOSE
    return found, chosen, errors


def _kinds(session: Session, user: StaffUser, parts: list[reports.ClassReport]) -> dict[int, str]:
    """On screen, the roles the settings name read a restriction's kind; nobody reads more."""
    if not flags.may_see_reason(session, user):
        return {}
    ids = [line.pupil.id for part in parts for line in part.may_not if line.pupil.id]
    return {pupil_id: kind.label for pupil_id, kind in flags.kinds_of(session, ids).items()}


@router.get(BASE)
def consent_reports(
    request: Request,
    session: SessionDep,
    user: ReportUser,
    group: str = "",
    purpose: str = "",
) -> Response:
    return _reports_page(request, session, user, group, purpose)


def _reports_page(
    request: Request,
    session: Session,
    user: StaffUser,
    group: str,
    purpose: str,
    *,
    required: bool = False,
) -> Response:
    found, chosen, errors = _chosen(session, group, purpose, required=required)
    parts: list[reports.ClassReport] = []
    waiting: list[reports.Unanswered] = []
    if found is not None and chosen is not None and not errors:
        pupils = reports.pupils_in(session, found)
        now = now_of(session)
        parts = reports.report(session, pupils, chosen, now)
        waiting = reports.unanswered(session, pupils, purposes(session), now)
    return render(
        request,
        "consent/consent-reports.html",
        {
            "groups": reports.groups(session),
            "purposes": purposes(session),
            "values": {"group": group[:100], "purpose": purpose[:40]},
            "group": found,
            "purpose": chosen,
            "query": urlencode({"group": found.value, "purpose": chosen.key})
            if found and chosen
            else "",
            "parts": parts,
            "kinds": _kinds(session, user, parts),
            "waiting": waiting,
            "sent": asking.recent_requests(session),
            "may_request": user.has_role(*REQUEST_ROLES),
            "errors": errors,
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.get(BASE + "/print")
def consent_reports_print(
    request: Request,
    session: SessionDep,
    user: ReportUser,
    group: str = "",
    purpose: str = "",
) -> Response:
    found, chosen, errors = _chosen(session, group, purpose, required=True)
    if found is None or chosen is None or errors:
        return _reports_page(request, session, user, group, purpose, required=True)
    now = now_of(session)
    return render(
        request,
        "consent/consent-reports-print.html",
        {
            "group": found,
            "purpose": chosen,
            "parts": reports.report(session, reports.pupils_in(session, found), chosen, now),
            "printed_at": now,
            "back": f"{BASE}?" + urlencode({"group": found.value, "purpose": chosen.key}),
        },
    )


@router.get(BASE + "/report.csv")
def consent_reports_csv(
    request: Request,
    session: SessionDep,
    user: ReportUser,
    group: str = "",
    purpose: str = "",
) -> Response:
    found, chosen, errors = _chosen(session, group, purpose, required=True)
    if found is None or chosen is None or errors:
        return _reports_page(request, session, user, group, purpose, required=True)
    parts = reports.report(session, reports.pupils_in(session, found), chosen, now_of(session))
    return Response(
        reports.report_csv(parts, chosen),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{reports.csv_filename(found, chosen)}"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------- asking families


def _asked(
    session: Session, group: str, keys: list[str] | None
) -> tuple[reports.Group | None, list[Purpose], dict[str, str]]:
    errors: dict[str, str] = {}
    found = reports.group_of(session, group[:100])
    if found is None:
        errors["group"] = CHOOSE_GROUP
    wanted = set(keys or [])
    chosen = [p for p in purposes(session) if p.key in wanted]
    if not chosen:
        errors["purposes"] = CHOOSE_PURPOSES
    return found, chosen, errors


@router.get(BASE + "/request")
def consent_request(
    request: Request,
    session: SessionDep,
    user: RequestUser,
    group: str = "",
    purpose: PurposeKeys = None,
) -> Response:
    if not group and not purpose:
        return _request_page(request, session, group="", keys=[], errors={})
    return _request_page(request, session, group=group, keys=list(purpose or [])[:20])


def _request_page(
    request: Request,
    session: Session,
    *,
    group: str,
    keys: list[str],
    errors: dict[str, str] | None = None,
) -> Response:
    """The form, and the preview once a group and purposes are chosen. `errors` None: check
    the choice; a problem from sending is passed in and shown on the preview."""
    shown = None
    if errors is None:
        found, chosen, errors = _asked(session, group, keys)
        if found is not None and chosen and not errors:
            shown = asking.preview(session, found, chosen, now_of(session))
    elif errors.get("send"):
        found, chosen, _ignored = _asked(session, group, keys)
        if found is not None and chosen:
            shown = asking.preview(session, found, chosen, now_of(session))
    return render(
        request,
        "consent/consent-request.html",
        {
            "groups": reports.groups(session),
            "purposes": purposes(session),
            "values": {"group": group[:100], "purposes": keys},
            "preview": shown,
            "letters": _letters_link(shown) if shown else "",
            "errors": errors,
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


def _request_query(group: reports.Group, chosen: list[Purpose]) -> str:
    return urlencode([("group", group.value), *(("purpose", p.key) for p in chosen)])


def _letters_link(shown: asking.RequestPreview) -> str:
    return f"{BASE}/request/letters?" + _request_query(shown.group, shown.purposes)


@router.post(BASE + "/request")
def consent_request_send(
    request: Request,
    session: SessionDep,
    user: RequestUser,
    form: Annotated[ConsentRequestForm, Depends()],
) -> Response:
    keys = list(form.purposes or [])[:20]
    found, chosen, errors = _asked(session, form.group, keys)
    if found is None or not chosen or errors:
        return _request_page(request, session, group=form.group, keys=keys, errors=errors)
    try:
        sent = asking.send_request(
            session, user, found, chosen, base_url=request.app.state.settings.base_url
        )
        session.commit()
    except asking.RequestRefused as refused:
        session.rollback()
        return _request_page(
            request, session, group=form.group, keys=keys, errors={"send": str(refused)}
        )
    return RedirectResponse(f"{BASE}/requests/{sent.id}", status_code=303)


@router.get(BASE + "/request/letters")
def consent_request_letters(
    request: Request,
    session: SessionDep,
    user: RequestUser,
    group: str = "",
    purpose: PurposeKeys = None,
) -> Response:
    keys = list(purpose or [])[:20]
    found, chosen, errors = _asked(session, group, keys)
    if found is None or not chosen or errors:
        return _request_page(request, session, group=group, keys=keys, errors=errors)
    shown = asking.preview(session, found, chosen, now_of(session))
    return render(
        request,
        "consent/consent-request-letters.html",
        {
            "preview": shown,
            "back": f"{BASE}/request?" + _request_query(found, chosen),
        },
    )


@router.get(BASE + "/requests/{request_id}")
def consent_request_sent(
    request: Request, session: SessionDep, user: ReportUser, request_id: RowId
) -> Response:
    sent = asking.sent_request(session, request_id)
    if sent is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "consent/consent-request-sent.html",
        {"sent": sent, "base": BASE, "may_request": user.has_role(*REQUEST_ROLES)},
    )
