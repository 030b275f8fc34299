"""The pupil register pages (office and admin): /staff/pupils, a pupil's page, and the import.

The import goes: upload (kept, nothing written) -> which column is which (first time, or when the
file's columns change) -> preview with each row's problems -> confirm, which writes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.consent.forms import (
    ColumnsForm,
    ConsentEntryForm,
    FlagForm,
    ImportForm,
    PostedAnswers,
    PostedScan,
)
from portal.consent.models import (
    AnswerHow,
    ConsentEvidence,
    FlagKind,
    ImportStatus,
    Pupil,
    PupilImport,
    Purpose,
)
from portal.consent.services import answers, evidence, flags, online, register
from portal.consent.services import pupils as finder
from portal.consent.services.purposes import purposes
from portal.db import SessionDep, now_of
from portal.inputs import CleanInputRoute, RowId, row_id_or_none
from portal.templating import render
from portal.uploads import download_headers

router = APIRouter(route_class=CleanInputRoute)
REGISTER_ROLES = (Role.office, Role.admin)
# The head sees the register too, to restrict a pupil's photos (the flag is theirs and office's).
PUPIL_ROLES = (Role.office, Role.admin, Role.head)
RegisterUser = Annotated[StaffUser, Depends(require_role(*REGISTER_ROLES))]
PupilUser = Annotated[StaffUser, Depends(require_role(*PUPIL_ROLES))]
FlagUser = Annotated[StaffUser, Depends(require_role(*flags.FLAG_SETTING_ROLES))]
BASE = "/staff/pupils"
ERRORS_SHOWN = 200
ALREADY = "This pupil is already restricted"
CHANGED_MEANWHILE = (
    "Someone else changed the register at the same moment. Check the file again, then confirm"
)


def _see_other(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


# ---------------------------------------------------------------- importing


@router.get(BASE + "/import")
def pupils_import(request: Request, session: SessionDep, user: RegisterUser) -> Response:
    return _upload_page(request, session)


def _upload_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "consent/pupils-import.html",
        {
            "values": values or {},
            "errors": errors or {},
            "imports": register.imports_of(session, ImportStatus.applied),
            "waiting": register.imports_of(session, ImportStatus.checked),
            "max_rows": register.MAX_ROWS,
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.post(BASE + "/import")
def pupils_import_upload(
    request: Request,
    session: SessionDep,
    user: RegisterUser,
    form: Annotated[ImportForm, Depends()],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    checked = form.validate()
    errors = dict(checked.errors)
    content = b""
    if file is None or not file.filename:
        errors["file"] = "Choose the pupil export (a .csv file)"
    else:
        content = file.file.read(register.MAX_BYTES + 1)
    if errors:
        return _upload_page(request, session, values=form.typed(), errors=errors)
    assert file is not None and checked.value is not None
    try:
        pupil_import, header = register.start_import(
            session, user, file.filename or "", content, full=checked.value
        )
    except register.ImportRefused as refused:
        session.rollback()
        return _upload_page(request, session, values=form.typed(), errors={"file": str(refused)})
    saved = register.saved_mapping(session)
    session.commit()
    if saved and register.is_complete(saved, header):
        return _see_other(f"{BASE}/import/{pupil_import.id}")
    return _see_other(f"{BASE}/import/{pupil_import.id}/columns")


def _import_or_404(session: Session, import_id: int) -> PupilImport:
    pupil_import = session.get(PupilImport, import_id)
    if pupil_import is None:
        raise HTTPException(status_code=404)
    return pupil_import


def _header_of(pupil_import: PupilImport) -> list[str]:
    header, _rows = register.read_table(pupil_import.content or b"")
    return header


@router.get(BASE + "/import/{import_id}/columns")
def pupils_import_columns(
    request: Request, session: SessionDep, user: RegisterUser, import_id: RowId
) -> Response:
    pupil_import = _import_or_404(session, import_id)
    if pupil_import.status != ImportStatus.checked:
        return _see_other(f"{BASE}/import/{import_id}")
    header = _header_of(pupil_import)
    return _columns_page(request, pupil_import, header, register.guess_mapping(session, header), {})


def _columns_page(
    request: Request,
    pupil_import: PupilImport,
    header: list[str],
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "consent/pupils-import-columns.html",
        {
            "pupil_import": pupil_import,
            "header": header,
            "fields": register.all_fields(),
            "values": values,
            "errors": errors,
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.post(BASE + "/import/{import_id}/columns")
def pupils_import_columns_save(
    request: Request,
    session: SessionDep,
    user: RegisterUser,
    import_id: RowId,
    form: Annotated[ColumnsForm, Depends()],
) -> Response:
    pupil_import = _import_or_404(session, import_id)
    if pupil_import.status != ImportStatus.checked:
        return _see_other(f"{BASE}/import/{import_id}")
    header = _header_of(pupil_import)
    checked = form.validate_against(header)
    if not checked.ok:
        return _columns_page(request, pupil_import, header, form.typed(), checked.errors)
    register.remember_mapping(session, checked.value)
    session.commit()
    return _see_other(f"{BASE}/import/{import_id}")


@router.get(BASE + "/import/{import_id}")
def pupils_import_preview(
    request: Request, session: SessionDep, user: RegisterUser, import_id: RowId
) -> Response:
    pupil_import = _import_or_404(session, import_id)
    if pupil_import.status != ImportStatus.checked:
        return render(
            request, "consent/pupils-import-done.html", {"pupil_import": pupil_import, "base": BASE}
        )
    return _preview_page(request, session, pupil_import)


def _preview_page(
    request: Request, session: Session, pupil_import: PupilImport, *, problem: str = ""
) -> Response:
    header = _header_of(pupil_import)
    mapping = register.saved_mapping(session)
    if not register.is_complete(mapping, header):
        return _see_other(f"{BASE}/import/{pupil_import.id}/columns")
    checked = register.preview(session, pupil_import, mapping)
    return render(
        request,
        "consent/pupils-import-preview.html",
        {
            "pupil_import": pupil_import,
            "preview": checked,
            "errors_shown": checked.errors[:ERRORS_SHOWN],
            "errors": {"confirm": problem} if problem else {},
            "base": BASE,
        },
        status_code=422 if problem else 200,
    )


@router.post(BASE + "/import/{import_id}/confirm")
def pupils_import_confirm(
    request: Request, session: SessionDep, user: RegisterUser, import_id: RowId
) -> Response:
    pupil_import = _import_or_404(session, import_id)
    if pupil_import.status != ImportStatus.checked:
        return _see_other(f"{BASE}/import/{import_id}")
    header = _header_of(pupil_import)
    mapping = register.saved_mapping(session)
    if not register.is_complete(mapping, header):
        return _see_other(f"{BASE}/import/{import_id}/columns")
    try:
        register.confirm_import(session, user, pupil_import, mapping)
        session.commit()
    except register.ImportRefused as refused:
        session.rollback()
        return _preview_page(request, session, pupil_import, problem=str(refused))
    except register.ImportGone:
        session.rollback()
        return _see_other(f"{BASE}/import/{import_id}")
    except IntegrityError:  # another import added the same pupil id at the same moment
        session.rollback()
        return _preview_page(request, session, pupil_import, problem=CHANGED_MEANWHILE)
    return _see_other(f"{BASE}/import/{import_id}")


# ---------------------------------------------------------------- the register


@router.get(BASE)
def pupils(
    request: Request,
    session: SessionDep,
    user: PupilUser,
    name: str = "",
    class_name: str = "",
    left: str = "",
) -> Response:
    name, class_name = name[:100], class_name[:40]
    found, total = finder.find_pupils(
        session, name=name, class_name=class_name, include_left=left == "yes"
    )
    return render(
        request,
        "consent/pupils.html",
        {
            "pupils": found,
            "total": total,
            "classes": finder.classes(session),
            "query": {"name": name, "class_name": class_name, "left": left == "yes"},
            "may_import": user.has_role(*REGISTER_ROLES),
            "base": BASE,
        },
    )


@router.get(BASE + "/{pupil_id}")
def pupil_page(request: Request, session: SessionDep, user: PupilUser, pupil_id: RowId) -> Response:
    return _pupil_page(request, session, user, _pupil_or_404(session, pupil_id))


def _pupil_or_404(session: Session, pupil_id: int) -> Pupil:
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise HTTPException(status_code=404)
    return pupil


def _pupil_page(
    request: Request,
    session: Session,
    user: StaffUser,
    pupil: Pupil,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    flag = flags.active_flag(session, pupil)
    sees_reason = flags.may_see_reason(session, user)
    shown_purposes = purposes(session, include_retired=True)
    decided = answers.decisions_for(session, [pupil], shown_purposes, now_of(session))
    return render(
        request,
        "consent/pupil.html",
        {
            "pupil": pupil,
            "decisions": [(p, decided[(pupil.id, p.id)]) for p in shown_purposes if p.active],
            "records": _record_lines(session, pupil, shown_purposes),
            "may_record": user.has_role(*REGISTER_ROLES),
            "contacts": finder.contacts_of(session, pupil),
            "flag": flag,
            "flag_kind": FlagKind(flag.kind).label if flag and sees_reason else "",
            "flag_setter": session.get(StaffUser, flag.set_by_user_id)
            if flag and sees_reason
            else None,
            "sees_reason": sees_reason,
            "may_flag": flags.may_set(user),
            "reason_readers": ", ".join(
                sorted(role.label.lower() for role in flags.flag_roles(session))
            ),
            "kinds": list(FlagKind),
            "values": values or {},
            "errors": errors or {},
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.post(BASE + "/{pupil_id}/restrict")
def pupil_restrict(
    request: Request,
    session: SessionDep,
    user: FlagUser,
    pupil_id: RowId,
    form: Annotated[FlagForm, Depends()],
) -> Response:
    pupil = _pupil_or_404(session, pupil_id)
    checked = form.validate()
    if checked.value is None:
        return _pupil_page(
            request, session, user, pupil, values=form.typed(), errors=checked.errors
        )
    kind, reason = checked.value
    try:
        flags.set_flag(session, user, pupil, kind, reason)
        session.commit()
    except (flags.FlagRefused, IntegrityError) as refused:
        session.rollback()
        message = str(refused) if isinstance(refused, flags.FlagRefused) else ALREADY
        return _pupil_page(request, session, user, pupil, errors={"kind": message})
    return _see_other(f"{BASE}/{pupil_id}#safeguarding")


@router.post(BASE + "/{pupil_id}/restrict/{flag_id}/lift")
def pupil_restrict_lift(
    request: Request, session: SessionDep, user: FlagUser, pupil_id: RowId, flag_id: RowId
) -> Response:
    pupil = _pupil_or_404(session, pupil_id)
    try:
        flags.clear_flag(session, user, pupil, flag_id)
        session.commit()
    except flags.FlagRefused as refused:
        session.rollback()
        return _pupil_page(request, session, user, pupil, errors={"safeguarding": str(refused)})
    return _see_other(f"{BASE}/{pupil_id}#safeguarding")


def _record_lines(session: Session, pupil: Pupil, shown: list[Purpose]) -> list[dict[str, object]]:
    names = {p.id: p.name for p in shown}
    contacts = {
        line.contact.id: line.contact.name
        for line in finder.contacts_of(session, pupil, current_only=False)
    }
    records = answers.history_of_pupil(session, pupil)
    staff_ids = {r.entered_by_user_id for r in records}
    staff = {
        u.id: u.name
        for u in session.scalars(
            select(StaffUser).where(StaffUser.id.in_([i for i in staff_ids if i]))  # type: ignore[union-attr]
        )
    }
    kept = evidence.evidence_of(session, {r.evidence_id for r in records if r.evidence_id})
    return [
        {
            "record": record,
            "purpose": names.get(record.purpose_id, ""),
            "contact": contacts.get(record.contact_id, "A former contact"),
            "how": AnswerHow(record.how).label,
            "entered_by": staff.get(record.entered_by_user_id or 0, ""),
            "evidence": kept.get(record.evidence_id or 0),
        }
        for record in records
    ]


@router.get(BASE + "/{pupil_id}/scans/{evidence_id}")
def pupil_scan(
    session: SessionDep, user: PupilUser, pupil_id: RowId, evidence_id: RowId
) -> Response:
    """The scanned paper form, as a download, to the staff who see the pupil's page."""
    pupil = _pupil_or_404(session, pupil_id)
    scan = evidence.kept_scan(session, pupil, evidence_id)
    if scan is None or scan.content is None:
        raise HTTPException(status_code=404)
    return Response(
        scan.content, media_type=scan.content_type, headers=download_headers(scan.filename)
    )


@router.get(BASE + "/{pupil_id}/answers")
def pupil_answers(
    request: Request, session: SessionDep, user: RegisterUser, pupil_id: RowId
) -> Response:
    pupil = _pupil_or_404(session, pupil_id)
    return _answers_page(request, session, pupil)


def _answers_page(
    request: Request,
    session: Session,
    pupil: Pupil,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    scan: ConsentEvidence | None = None,
) -> Response:
    return render(
        request,
        "consent/pupil-answers.html",
        {
            "pupil": pupil,
            "contacts": [line for line in finder.contacts_of(session, pupil)],
            "purposes": purposes(session),
            "asks_pupil": online.asks_pupil(session, pupil, now_of(session)),
            "values": values or {},
            "errors": errors or {},
            "scan": scan,
            "max_scan_mb": evidence.MAX_SCAN_BYTES // (1024 * 1024),
            "base": BASE,
        },
        status_code=422 if errors else 200,
    )


@router.post(BASE + "/{pupil_id}/answers")
def pupil_answers_save(
    request: Request,
    session: SessionDep,
    user: RegisterUser,
    pupil_id: RowId,
    form: Annotated[ConsentEntryForm, Depends()],
    posted: PostedAnswers,
    scan_file: PostedScan,
) -> Response:
    """Save the answers with their evidence. A scan sent with a form that needs correcting is
    kept (and committed) at once, and the form comes back saying so: nobody chooses it again."""
    pupil = _pupil_or_404(session, pupil_id)
    typed = form.typed_with(posted)
    contact_ids = {line.contact.id for line in finder.contacts_of(session, pupil)}
    checked = form.validate_for(
        purposes(session),
        {i for i in contact_ids if i is not None},
        posted,
        asks_pupil=online.asks_pupil(session, pupil, now_of(session)),
    )
    errors = dict(checked.errors)
    scan = evidence.kept_scan(session, pupil, row_id_or_none(form.scan_id))
    if scan_file is not None and form.how != AnswerHow.phone:
        content = scan_file.file.read(evidence.MAX_SCAN_BYTES + 1)
        try:
            scan = evidence.keep_scan(session, user, pupil, scan_file.filename, content)
            session.commit()
        except evidence.ScanRefused as refused:
            session.rollback()
            errors["scan"] = str(refused)
    if form.how == AnswerHow.paper and scan is None and "scan" not in errors:
        errors["scan"] = answers.NEEDS_SCAN
    if scan is not None:
        typed["scan_id"] = str(scan.id)
    if errors or checked.value is None:
        return _answers_page(request, session, pupil, values=typed, errors=errors, scan=scan)
    contact_id, how, given = checked.value
    try:
        made = answers.record_answers(
            session,
            user,
            pupil,
            contact_id,
            how,
            given,
            scan_id=scan.id if scan is not None and how == AnswerHow.paper else None,
            call_note=form.call_note,
        )
        online.tell_parents(session, request.app.state.settings, pupil, made)
        session.commit()
    except answers.AnswerRefused as refused:
        session.rollback()
        return _answers_page(
            request,
            session,
            pupil,
            values=typed,
            errors={refused.field: str(refused)},
            scan=scan,
        )
    return _see_other(f"{BASE}/{pupil_id}#consent")
