"""Parents confirm the photo guidance (/photos/guidance) and what the school asks of them online
(/parents/online/confirm, beside the guidance domain's /parents/online); staff see who has, per
class and per event, remind who has not, and send events (/staff/confirmations, /staff/events).

The parent is always the signed-in contact (`portal.consent.parents`): no form names a contact.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.clock import school_today
from portal.config import Settings
from portal.consent.confirmation_forms import ConfirmForm, EventForm, ReminderForm, VersionForm
from portal.consent.models import Contact, Document, InvitationStatus, SchoolEvent
from portal.consent.parents import OptionalParent, SignedInParent
from portal.consent.services import confirmations, documents, events
from portal.consent.services import pupils as finder
from portal.consent.services.flags import settings_of
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
# Who sees who has confirmed, reminds, and sends events: office (who write to families), the
# head, and admins. Raising the guidance's version is the head's or an admin's.
CONFIRMATION_ROLES = (Role.office, Role.head, Role.admin)
StaffDep = Annotated[StaffUser, Depends(require_role(*CONFIRMATION_ROLES))]
VersionUser = Annotated[StaffUser, Depends(require_role(*confirmations.VERSION_ROLES))]
STAFF_BASE = "/staff/confirmations"
EVENTS_BASE = "/staff/events"


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _see_other(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


# ---------------------------------------------------------------- the parent's side


def _box(session: Session, parent: Contact | None, document: Document) -> dict[str, object]:
    """What the confirmation box shows: the version now, and the parent's confirmations."""
    version = documents.current_version(session, document)
    mine = (
        documents.confirmation_of(session, parent, document, version)
        if parent is not None and version is not None
        else None
    )
    latest = documents.latest_confirmation(session, parent, document) if parent else None
    return {
        "document": document,
        "version": version,
        "confirmation": mine,
        "earlier": latest if latest is not None and mine is None else None,
        "action": document.path,
    }


def _document_page(
    request: Request,
    session: Session,
    parent: Contact | None,
    document: Document,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    box = _box(session, parent, document)
    confirmation = box["confirmation"]
    context: dict[str, object] = {
        "parent": parent,
        "box": box,
        "values": values or {},
        "errors": errors or {},
        "waiting": events.waiting_for(session, parent) if parent is not None else [],
        "sent_now": events.sent_since(session, parent, confirmation.confirmed_at)  # type: ignore[attr-defined]
        if parent is not None and confirmation is not None and "confirmed" in request.query_params
        else [],
    }
    if document is Document.photo_guidance:
        template = "consent/photos-guidance.html"
    else:
        template = "consent/online-confirm.html"
        context["policy"] = documents.published_policy(session)
    return render(request, template, context, status_code=status_code)


def _confirm(
    request: Request,
    session: Session,
    parent: Contact,
    document: Document,
    form: ConfirmForm,
) -> Response:
    checked = form.validate()
    if checked.value is None:
        return _document_page(
            request,
            session,
            parent,
            document,
            values=form.typed(),
            errors=checked.errors,
            status_code=422,
        )
    try:
        confirmations.confirm(session, _settings(request), parent, document, checked.value)
        session.commit()
    except confirmations.ConfirmRefused as refused:
        session.rollback()
        return _document_page(
            request, session, parent, document, errors={"read": str(refused)}, status_code=409
        )
    return _see_other(document.path + "?confirmed=1#confirm")


@router.get("/photos/guidance")
def photos_guidance(request: Request, session: SessionDep, parent: OptionalParent) -> Response:
    return _document_page(request, session, parent, Document.photo_guidance)


@router.post("/photos/guidance")
def photos_guidance_confirm(
    request: Request,
    session: SessionDep,
    parent: SignedInParent,
    form: Annotated[ConfirmForm, Depends()],
) -> Response:
    return _confirm(request, session, parent, Document.photo_guidance, form)


@router.get("/parents/online/confirm")
def parents_online_confirm(
    request: Request, session: SessionDep, parent: OptionalParent
) -> Response:
    return _document_page(request, session, parent, Document.online_policy)


@router.post("/parents/online/confirm")
def parents_online_confirm_save(
    request: Request,
    session: SessionDep,
    parent: SignedInParent,
    form: Annotated[ConfirmForm, Depends()],
) -> Response:
    return _confirm(request, session, parent, Document.online_policy, form)


# ---------------------------------------------------------------- staff: per class


@router.get(STAFF_BASE)
def staff_confirmations(
    request: Request, session: SessionDep, user: StaffDep, class_name: str = ""
) -> Response:
    return _class_page(request, session, user, class_name[:40])


def _class_page(
    request: Request,
    session: Session,
    user: StaffUser,
    class_name: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    classes = finder.classes(session)
    if class_name not in classes:
        class_name = classes[0] if classes else ""
    status = confirmations.class_status(session, class_name) if class_name else None
    scopes = [confirmations.class_scope(d, class_name) for d in Document]
    return render(
        request,
        "consent/staff-confirmations.html",
        {
            "classes": classes,
            "class_name": class_name,
            "status": status,
            "documents": list(Document),
            "reminders": confirmations.reminders_sent(session, scopes) if class_name else [],
            "guidance_version": settings_of(session).photo_guidance_version,
            "may_raise_version": user.has_role(*confirmations.VERSION_ROLES),
            "interval_days": settings_of(session).confirmation_reminder_days,
            "events": events.events_of(session),
            "errors": errors or {},
            "base": STAFF_BASE,
            "events_base": EVENTS_BASE,
        },
        status_code=status_code,
    )


@router.post(STAFF_BASE + "/remind")
def staff_confirmations_remind(
    request: Request,
    session: SessionDep,
    user: StaffDep,
    form: Annotated[ReminderForm, Depends()],
) -> Response:
    checked = form.validate_for(finder.classes(session))
    if checked.value is None:
        return _class_page(
            request, session, user, form.class_name[:40], errors=checked.errors, status_code=422
        )
    document, class_name = checked.value
    try:
        reminder = confirmations.remind_class(
            session, _settings(request), user, document, class_name
        )
        session.commit()
    except confirmations.ReminderRefused as refused:
        session.rollback()
        return _class_page(
            request,
            session,
            user,
            class_name,
            errors={f"remind-{document.value}": str(refused)},
            status_code=409,
        )
    return _see_other(f"{STAFF_BASE}?class_name={class_name}&reminded={reminder.id}#reminders")


@router.post(STAFF_BASE + "/guidance-version")
def staff_guidance_version(
    request: Request,
    session: SessionDep,
    user: VersionUser,
    form: Annotated[VersionForm, Depends()],
) -> Response:
    checked = form.validate()
    problem = checked.errors.get("version", "")
    if checked.value is not None:
        try:
            confirmations.raise_guidance_version(session, user, checked.value)
            session.commit()
            return _see_other(f"{STAFF_BASE}?version_raised=1#guidance-version")
        except confirmations.ConfirmRefused as refused:
            session.rollback()
            problem = str(refused)
    return _class_page(
        request, session, user, "", errors={"raise-version": problem}, status_code=409
    )


# ---------------------------------------------------------------- staff: events


def _groups(session: Session) -> tuple[list[str], list[str]]:
    return finder.classes(session), events.year_groups(session)


def _new_event_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    classes, years = _groups(session)
    return render(
        request,
        "consent/event-new.html",
        {
            "classes": classes,
            "year_groups": years,
            "values": values or {},
            "errors": errors or {},
            "base": EVENTS_BASE,
            "confirmations_base": STAFF_BASE,
        },
        status_code=422 if errors else 200,
    )


@router.get(EVENTS_BASE + "/new")
def event_new(request: Request, session: SessionDep, user: StaffDep) -> Response:
    return _new_event_page(request, session, values={"needs_photo_guidance": "yes"})


@router.post(EVENTS_BASE + "/new")
def event_create(
    request: Request,
    session: SessionDep,
    user: StaffDep,
    form: Annotated[EventForm, Depends()],
) -> Response:
    classes, years = _groups(session)
    checked = form.validate_for(classes, years, school_today(now_of(session)))
    if checked.value is None:
        return _new_event_page(request, session, values=form.typed(), errors=checked.errors)
    chosen = checked.value
    event = events.create_event(
        session,
        user,
        title=chosen.title,
        held_on=chosen.held_on,
        place=chosen.place,
        details=chosen.details,
        classes=chosen.classes,
        year_groups=chosen.year_groups,
        needs_photo_guidance=chosen.needs_photo_guidance,
    )
    session.commit()
    return _see_other(f"{EVENTS_BASE}/{event.id}")


def _event_or_404(session: Session, event_id: int) -> SchoolEvent:
    event = session.get(SchoolEvent, event_id)
    if event is None:
        raise HTTPException(status_code=404)
    return event


def _event_page(
    request: Request,
    session: Session,
    event: SchoolEvent,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    guests = events.guests(session, event)
    creator = session.get(StaffUser, event.created_by_user_id)
    sender = session.get(StaffUser, event.sent_by_user_id) if event.sent_by_user_id else None
    return render(
        request,
        "consent/event.html",
        {
            "event": event,
            "guests": guests,
            "confirmed": sum(1 for g in guests if g.confirmed_at is not None),
            "details_sent": sum(
                1
                for g in guests
                if g.invitation is not None and g.invitation.status == InvitationStatus.details_sent
            ),
            "waiting": sum(
                1
                for g in guests
                if g.invitation is not None and g.invitation.status == InvitationStatus.waiting
            ),
            "creator": creator.name if creator else "",
            "sender": sender.name if sender else "",
            "reminders": confirmations.reminders_sent(session, [confirmations.event_scope(event)]),
            "is_past": event.held_on < school_today(now_of(session)),
            "guidance_version": settings_of(session).photo_guidance_version,
            "errors": errors or {},
            "base": EVENTS_BASE,
            "confirmations_base": STAFF_BASE,
        },
        status_code=status_code,
    )


@router.get(EVENTS_BASE + "/{event_id}")
def event_page(request: Request, session: SessionDep, user: StaffDep, event_id: RowId) -> Response:
    return _event_page(request, session, _event_or_404(session, event_id))


@router.post(EVENTS_BASE + "/{event_id}/send")
def event_send(request: Request, session: SessionDep, user: StaffDep, event_id: RowId) -> Response:
    event = _event_or_404(session, event_id)
    try:
        events.send_event(session, _settings(request), user, event)
        session.commit()
    except events.EventRefused as refused:
        session.rollback()
        return _event_page(request, session, event, errors={"send": str(refused)}, status_code=409)
    return _see_other(f"{EVENTS_BASE}/{event_id}?sent=1")


@router.post(EVENTS_BASE + "/{event_id}/remind")
def event_remind(
    request: Request, session: SessionDep, user: StaffDep, event_id: RowId
) -> Response:
    event = _event_or_404(session, event_id)
    try:
        confirmations.remind_event(session, _settings(request), user, event)
        session.commit()
    except confirmations.ReminderRefused as refused:
        session.rollback()
        return _event_page(
            request, session, event, errors={"remind": str(refused)}, status_code=409
        )
    return _see_other(f"{EVENTS_BASE}/{event_id}?reminded=1#reminders")
