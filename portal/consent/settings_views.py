"""The consent settings pages (admins): /staff/consent-settings and the pages it links to.

One function per page, as the school settings are built: each save reads its form class, asks
`services.settings` (one history event per change, one lock, and a refusal when another admin
changed the same thing since the page was shown), then redirects to the overview, or shows the
form again with what was typed and what to do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.consent.forms import (
    AskingForm,
    FlagRolesForm,
    MoveForm,
    PurposeForm,
    SeenForm,
    ValidityForm,
    seen_revision,
)
from portal.consent.models import Purpose
from portal.consent.services import settings as rules
from portal.consent.services.answers import Validity
from portal.consent.services.flags import flag_roles, settings_of
from portal.consent.services.purposes import purposes
from portal.db import SessionDep
from portal.history import HistoryEvent
from portal.inputs import CleanInputRoute, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
SETTINGS_ROLES = rules.SETTINGS_ROLES
AdminUser = Annotated[StaffUser, Depends(require_role(*SETTINGS_ROLES))]
BASE = "/staff/consent-settings"
NAMING_WORDS = {True: "Asked as its own question", False: "Not asked"}


def _see_other(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


# ---------------------------------------------------------------- the overview


@router.get(BASE)
def consent_settings(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    return _overview(request, session)


def _overview(
    request: Request, session: Session, *, errors: dict[str, str] | None = None
) -> Response:
    every = purposes(session, include_retired=True)
    row = settings_of(session)
    last = rules.last_changes(session)
    return render(
        request,
        "consent/consent-settings.html",
        {
            "active": [p for p in every if p.active],
            "retired": [p for p in every if not p.active],
            "order": rules.order_token(every),
            "validity": rules.VALIDITY_LABELS.get(_validity(row.validity), row.validity),
            "roles": [role.label for role in Role if role in flag_roles(session)],
            "asking": rules.asking_of(row),
            "last": {key: _last_words(event) for key, event in last.items()},
            "changes": [describe(event) for event in rules.changes(session)],
            "naming_words": NAMING_WORDS,
            "errors": errors or {},
            "base": BASE,
        },
        status_code=409 if errors else 200,
    )


def _validity(value: str) -> Validity:
    return Validity(value) if value in Validity.__members__ else Validity.school_year


def _last_words(event: HistoryEvent) -> dict[str, Any]:
    return {"who": event.actor_label, "when": event.occurred_at}


def describe(event: HistoryEvent) -> dict[str, Any]:
    """One line of the "Changes" list: who changed what, from what, to what."""
    details = event.details
    name = details.get("purpose", "")
    before, after = details.get("from"), details.get("to")
    lines: list[str] = []
    if event.tag == rules.ASKING_TAG:
        field = str(details.get("field", ""))
        what = rules.ASKING_LABELS.get(field, "How the school asks")
        words = {True: "Yes", False: "No"}
        lines.append(
            f"From “{words.get(before, before)}” to “{words.get(after, after)}”"  # type: ignore[call-overload]
        )
    elif event.tag == rules.VALIDITY_TAG:
        what = "How long an answer lasts"
        lines.append(f"From “{_validity_words(before)}” to “{_validity_words(after)}”")
    elif event.tag == rules.FLAG_ROLES_TAG:
        what = "Who reads why a pupil is restricted"
        lines.append(f"From “{_roles_words(before)}” to “{_roles_words(after)}”")
    elif event.tag == rules.PURPOSE_ADDED_TAG:
        what = f"Added the use “{name}”"
        lines.append(f"Wording (version 1): “{after}”")
    elif event.tag == rules.PURPOSE_RETIRED_TAG:
        what = f"Retired the use “{name}”"
    elif event.tag == rules.PURPOSE_RESTORED_TAG:
        what = f"Brought back the use “{name}”"
    elif event.tag == rules.PURPOSE_MOVED_TAG:
        what = f"Moved the use “{name}”"
        lines.append("New order: " + "; ".join(str(item) for item in after or []))
    elif details.get("field") == "wording":
        what = f"Changed the wording of “{name}”"
        lines.append(f"Version {details.get('from_version')} read: “{before}”")
        lines.append(f"Version {details.get('to_version')} reads: “{after}”")
        lines.append(
            "Parents are asked again"
            if details.get("ask_again")
            else "Answers already given stay valid"
        )
    elif details.get("field") == "asks_naming":
        what = f"Changed whether “{name}” asks about naming the child"
        lines.append(f"From “{NAMING_WORDS[bool(before)]}” to “{NAMING_WORDS[bool(after)]}”")
    else:
        what = "Renamed a use"
        lines.append(f"From “{before}” to “{after}”")
    return {"when": event.occurred_at, "who": event.actor_label, "what": what, "lines": lines}


def _validity_words(value: object) -> str:
    return rules.VALIDITY_LABELS.get(_validity(str(value)), str(value))


def _roles_words(value: object) -> str:
    values = value if isinstance(value, list) else []
    return ", ".join(Role(v).label for v in values if v in Role.__members__) or "none"


# ---------------------------------------------------------------- how long an answer lasts


@router.get(BASE + "/how-long")
def consent_settings_how_long(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = settings_of(session)
    return _how_long_page(request, {"validity": row.validity, "seen": str(row.revision)})


def _how_long_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "consent/consent-settings-how-long.html",
        {
            "choices": [
                (validity, rules.VALIDITY_LABELS[validity], rules.VALIDITY_HINTS[validity])
                for validity in Validity
            ],
            "values": values,
            "errors": errors or {},
            "base": BASE,
        },
        status_code=status,
    )


@router.post(BASE + "/how-long")
def consent_settings_how_long_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ValidityForm, Depends()],
) -> Response:
    validity, problem = rules.read_validity(form.validity)
    if validity is None:
        return _how_long_page(request, form.typed(), {"validity": problem}, 422)
    try:
        rules.save_validity(session, admin, validity, seen_revision=seen_revision(form.seen))
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        now = settings_of(session)
        typed = {**form.typed(), "seen": str(now.revision)}
        status = 409 if isinstance(refused, rules.EditedMeanwhile) else 422
        return _how_long_page(request, typed, {"validity": str(refused)}, status)
    return _see_other(BASE)


# ---------------------------------------------------------------- who reads a flag's reason


@router.get(BASE + "/safeguarding")
def consent_settings_safeguarding(
    request: Request, session: SessionDep, admin: AdminUser
) -> Response:
    row = settings_of(session)
    chosen = [role.value for role in flag_roles(session)]
    return _safeguarding_page(request, {"flag_roles": chosen, "seen": str(row.revision)})


def _safeguarding_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "consent/consent-settings-safeguarding.html",
        {
            "roles": list(Role),
            "values": values,
            "errors": errors or {},
            "base": BASE,
        },
        status_code=status,
    )


@router.post(BASE + "/safeguarding")
def consent_settings_safeguarding_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[FlagRolesForm, Depends()],
) -> Response:
    typed = {**form.typed(), "flag_roles": list(form.flag_roles or [])}
    roles, problem = rules.read_flag_roles(form.flag_roles or [])
    if problem:
        return _safeguarding_page(request, typed, {"flag_roles": problem}, 422)
    try:
        rules.save_flag_roles(session, admin, roles, seen_revision=seen_revision(form.seen))
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        typed["seen"] = str(settings_of(session).revision)
        status = 409 if isinstance(refused, rules.EditedMeanwhile) else 422
        return _safeguarding_page(request, typed, {"flag_roles": str(refused)}, status)
    return _see_other(BASE)


# ---------------------------------------------------------------- how the school asks


@router.get(BASE + "/asking")
def consent_settings_asking(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = settings_of(session)
    asking = rules.asking_of(row)
    values = {
        "ask_pupils": "yes" if asking.ask_pupils_12_and_over else "no",
        "request_interval_days": str(asking.request_interval_days),
        "confirmation_reminder_days": str(asking.confirmation_reminder_days),
        "seen": str(row.revision),
    }
    return _asking_page(request, values)


def _asking_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "consent/consent-settings-asking.html",
        {"values": values, "errors": errors or {}, "base": BASE, "most": rules.MAX_INTERVAL_DAYS},
        status_code=status,
    )


@router.post(BASE + "/asking")
def consent_settings_asking_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[AskingForm, Depends()],
) -> Response:
    checked = form.validate()
    if checked.value is None:
        return _asking_page(request, form.typed(), checked.errors, 422)
    ask_pupils, requests, reminders = checked.value
    try:
        rules.save_asking(
            session,
            admin,
            rules.Asking(ask_pupils, requests, reminders),
            seen_revision=seen_revision(form.seen),
        )
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        typed = {**form.typed(), "seen": str(settings_of(session).revision)}
        status = 409 if isinstance(refused, rules.EditedMeanwhile) else 422
        return _asking_page(request, typed, {refused.field or "ask_pupils": str(refused)}, status)
    return _see_other(BASE)


# ---------------------------------------------------------------- the uses parents answer for


def _purpose_page(
    request: Request,
    purpose: Purpose | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "consent/consent-settings-purpose.html",
        {
            "purpose": purpose,
            "values": values,
            "errors": errors or {},
            "max_name": rules.MAX_NAME,
            "max_wording": rules.MAX_WORDING,
            "base": BASE,
        },
        status_code=status,
    )


@router.get(BASE + "/purposes/new")
def consent_settings_purpose_new(
    request: Request, session: SessionDep, admin: AdminUser
) -> Response:
    return _purpose_page(request, None, {})


@router.post(BASE + "/purposes/new")
def consent_settings_purpose_new_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[PurposeForm, Depends()],
) -> Response:
    checked = form.validate()
    if checked.value is None:
        return _purpose_page(request, None, form.typed(), checked.errors, 422)
    name, wording, asks_naming, _ask_again = checked.value
    try:
        rules.add_purpose(session, admin, name, wording, asks_naming)
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        return _purpose_page(request, None, form.typed(), {refused.field: str(refused)}, 422)
    return _see_other(BASE)


def _purpose_or_404(session: Session, purpose_id: int) -> Purpose:
    purposes(session)  # the defaults are there before any is asked for by id
    purpose = session.get(Purpose, purpose_id)
    if purpose is None:
        raise HTTPException(status_code=404)
    return purpose


@router.get(BASE + "/purposes/{purpose_id}")
def consent_settings_purpose(
    request: Request, session: SessionDep, admin: AdminUser, purpose_id: RowId
) -> Response:
    purpose = _purpose_or_404(session, purpose_id)
    values = {
        "name": purpose.name,
        "wording": purpose.wording,
        "asks_naming": "yes" if purpose.asks_naming else "no",
        "seen": str(purpose.revision),
    }
    return _purpose_page(request, purpose, values)


@router.post(BASE + "/purposes/{purpose_id}")
def consent_settings_purpose_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    purpose_id: RowId,
    form: Annotated[PurposeForm, Depends()],
) -> Response:
    purpose = _purpose_or_404(session, purpose_id)
    checked = form.validate()
    if checked.value is None:
        return _purpose_page(request, purpose, form.typed(), checked.errors, 422)
    name, wording, asks_naming, ask_again = checked.value
    try:
        rules.change_purpose(
            session,
            admin,
            purpose_id,
            rules.PurposeChange(name, wording, asks_naming, ask_again),
            seen_revision=seen_revision(form.seen),
        )
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        purpose = _purpose_or_404(session, purpose_id)
        typed = {**form.typed(), "seen": str(purpose.revision)}
        status = 409 if isinstance(refused, rules.EditedMeanwhile) else 422
        return _purpose_page(request, purpose, typed, {refused.field: str(refused)}, status)
    return _see_other(f"{BASE}#purpose-{purpose_id}")


def _button(
    request: Request, session: Session, action: Any, purpose_id: int, anchor: str = ""
) -> Response:
    _purpose_or_404(session, purpose_id)
    try:
        action()
        session.commit()
    except rules.SettingsRefused as refused:
        session.rollback()
        return _overview(request, session, errors={"purposes": str(refused)})
    except LookupError:
        session.rollback()
        raise HTTPException(status_code=404) from None
    return _see_other(f"{BASE}{anchor}")


@router.post(BASE + "/purposes/{purpose_id}/retire")
def consent_settings_purpose_retire(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    purpose_id: RowId,
    form: Annotated[SeenForm, Depends()],
) -> Response:
    return _button(
        request,
        session,
        lambda: rules.set_active(
            session, admin, purpose_id, False, seen_revision=seen_revision(form.seen)
        ),
        purpose_id,
        "#retired",
    )


@router.post(BASE + "/purposes/{purpose_id}/restore")
def consent_settings_purpose_restore(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    purpose_id: RowId,
    form: Annotated[SeenForm, Depends()],
) -> Response:
    return _button(
        request,
        session,
        lambda: rules.set_active(
            session, admin, purpose_id, True, seen_revision=seen_revision(form.seen)
        ),
        purpose_id,
        f"#purpose-{purpose_id}",
    )


@router.post(BASE + "/purposes/{purpose_id}/move")
def consent_settings_purpose_move(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    purpose_id: RowId,
    form: Annotated[MoveForm, Depends()],
) -> Response:
    if form.direction not in ("up", "down"):
        return _overview(request, session, errors={"purposes": "Choose up or down"})
    return _button(
        request,
        session,
        lambda: rules.move_purpose(
            session, admin, purpose_id, form.direction == "up", seen_order=form.seen[:2000]
        ),
        purpose_id,
        f"#purpose-{purpose_id}",
    )
