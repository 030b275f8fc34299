"""The school's own settings pages (admins only), the first-run setup steps, and the crest image.

One function per page: `/staff/settings/contact` is `contact_page` and `contact_save`. Each save
reads its form class (`portal.school.forms`, checked by `portal.school.profile`'s rules), then
saves through the profile (one history event per setting that changed) and redirects to the
overview, or shows the form again with what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.clock import clock_of, school_today
from portal.db import SessionDep
from portal.history import Actor, HistoryEvent
from portal.inputs import CleanInputRoute
from portal.school import profile as rules
from portal.school import term_dates
from portal.school.forms import (
    CategoriesForm,
    ChannelsForm,
    ColourForm,
    ContactForm,
    NameForm,
    ParagraphForm,
    ProcedureForm,
    SettingsForm,
    SetupSchoolForm,
    TimescalesForm,
)
from portal.school.models import SchoolProfile
from portal.school.services import calendar_of, profile_row
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)
AdminUser = Annotated[StaffUser, Depends(require_role(Role.admin))]
SETTINGS = "/staff/settings"
CREST_CACHE = "public, max-age=31536000, immutable"
CONFLICT = (
    "Another administrator changed this while you were editing. The page shows what you typed; "
    "it is now “{now}”. Check it, then save again."
)


def _done(request: Request, session: Session, to: str = SETTINGS) -> Response:
    session.commit()
    request.state.school = None  # the next page this request renders reads the new values
    return RedirectResponse(to, status_code=303)


def _row_or_setup(session: Session) -> SchoolProfile | RedirectResponse:
    row = profile_row(session)
    if row is None:
        return RedirectResponse("/staff/setup", status_code=303)
    return row


def _form_page(
    request: Request,
    *,
    title: str,
    action: str,
    fields: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    seen: str,
    errors: Mapping[str, str] | None = None,
    intro: str = "",
    button: str = "Save",
    back: str = SETTINGS,
    back_text: str = "Back to school settings",
    status_code: int = 200,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "school/settings-form.html",
        {
            "title": title,
            "action": action,
            "fields": fields,
            "values": values,
            "seen": seen,
            "errors": dict(errors or {}),
            "intro": intro,
            "button": button,
            "back": back,
            "back_text": back_text,
            **(extra or {}),
        },
        status_code=status_code,
    )


# ---------------------------------------------------------------- the overview


@router.get("/staff/settings")
def settings_overview(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    events = rules.changes_of(session, row.id)
    return render(
        request,
        "school/settings.html",
        {
            "row": row,
            "timescales": rules.TIMESCALES,
            "changes": [describe(event) for event in events],
            "colour_swatch": rules.swatch(row.brand_colour, row.name),
            "saved": request.query_params.get("saved") == "1",
        },
    )


def describe(event: HistoryEvent) -> dict[str, Any]:
    """One line of the "Changes" list: who changed what, from what, to what."""
    details = event.details
    field = details.get("field", "")
    what = {
        rules.CREATED_TAG: "Set up the school profile",
        rules.OPENED_TAG: "Opened the portal to parents",
        rules.TIMESCALES_CONFIRMED_TAG: "Confirmed the timescales",
    }.get(event.tag, rules.LABELS.get(field, field))
    before, after = details.get("from"), details.get("to")
    lines: list[str] = []
    if event.tag == rules.CHANGED_TAG:
        if isinstance(before, list) or isinstance(after, list):
            old = [_item_text(item) for item in before or []]
            new = [_item_text(item) for item in after or []]
            added = [item for item in new if item not in old]
            removed = [item for item in old if item not in new]
            if added:
                lines.append("Added: " + "; ".join(added))
            if removed:
                lines.append("Removed: " + "; ".join(removed))
            if not added and not removed:
                lines.append("Changed the wording or the order")
        elif field == "crest":
            lines.append("Removed the crest" if after is None else "Uploaded a new crest")
        else:
            lines.append(f"From “{_blank(before)}” to “{_blank(after)}”")
    return {"when": event.occurred_at, "who": event.actor_label, "what": what, "lines": lines}


def _item_text(item: object) -> str:
    if isinstance(item, dict):
        return str(item.get("name") or item.get("title") or "")
    return str(item)


def _blank(value: object) -> str:
    return "(none)" if value in (None, "") else str(value)


# ---------------------------------------------------------------- name and contacts

NAME_FIELDS = [
    {"id": "name", "label": "School name", "hint": "As parents know it.", "autocomplete": "off"}
]
CONTACT_FIELDS = [
    {
        "id": "contact_email",
        "label": "Office email address",
        "type": "email",
        "hint": "Parents write here, and it is shown at the foot of every page.",
    },
    {"id": "contact_phone", "label": "Office phone number", "type": "tel", "width": 20},
    {
        "id": "contact_address",
        "label": "Postal address",
        "kind": "textarea",
        "rows": 3,
        "hint": "On one or more lines; it is shown on one line.",
    },
    {
        "id": "website_url",
        "label": "School website (optional)",
        "type": "url",
        "hint": "Starting with https://",
    },
]
CONTACT_KEYS = [field["id"] for field in CONTACT_FIELDS]


@router.get("/staff/settings/name")
def name_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    return _name_form(request, {"name": row.name}, rules.fingerprint({"name": row.name}))


def _name_form(request: Request, values: Mapping[str, Any], seen: str, **kw: Any) -> Response:
    return _form_page(
        request,
        title="School name",
        action="/staff/settings/name",
        fields=NAME_FIELDS,
        values=values,
        seen=seen,
        **kw,
    )


@router.post("/staff/settings/name")
def name_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[NameForm, Depends()],
) -> Response:
    name = form.validate()
    if name.errors:
        return _name_form(request, form.typed(), form.seen, errors=name.errors, status_code=422)
    try:
        rules.save_changes(session, Actor.staff(admin), {"name": name.value}, seen=form.seen)
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = meanwhile.current.name
        fresh = rules.fingerprint({"name": now})
        conflict = {"name": CONFLICT.format(now=now)}
        return _name_form(request, form.typed(), fresh, errors=conflict, status_code=409)
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


@router.get("/staff/settings/contact")
def contact_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    values = rules.fields_value(row, CONTACT_KEYS)
    return _contact_form(request, values, rules.fingerprint(values))


def _contact_form(request: Request, values: Mapping[str, Any], seen: str, **kw: Any) -> Response:
    return _form_page(
        request,
        title="Contact details",
        action="/staff/settings/contact",
        fields=CONTACT_FIELDS,
        values=values,
        seen=seen,
        **kw,
    )


@router.post("/staff/settings/contact")
def contact_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ContactForm, Depends()],
) -> Response:
    typed, contacts = form.typed(), form.validate()
    if contacts.errors:
        return _contact_form(request, typed, form.seen, errors=contacts.errors, status_code=422)
    try:
        rules.save_changes(
            session, Actor.staff(admin), contacts.value, seen=form.seen, seen_fields=CONTACT_KEYS
        )
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = rules.fields_value(meanwhile.current, CONTACT_KEYS)
        conflict = {"contact_email": CONFLICT.format(now="; ".join(v for v in now.values() if v))}
        return _contact_form(
            request, typed, rules.fingerprint(now), errors=conflict, status_code=409
        )
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


# ---------------------------------------------------------------- lists kept one to a line


def _lines_page(
    request: Request,
    *,
    field: str,
    title: str,
    label: str,
    hint: str,
    intro: str,
    lines: Sequence[str],
    seen: str,
    **kw: Any,
) -> Response:
    fields = [{"id": field, "label": label, "hint": hint, "kind": "textarea", "rows": 10}]
    values = {field: "\n".join(lines) if not isinstance(lines, str) else lines}
    return _form_page(
        request,
        title=title,
        action=f"/staff/settings/{field.replace('_', '-')}",
        fields=fields,
        values=values,
        seen=seen,
        intro=intro,
        **kw,
    )


CHANNELS = {
    "field": "official_channels",
    "title": "Official channels",
    "label": "The school's official channels, one on each line",
    "hint": "For example: The school website; The prospectus; The newsletter; Letters home.",
    "intro": (
        "Parents are told that these are the only places the school speaks for itself "
        "(social media policy, paragraph 10)."
    ),
}
CATEGORIES = {
    "field": "categories",
    "title": "Categories",
    "label": "Categories, one on each line, in the order parents see them",
    "hint": (
        "To add one, write it on a new line. To rename one, change its words. To remove one, "
        "delete its line. To reorder, move the lines. Cases keep the category they were given."
    ),
    "intro": "Parents pick one of these when they raise a concern or make a complaint.",
}


def _lines_save(
    request: Request,
    session: Session,
    admin: StaffUser,
    spec: Mapping[str, str],
    form: ChannelsForm | CategoriesForm,
) -> Response:
    field, seen = spec["field"], form.seen
    text, lines = getattr(form, field), form.validate()
    if lines.errors:
        return _lines_page(
            request, **spec, lines=text, seen=seen, errors=lines.errors, status_code=422
        )
    try:
        rules.save_changes(session, Actor.staff(admin), {field: lines.value}, seen=seen)
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = getattr(meanwhile.current, field)
        conflict = {field: CONFLICT.format(now="; ".join(now))}
        return _lines_page(
            request,
            **spec,
            lines=text,
            seen=rules.fingerprint({field: now}),
            errors=conflict,
            status_code=409,
        )
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


@router.get("/staff/settings/official-channels")
def official_channels_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    lines = list(row.official_channels or [])
    return _lines_page(
        request, **CHANNELS, lines=lines, seen=rules.fingerprint({"official_channels": lines})
    )


@router.post("/staff/settings/official-channels")
def official_channels_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ChannelsForm, Depends()],
) -> Response:
    return _lines_save(request, session, admin, CHANNELS, form)


@router.get("/staff/settings/categories")
def categories_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    lines = list(row.categories or [])
    return _lines_page(
        request, **CATEGORIES, lines=lines, seen=rules.fingerprint({"categories": lines})
    )


@router.post("/staff/settings/categories")
def categories_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[CategoriesForm, Depends()],
) -> Response:
    return _lines_save(request, session, admin, CATEGORIES, form)


# ---------------------------------------------------------------- brand colour


@router.get("/staff/settings/colour")
def colour_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    return _colour_form(
        request,
        row.brand_colour,
        row.brand_colour,
        rules.fingerprint({"brand_colour": row.brand_colour}),
    )


def _colour_form(
    request: Request,
    typed: str,
    preview: str | None,
    seen: str,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ratio = rules.contrast_with_white(preview) if preview else None
    return render(
        request,
        "school/colour.html",
        {
            "values": {"brand_colour": typed},
            "preview": preview,
            "ratio": rules.ratio_words(ratio) if ratio else None,
            "swatch_src": rules.swatch(preview, request.app.state.school_for(request).name)
            if preview
            else None,
            "seen": seen,
            "errors": dict(errors or {}),
        },
        status_code=status_code,
    )


@router.post("/staff/settings/colour")
def colour_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ColourForm, Depends()],
) -> Response:
    brand_colour, seen = form.brand_colour, form.seen
    checked = form.validate()
    colour, errors = checked.value, checked.errors
    is_colour = colour.startswith("#") and len(colour) == 7 and "brand_colour" not in errors
    shown = colour if (is_colour or "contrast" in errors.get("brand_colour", "")) else None
    if errors:
        return _colour_form(request, brand_colour, shown, seen, errors, status_code=422)
    try:
        rules.save_changes(session, Actor.staff(admin), {"brand_colour": colour}, seen=seen)
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = meanwhile.current.brand_colour
        conflict = {"brand_colour": CONFLICT.format(now=now)}
        fresh = rules.fingerprint({"brand_colour": now})
        return _colour_form(request, brand_colour, colour, fresh, conflict, status_code=409)
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


# ---------------------------------------------------------------- the crest


@router.get("/staff/settings/crest")
def crest_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    return render(request, "school/crest.html", {})


@router.post("/staff/settings/crest")
def crest_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    crest: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = b""
    if crest is not None and hasattr(crest, "file"):
        data = crest.file.read(rules.CREST_MAX_BYTES + 1)
    try:
        png = rules.crest_png(data)
    except rules.CrestRefused as refusal:
        return render(
            request, "school/crest.html", {"errors": {"crest": str(refusal)}}, status_code=422
        )
    try:
        rules.save_crest(session, Actor.staff(admin), png)
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


@router.post("/staff/settings/crest/remove")
def crest_remove(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    try:
        rules.save_crest(session, Actor.staff(admin), None)
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session)


@router.get("/crest/{version}.png", include_in_schema=False)
def crest_image(session: SessionDep, version: str) -> Response:
    """The school's crest: the address names its version, so it is cached for a year."""
    row = session.exec(
        select(SchoolProfile.crest_version, SchoolProfile.crest_image)
        .where(SchoolProfile.crest_media_type.is_not(None))  # type: ignore[union-attr]
        .order_by(SchoolProfile.id)
        .limit(1)
    ).first()
    if row is None or row[1] is None:
        raise HTTPException(status_code=404)
    current, image = row
    if version != str(current):
        return RedirectResponse(f"/crest/{current}.png", status_code=307)
    return Response(image, media_type="image/png", headers={"Cache-Control": CREST_CACHE})


# ---------------------------------------------------------------- timescales

TIMESCALE_KEYS = [scale.field for scale in rules.TIMESCALES]


def _timescale_fields() -> list[dict[str, Any]]:
    return [
        {
            "id": scale.field,
            "label": scale.label,
            "hint": scale.hint,
            "kind": "number",
            "suffix": "school days" if scale.unit == "days" else "months",
        }
        for scale in rules.TIMESCALES
    ]


def _timescales_form(
    request: Request, values: Mapping[str, Any], seen: str, *, setup: bool = False, **kw: Any
) -> Response:
    return _form_page(
        request,
        title="Timescales",
        action="/staff/setup/timescales" if setup else "/staff/settings/timescales",
        fields=_timescale_fields(),
        values=values,
        seen=seen,
        intro=(
            "Deadlines count school days: weekdays in term, not bank holidays or closure days. "
            "A change applies to deadlines worked out from now on."
        ),
        button="Save and continue" if setup else "Save",
        back="/staff/setup" if setup else SETTINGS,
        back_text="Back to setting up" if setup else "Back to school settings",
        **kw,
    )


@router.get("/staff/settings/timescales")
def timescales_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    values = rules.fields_value(row, TIMESCALE_KEYS)
    return _timescales_form(request, values, rules.fingerprint(values))


def _timescales_save(
    request: Request,
    session: Session,
    admin: StaffUser,
    form: TimescalesForm,
    *,
    setup: bool,
) -> Response:
    typed, seen, timescales = form.typed(), form.seen, form.validate()
    if timescales.errors:
        return _timescales_form(
            request, typed, seen, setup=setup, errors=timescales.errors, status_code=422
        )
    try:
        changed = rules.save_changes(
            session, Actor.staff(admin), timescales.value, seen=seen, seen_fields=TIMESCALE_KEYS
        )
        if changed:
            # Every open case's deadline counts the new timescales at once, in this transaction
            # (the same listeners as a change of term dates: history, and each parent told).
            term_dates.tell_listeners(session, admin)
        if setup:
            rules.record_timescales_confirmed(session, Actor.staff(admin))
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = rules.fields_value(meanwhile.current, TIMESCALE_KEYS)
        first = TIMESCALE_KEYS[0]
        words = ", ".join(str(number) for number in now.values())
        return _timescales_form(
            request,
            typed,
            rules.fingerprint(now),
            setup=setup,
            errors={first: CONFLICT.format(now=words)},
            status_code=409,
        )
    except LookupError:
        return RedirectResponse("/staff/setup", status_code=303)
    return _done(request, session, "/staff/setup" if setup else SETTINGS)


@router.post("/staff/settings/timescales")
def timescales_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[TimescalesForm, Depends()],
) -> Response:
    return _timescales_save(request, session, admin, form, setup=False)


# ---------------------------------------------------------------- other procedures (out of scope)

PROCEDURE_FIELDS = [
    {"id": "name", "label": "Name of the procedure", "hint": "For example: School admissions."},
    {
        "id": "where",
        "label": "Where parents should go instead",
        "kind": "textarea",
        "rows": 3,
        "hint": "Plain words, like: Admissions appeals go to the local council.",
    },
    {
        "id": "url",
        "label": "A link with more help (optional)",
        "type": "url",
        "hint": "Starting with https://",
    },
]


def _procedures(row: SchoolProfile) -> list[dict[str, Any]]:
    return [dict(entry) for entry in row.out_of_scope or []]


def _procedure_form(
    request: Request, values: Mapping[str, Any], seen: str, action: str, title: str, **kw: Any
) -> Response:
    return _form_page(
        request,
        title=title,
        action=action,
        fields=PROCEDURE_FIELDS,
        values=values,
        seen=seen,
        intro=(
            "When a matter has its own procedure, staff sort the case here and the parent is told "
            "where to go."
        ),
        **kw,
    )


@router.get("/staff/settings/other-procedures/new")
def procedure_new_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    seen = rules.fingerprint({"out_of_scope": _procedures(row)})
    return _procedure_form(
        request, {}, seen, "/staff/settings/other-procedures/new", "Add another procedure"
    )


@router.post("/staff/settings/other-procedures/new")
def procedure_new_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ProcedureForm, Depends()],
) -> Response:
    return _procedure_save(request, session, admin, None, form)


def _procedure_save(
    request: Request,
    session: Session,
    admin: StaffUser,
    key: str | None,
    form: ProcedureForm,
) -> Response:
    row = profile_row(session)
    if row is None:
        return RedirectResponse("/staff/setup", status_code=303)
    current = _procedures(row)
    if key is not None and not any(entry.get("key") == key for entry in current):
        raise HTTPException(status_code=404)
    action = (
        "/staff/settings/other-procedures/new"
        if key is None
        else f"/staff/settings/other-procedures/{key}"
    )
    title = "Add another procedure" if key is None else "Change a procedure"
    typed, seen = form.typed(), form.seen
    others = [entry for entry in current if entry.get("key") != key]
    checked = form.validate(others)
    entry, errors = checked.value, checked.errors
    if not errors and key is None and len(current) >= rules.PROCEDURES_MAX:
        errors["name"] = f"There can be {rules.PROCEDURES_MAX} procedures at most"
    if errors:
        return _procedure_form(request, typed, seen, action, title, errors=errors, status_code=422)
    if key is None:
        entry = {"key": rules.new_key(entry["name"], [e.get("key", "") for e in current]), **entry}
        after = [*current, entry]
    else:
        after = [{"key": key, **entry} if e.get("key") == key else e for e in current]
    return _save_list(
        request,
        session,
        admin,
        "out_of_scope",
        after,
        seen,
        lambda now, conflict: _procedure_form(
            request, typed, now, action, title, errors={"name": conflict}, status_code=409
        ),
    )


def _save_list(
    request: Request,
    session: Session,
    admin: StaffUser,
    field: str,
    after: list[Any],
    seen: str,
    on_conflict: Any,
) -> Response:
    """Save a whole list setting whose items were edited one at a time."""
    try:
        rules.save_changes(session, Actor.staff(admin), {field: after}, seen=seen)
    except rules.EditedMeanwhile as meanwhile:
        session.rollback()
        now = getattr(meanwhile.current, field)
        words = "; ".join(_item_text(item) for item in now)
        return on_conflict(rules.fingerprint({field: now}), CONFLICT.format(now=words))
    return _done(request, session)


@router.get("/staff/settings/other-procedures/{key}")
def procedure_page(request: Request, session: SessionDep, admin: AdminUser, key: str) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    current = _procedures(row)
    entry = next((e for e in current if e.get("key") == key), None)
    if entry is None:
        raise HTTPException(status_code=404)
    return _procedure_form(
        request,
        entry,
        rules.fingerprint({"out_of_scope": current}),
        f"/staff/settings/other-procedures/{key}",
        "Change a procedure",
        extra={"remove_action": f"/staff/settings/other-procedures/{key}/remove"},
    )


@router.post("/staff/settings/other-procedures/{key}")
def procedure_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    key: str,
    form: Annotated[ProcedureForm, Depends()],
) -> Response:
    return _procedure_save(request, session, admin, key, form)


@router.post("/staff/settings/other-procedures/{key}/remove")
def procedure_remove(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    key: str,
    form: Annotated[SettingsForm, Depends()],
) -> Response:
    row = profile_row(session)
    if row is None:
        return RedirectResponse("/staff/setup", status_code=303)
    current = _procedures(row)
    if not any(entry.get("key") == key for entry in current):
        raise HTTPException(status_code=404)
    after = [entry for entry in current if entry.get("key") != key]
    entry = next(e for e in current if e.get("key") == key)
    return _save_list(
        request,
        session,
        admin,
        "out_of_scope",
        after,
        form.seen,
        lambda now, conflict: _procedure_form(
            request,
            entry,
            now,
            f"/staff/settings/other-procedures/{key}",
            "Change a procedure",
            errors={"name": conflict},
            status_code=409,
            extra={"remove_action": f"/staff/settings/other-procedures/{key}/remove"},
        ),
    )


# ---------------------------------------------------------------- suggested letter paragraphs

PARAGRAPH_FIELDS = [
    {"id": "title", "label": "Title", "hint": "Staff pick the paragraph by this name."},
    {
        "id": "text",
        "label": "Paragraph",
        "kind": "textarea",
        "rows": 6,
        "hint": "Written to the parent, in plain words.",
    },
]


def _paragraphs(row: SchoolProfile) -> list[dict[str, Any]]:
    return [dict(entry) for entry in row.letter_paragraphs or []]


def _paragraph_form(
    request: Request, values: Mapping[str, Any], seen: str, action: str, title: str, **kw: Any
) -> Response:
    return _form_page(
        request,
        title=title,
        action=action,
        fields=PARAGRAPH_FIELDS,
        values=values,
        seen=seen,
        intro="Staff can add these paragraphs to a response letter, and change them first.",
        **kw,
    )


def _paragraph_number(number: str, current: Sequence[Any]) -> int:
    if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= len(current):
        raise HTTPException(status_code=404)
    return int(number)


@router.get("/staff/settings/letter-paragraphs/new")
def paragraph_new_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    seen = rules.fingerprint({"letter_paragraphs": _paragraphs(row)})
    return _paragraph_form(
        request, {}, seen, "/staff/settings/letter-paragraphs/new", "Add a letter paragraph"
    )


@router.post("/staff/settings/letter-paragraphs/new")
def paragraph_new_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[ParagraphForm, Depends()],
) -> Response:
    return _paragraph_save(request, session, admin, None, form)


def _paragraph_save(
    request: Request,
    session: Session,
    admin: StaffUser,
    number: str | None,
    form: ParagraphForm,
) -> Response:
    row = profile_row(session)
    if row is None:
        return RedirectResponse("/staff/setup", status_code=303)
    current = _paragraphs(row)
    index = _paragraph_number(number, current) if number is not None else None
    action = (
        "/staff/settings/letter-paragraphs/new"
        if index is None
        else f"/staff/settings/letter-paragraphs/{index}"
    )
    page_title = "Add a letter paragraph" if index is None else "Change a letter paragraph"
    typed, seen = form.typed(), form.seen
    checked = form.validate()
    paragraph, errors = checked.value, checked.errors
    if not errors and index is None and len(current) >= rules.PARAGRAPHS_MAX:
        errors["title"] = f"There can be {rules.PARAGRAPHS_MAX} paragraphs at most"
    if errors:
        return _paragraph_form(
            request, typed, seen, action, page_title, errors=errors, status_code=422
        )
    if index is None:
        after = [*current, paragraph]
    else:
        after = [paragraph if i == index - 1 else p for i, p in enumerate(current)]
    return _save_list(
        request,
        session,
        admin,
        "letter_paragraphs",
        after,
        seen,
        lambda now, conflict: _paragraph_form(
            request, typed, now, action, page_title, errors={"title": conflict}, status_code=409
        ),
    )


@router.get("/staff/settings/letter-paragraphs/{number}")
def paragraph_page(
    request: Request, session: SessionDep, admin: AdminUser, number: str
) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    current = _paragraphs(row)
    index = _paragraph_number(number, current)
    return _paragraph_form(
        request,
        current[index - 1],
        rules.fingerprint({"letter_paragraphs": current}),
        f"/staff/settings/letter-paragraphs/{index}",
        "Change a letter paragraph",
        extra={"remove_action": f"/staff/settings/letter-paragraphs/{index}/remove"},
    )


@router.post("/staff/settings/letter-paragraphs/{number}")
def paragraph_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    number: str,
    form: Annotated[ParagraphForm, Depends()],
) -> Response:
    return _paragraph_save(request, session, admin, number, form)


@router.post("/staff/settings/letter-paragraphs/{number}/remove")
def paragraph_remove(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    number: str,
    form: Annotated[SettingsForm, Depends()],
) -> Response:
    row = profile_row(session)
    if row is None:
        return RedirectResponse("/staff/setup", status_code=303)
    current = _paragraphs(row)
    index = _paragraph_number(number, current)
    after = [p for i, p in enumerate(current) if i != index - 1]
    return _save_list(
        request,
        session,
        admin,
        "letter_paragraphs",
        after,
        form.seen,
        lambda now, conflict: _paragraph_form(
            request,
            current[index - 1],
            now,
            f"/staff/settings/letter-paragraphs/{index}",
            "Change a letter paragraph",
            errors={"title": conflict},
            status_code=409,
            extra={"remove_action": f"/staff/settings/letter-paragraphs/{index}/remove"},
        ),
    )


# ---------------------------------------------------------------- the first run


def setup_steps(session: Session) -> dict[str, bool]:
    row = profile_row(session)
    school_done = row is not None
    timescales_done = row is not None and rules.has_event(
        session, row.id, rules.TIMESCALES_CONFIRMED_TAG
    )
    term_dates_done = False
    if row is not None:
        calendar = calendar_of(session)
        today = school_today(clock_of(session).now())
        term_dates_done = not calendar.is_empty and calendar.covers(today)
    return {"school": school_done, "timescales": timescales_done, "term_dates": term_dates_done}


@router.get("/staff/setup")
def setup(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = profile_row(session)
    if row is not None and row.set_up_at is not None:
        return RedirectResponse(SETTINGS, status_code=303)
    steps = setup_steps(session)
    return render(
        request,
        "school/setup.html",
        {
            "steps": steps,
            "ready": all(steps.values()),
            "refused": request.query_params.get("not_ready") == "1",
        },
    )


SETUP_SCHOOL_FIELDS = [*NAME_FIELDS, *CONTACT_FIELDS]
SETUP_KEYS = ["name", *CONTACT_KEYS]


def _setup_school_form(request: Request, values: Mapping[str, Any], **kw: Any) -> Response:
    return _form_page(
        request,
        title="Your school's name and contact details",
        action="/staff/setup/school",
        fields=SETUP_SCHOOL_FIELDS,
        values=values,
        seen="",
        button="Save and continue",
        back="/staff/setup",
        back_text="Back to setting up",
        **kw,
    )


@router.get("/staff/setup/school")
def setup_school_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = profile_row(session)
    values = rules.fields_value(row, SETUP_KEYS) if row is not None else {}
    return _setup_school_form(request, values)


@router.post("/staff/setup/school")
def setup_school_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[SetupSchoolForm, Depends()],
) -> Response:
    school = form.validate()
    if school.errors:
        return _setup_school_form(request, form.typed(), errors=school.errors, status_code=422)
    actor = Actor.staff(admin)
    if rules.locked_profile(session) is None:
        contacts = {key: school.value[key] for key in CONTACT_KEYS}
        rules.create_profile(session, actor, school.value["name"], contacts)
    else:
        rules.save_changes(session, actor, school.value, seen=None)
    return _done(request, session, "/staff/setup")


@router.get("/staff/setup/timescales")
def setup_timescales_page(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    row = _row_or_setup(session)
    if isinstance(row, Response):
        return row
    values = rules.fields_value(row, TIMESCALE_KEYS)
    return _timescales_form(request, values, rules.fingerprint(values), setup=True)


@router.post("/staff/setup/timescales")
def setup_timescales_save(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    form: Annotated[TimescalesForm, Depends()],
) -> Response:
    return _timescales_save(request, session, admin, form, setup=True)


@router.post("/staff/setup/open")
def setup_open(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    if not all(setup_steps(session).values()):
        return RedirectResponse("/staff/setup?not_ready=1", status_code=303)
    rules.open_portal(session, Actor.staff(admin))
    return _done(request, session, f"{SETTINGS}?opened=1")
