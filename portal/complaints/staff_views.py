"""Staff pages for the Complaints Procedure: the queue, the case page and the actions on a case.

Views are thin: parse the form, call a service, commit, redirect. Every rule (who may see,
sort, answer or mark a case) lives in `portal.complaints.services`. A case the signed-in person
may not see answers 404, never 403, so nobody learns that it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.access import require_role
from portal.accounts.models import Role, StaffUser
from portal.calendar import format_date
from portal.complaints import attachments, bundle, services, timeline
from portal.complaints.actions import may_take
from portal.complaints.actions import shown as shown_actions
from portal.complaints.forms import (
    ClearExclusionForm,
    DeadlineUpdateForm,
    DelegateForm,
    LetterForm,
    LinkForm,
    MessageForm,
    NoteForm,
    PanelForm,
    PersistentForm,
    RedirectForm,
    SchoolPapersForm,
    SendBundleForm,
    SendLetterForm,
    TriageForm,
)
from portal.complaints.models import (
    About,
    Attachment,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    ExclusionReason,
    LetterDraft,
    MessageKind,
    Outcome,
    Stage,
    Status,
)
from portal.complaints.timeline import describe
from portal.config import Settings
from portal.db import SessionDep, now_of
from portal.forms import PostedForm
from portal.history import HistoryEvent
from portal.inputs import CleanInputRoute, RowId, row_id_or_none
from portal.school.services import school_of
from portal.security import Forbidden
from portal.templating import render

router = APIRouter(route_class=CleanInputRoute)

QUEUE_ROLES = (Role.office, Role.head, Role.senior_leader, Role.chair, Role.clerk, Role.governor)
ComplaintsUser = Annotated[StaffUser, Depends(require_role(*QUEUE_ROLES))]


@dataclass(frozen=True)
class ResponseTemplate:
    """A stock paragraph for a response letter; `field` is the part of the letter it suits."""

    title: str
    field: str
    text: str


RESPONSE_TEMPLATES: dict[str, ResponseTemplate] = {
    "thanks": ResponseTemplate(
        "Thank you for raising this",
        "investigated",
        "Thank you for telling us about this, {parent_name}. We received your case {reference} "
        "on {received_on} and we have looked into it carefully.",
    ),
    "spoke_to_staff": ResponseTemplate(
        "We have spoken to the staff involved",
        "investigated",
        "We have spoken to the staff involved. We have also read our notes from the time and "
        "everything you told us.",
    ),
    "sorry": ResponseTemplate(
        "We are sorry",
        "decision",
        "We are sorry that this happened, {parent_name}. We agree that we should have done better.",
    ),
    "policy_followed": ResponseTemplate(
        "Staff followed our policy",
        "decision",
        "We looked closely at what happened. Staff followed the school's policy, so we do not "
        "think they did anything wrong.",
    ),
    "next_steps": ResponseTemplate(
        "What we will do next",
        "actions",
        "We will remind staff of the policy at their next meeting. We will contact you again "
        "in four weeks to check that things are better.",
    ),
}


def _response_templates(session: Session) -> dict[str, ResponseTemplate]:
    """Our stock paragraphs, then the school's own (School settings, suggested letter
    paragraphs), which suit "What we will do". Theirs are used as written: no placeholders."""
    school_paragraphs = {
        f"school-{number}": ResponseTemplate(
            paragraph.title, "actions", paragraph.text.replace("{", "{{").replace("}", "}}")
        )
        for number, paragraph in enumerate(school_of(session).letter_paragraphs, start=1)
        if paragraph.title.strip() and paragraph.text.strip()
    }
    return {**RESPONSE_TEMPLATES, **school_paragraphs}


LETTER_FIELD_LABELS = {
    "investigated": "What we looked into",
    "decision": "Our decision and the reasons for it",
    "actions": "What we will do",
}

DONE_MESSAGES = {
    "triage": "Case sorted. The handler has been told.",
    "redirect": "Case sent to another procedure. The parent has been told why.",
    "link": "Case linked. It follows its lead case and will be answered with it.",
    "unlink": "Case unlinked. It goes on as a case of its own.",
    "release": "Case released. It is in the queue, and the parent's acknowledgement is on its way.",
    "clear-exclusion": "Done. That person is no longer kept out of this case.",
    "close-same-matter": "Case closed as the same matter. The parent has been told.",
    "letter": "Draft saved. The parent sees nothing until you preview the letter and send it.",
    "letter-paragraph": "Paragraph added after what you had typed. The draft is saved.",
    "respond": "Letter sent. The parent can read and download it.",
    "delegate": "Case given to a senior leader to look into. They have been told.",
    "take-back": "Case taken back. You look into it again. The senior leader has been told.",
    "update": "New date sent to the parent.",
    "message": "Message sent to the parent.",
    "note": "Internal note added.",
    "panel": "Panel recorded.",
    "outcome": "Panel outcome sent. The case is closed.",
    "papers": "Papers added for the panel. They will go in the bundle.",
    "send-bundle": "Bundle sent. The panel members and the parent have been told.",
    "persistent": "Marked as unreasonably persistent. The parent has been told.",
}

# Service errors name a field; some forms on the case page share field names, so each action
# maps the service's name to the id of its own input (for the error summary link).
FIELD_IDS: dict[str, dict[str, str]] = {
    "redirect": {"reason": "redirect_reason"},
    "close-same-matter": {"procedure": "close_same_matter"},
    "update": {"new_date": "new_date_day", "reason": "update_reason"},
    "take-back": {"take_back": "take_back"},
    "message": {"body": "message_body"},
    "panel": {"hearing_on": "hearing_on_day", "members": "member_1"},
}

MESSAGE_HEADINGS = {
    MessageKind.parent_reply: "Reply from the parent",
    MessageKind.school_message: "Message to the parent",
    MessageKind.internal_note: "Internal note",
    MessageKind.deadline_update: "New date sent to the parent",
    MessageKind.stage1_letter: "Response letter",
    MessageKind.stage2_letter: "Panel outcome letter",
    MessageKind.redirect_notice: "Sent to another procedure",
    MessageKind.withdrawal: "Withdrawn by the parent",
    MessageKind.escalation_request: "The parent asked for the next stage",
    MessageKind.acknowledgement: "Acknowledgement letter",
    MessageKind.panel_papers: "Papers for the panel",
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _case_or_404(session: Session, user: StaffUser, reference: str) -> Complaint:
    """The case, only if this person may see it: otherwise 404, as if it did not exist."""
    case = services.find_by_reference(session, reference)
    if case is None or not services.can_see(session, user, case):
        raise HTTPException(status_code=404)
    return case


def _int_or_none(value: str | None) -> int | None:
    """A staff member's id from a form or filter; None when empty or not a possible row id."""
    return row_id_or_none(value)


def _queue_cursor(after: str) -> str | None:
    """The queue's `after=` cursor ("2026-11-25_42") if well formed; otherwise the first page."""
    day, _, row = after.partition("_")
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    return after if row_id_or_none(row) is not None else None


# ---------------------------------------------------------------- who may do what on a case


def case_for(action: str) -> Any:
    """The case this person may take `action` on: 404 if they may not see it (as if it did not
    exist), 403 if they see it but may not act. One dependency for every action route."""

    def acting_on(session: SessionDep, user: ComplaintsUser, reference: str) -> Complaint:
        case = _case_or_404(session, user, reference)
        if not may_take(session, user, case, action):
            raise Forbidden()
        return case

    return Depends(acting_on)


def _act(
    request: Request,
    session: Session,
    user: StaffUser,
    case: Complaint,
    action: str,
    form: PostedForm | None,
    work: Callable[[], object],
    *,
    refused: Mapping[str, str] | None = None,
) -> Response:
    """Run the service, unless the form itself was `refused` (field errors); on a refusal, the
    form's or a rule's, show the case again with the message and what was typed, else commit
    and say it is done."""
    values = form.typed() if form is not None else {}
    if refused:
        return _failed(request, session, user, case, values, dict(refused))
    try:
        work()
    except services.ComplaintError as error:
        field = FIELD_IDS.get(action, {}).get(error.field, error.field)
        return _failed(request, session, user, case, values, {field: error.message})
    session.commit()
    return _done(case, action)


# ---------------------------------------------------------------- the queue


@router.get("/staff/complaints")
def complaint_queue(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    status: str = "",
    stage: str = "",
    category: str = "",
    handler: str = "",
    overdue: str = "",
    anonymous: str = "",
    q: str = "",
    closed: str = "",
    after: str = "",
) -> Response:
    _settings(request)
    filters = services.QueueFilters(
        status=status if status in Status.__members__ else None,
        stage=stage if stage in Stage.__members__ else None,
        category=category if category in school_of(session).categories else None,
        handler_id=_int_or_none(handler),
        overdue=bool(overdue),
        anonymous=bool(anonymous),
        search=q[:200],
        include_closed=bool(closed),
    )
    today = services.school_date(session)
    cursor = _queue_cursor(after)
    page = services.queue_page(session, user, filters, after=cursor, today=today)
    names = services.users_by_id(session, [case.handler_user_id for case in page.cases])
    kept = {
        "status": filters.status or "",
        "stage": filters.stage or "",
        "category": filters.category or "",
        "handler": str(filters.handler_id or ""),
        "overdue": "1" if filters.overdue else "",
        "anonymous": "1" if filters.anonymous else "",
        "q": filters.search,
        "closed": "1" if filters.include_closed else "",
    }
    kept = {key: value for key, value in kept.items() if value}
    next_link = None
    if page.next_cursor:
        next_link = "/staff/complaints?" + urlencode({**kept, "after": page.next_cursor})
    counts = services.status_counts(session, user)
    return render(
        request,
        "complaints/staff/queue.html",
        {
            "rows": [_queue_row(case, names, today) for case in page.cases],
            "counts": [(s, counts.get(s, 0)) for s in Status],
            "values": {**kept},
            "filtered": bool(kept),
            "paged": bool(cursor),
            "next_link": next_link,
            "statuses": list(Status),
            "stages": list(Stage),
            "categories": school_of(session).categories,
            "handlers": _possible_handlers(session),
        },
    )


def _queue_row(case: Complaint, names: dict[int, StaffUser], today: date) -> dict[str, Any]:
    handler = names.get(case.handler_user_id) if case.handler_user_id else None
    flags = [
        label
        for label, on in (
            ("Late", case.is_late),
            ("Anonymous", case.anonymous),
            ("Linked", case.lead_complaint_id is not None),
            ("Persistent", case.persistent_matter),
        )
        if on
    ]
    return {
        "case": case,
        "handler": handler.name if handler else "",
        "deadline_label": DeadlineKind(case.deadline_kind).label if case.deadline_kind else "",
        "overdue": services.overdue_marker(case, today),
        "flags": flags,
    }


def _possible_handlers(session: Session) -> list[StaffUser]:
    """Everyone a case can be routed to (routing roles, and the clerk for stage 2)."""
    roles = {role for about in About for role in services.handler_roles(about)} | {Role.clerk}
    people = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name)
    )
    return [person for person in people if person.has_role(*roles)]


# ---------------------------------------------------------------- the case page


@router.get("/staff/complaints/week")
def complaint_week(
    request: Request, session: SessionDep, user: ComplaintsUser, week: str = ""
) -> Response:
    """What falls due in a week (this one unless `week` names a day of another), day by day,
    with what is already overdue on the current week; every case through the visibility rule."""
    today = services.school_date(session)
    try:
        asked = date.fromisoformat(week) if week else today
    except ValueError:
        asked = today
    if not date(2000, 1, 1) <= asked <= date(2100, 12, 31):
        asked = today
    monday = services.week_of(asked)
    view = services.week_view(session, user, monday, today)
    shown = [case for day in view.days for case in day.cases] + view.overdue
    names = services.users_by_id(
        session,
        [case.handler_user_id for case in shown] + [case.delegate_user_id for case in shown],
    )

    def line(case: Complaint) -> dict[str, Any]:
        yours = services.is_your_move(user, case)
        return {
            "case": case,
            "yours": yours,
            "words": services.next_move(case) if yours else services.waiting_for(case, names),
            "what": DEADLINE_WORDS.get(case.deadline_kind or "", "Next date"),
        }

    return render(
        request,
        "complaints/staff/week.html",
        {
            "view": view,
            "days": [(day.day, [line(case) for case in day.cases]) for day in view.days],
            "overdue": [line(case) for case in view.overdue],
            "today": today,
            "previous": (monday - timedelta(days=7)).isoformat(),
            "next": (monday + timedelta(days=7)).isoformat(),
            "this_week": monday == services.week_of(today),
        },
    )


DEADLINE_WORDS = {
    "acknowledge": "Acknowledge by",
    "respond": "Response due",
    "panel": "Panel outcome due",
    "escalate": "Parent's time to ask for the next stage ends",
}


@router.get("/staff/complaints/{reference}")
def complaint_case(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    reference: str,
    done: str = "",
    before: str = "",
    after: str = "",
) -> Response:
    """The case; `before` and `after` page its history (event ids, from the page's links)."""
    case = _case_or_404(session, user, reference)
    deadline = services.deadline_view(session, case, services.school_date(session))
    if deadline is not None and deadline.due != case.next_deadline:
        services.refresh_deadline(session, case)
    earlier_than, later_than = row_id_or_none(before), row_id_or_none(after)
    history_page = timeline.changes(session, case.id, before=earlier_than, after=later_than)
    # The page after the person's own action, or another page of the history, continues the
    # look they are recorded for; any other showing of the case is a new opening.
    continuing = done in DONE_MESSAGES or earlier_than is not None or later_than is not None
    if not (continuing and _continues_look(session, case, user)):
        services.record_view(session, case, user)
    session.commit()
    return _render_case(request, session, user, case, deadline=deadline, history=history_page)


def _continues_look(session: Session, case: Complaint, user: StaffUser) -> bool:
    return timeline.continues_look(session, case.id, user.id, now_of(session))


def _render_case(
    request: Request,
    session: Session,
    user: StaffUser,
    case: Complaint,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    deadline: services.DeadlineView | None = None,
    history: timeline.ChangesPage | None = None,
) -> Response:
    _settings(request)
    history = history or timeline.changes(session, case.id)
    deadline = deadline or services.deadline_view(session, case, services.school_date(session))
    panel = services.panel_for(session, case)
    people = services.users_by_id(
        session,
        [case.handler_user_id, case.about_user_id, *(panel.member_ids if panel else [])],
    )
    shown = shown_actions(session, user, case)
    lead = services.lead_of(session, case)
    # A persistent parent's new case points at the completed matter it repeats.
    earlier = (
        session.get(Complaint, case.lead_complaint_id)
        if case.persistent_matter and case.lead_complaint_id
        else None
    )
    linked = services.followers(session, case)
    visible_ids = _visible_ids(session, user, [other.id for other in linked])
    messages = services.messages_for(session, case, for_parent=False)
    shown_letter = shown["letter"] and (shown["respond"] or shown["outcome"])
    draft = services.draft_for(session, case) if shown_letter else None
    form_values = {**_default_values(case, panel), **_draft_values(draft), **(values or {})}
    context: dict[str, Any] = {
        "case": case,
        "user": user,
        "stage": case.stage_enum,
        "status": case.status_enum,
        "about": case.about_enum,
        "outcome_label": Outcome(case.outcome).label if case.outcome else "",
        "handler": people.get(case.handler_user_id) if case.handler_user_id else None,
        "named": people.get(case.about_user_id) if case.about_user_id else None,
        "deadline": deadline,
        "lead": lead,
        "lead_visible": bool(lead and services.can_see(session, user, lead)),
        "earlier": earlier if earlier and services.can_see(session, user, earlier) else None,
        "linked": [other for other in linked if other.id in visible_ids],
        "open_linked": sum(
            1
            for other in linked
            if other.status in (Status.new, Status.open) and other.id in visible_ids
        ),
        "attachments": services.attachments_for(session, case),
        "messages": [_message_view(case, message) for message in messages],
        "looks": timeline.looks(session, case.id),
        "history": [_event_view(event) for event in history.events],
        "history_page": history,
        "panel": panel,
        "panel_members": [people[m] for m in panel.member_ids if m in people] if panel else [],
        "shown": shown,
        "bundle_readable": panel is not None and services.can_read_bundle(session, user, case),
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        "values": form_values,
        "errors": errors or {},
    }
    if case.paper_link_sealed and services.can_triage(session, user, case):
        # Office prints the first letter with the private link of a parent with no email.
        for item in context["messages"]:
            if item["message"].kind == MessageKind.acknowledgement:
                item["post_pdf"] = (
                    f"/staff/complaints/{case.reference}/acknowledgement-for-post.pdf"
                )
    if shown["clear-exclusion"]:
        unsure = [
            row
            for row in services.exclusions_for(session, case)
            if row.reason == ExclusionReason.maybe_named_by_parent
        ]
        names = services.users_by_id(session, [row.user_id for row in unsure])
        context["unsure_exclusions"] = [
            (row, names[row.user_id]) for row in unsure if row.user_id in names
        ]
    if shown["triage"]:
        context["triage_handlers"] = services.eligible_handlers(session, case)
        context["routing_rule"] = _routing_rule(case)
        context["categories"] = school_of(session).categories
        if case.about in (About.staff, About.governor, About.head):
            context["nameable"] = services.staff_who_can_be_named(session, case.about_enum)
    if shown["redirect"]:
        context["procedures"] = [
            (entry.key, entry.name, entry.where) for entry in school_of(session).out_of_scope
        ]
    if shown_letter:
        fields = _template_fields(case)
        context["draft"] = draft if draft is not None and not draft.is_sent else None
        context["draft_saved_by"] = (
            services.users_by_id(session, [draft.saved_by_user_id]).get(draft.saved_by_user_id)
            if draft is not None and draft.saved_by_user_id
            else None
        )
        context["letter_name"] = services.letter_name(case)
        context["outcomes"] = list(Outcome)
        context["letter_labels"] = LETTER_FIELD_LABELS
        context["templates"] = [
            (key, item.title, item.field, item.text.format_map(fields))
            for key, item in _response_templates(session).items()
        ]
    if shown["panel"]:
        context["panel_candidates"] = services.eligible_panel_members(session, case)
    context["delegate"] = services.delegate_of(session, case)
    if shown["delegate"]:
        # "Give it to someone else" lists the others; with nobody else, only "Take it back".
        context["delegate_candidates"] = [
            person
            for person in services.delegates_for(session, case)
            if person.id != case.delegate_user_id
        ]
    return render(request, "complaints/staff/case.html", context, status_code=status_code)


def _visible_ids(session: Session, user: StaffUser, ids: list[int | None]) -> set[int]:
    """Which of these cases this person may see, in one query (a campaign can link hundreds)."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Complaint.id).where(Complaint.id.in_(ids), services.visibility_clause(user))
        )
    )


def _default_values(case: Complaint, panel: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "stage": case.stage if case.stage != Stage.stage2 else "",
        "category": case.category,
        "handler_id": str(case.handler_user_id or ""),
        "about_user_id": str(case.about_user_id or ""),
        "late_decision": case.late_decision or "",
        "anonymous_decision": case.anonymous_decision or "",
    }
    if panel is not None:
        members = [*panel.member_ids, None, None, None]
        values.update(
            {
                "member_1": str(members[0] or ""),
                "member_2": str(members[1] or ""),
                "member_3": str(members[2] or ""),
                "papers": panel.papers,
                "hearing_notes": panel.hearing_notes,
                "hearing_time": panel.hearing_time,
                "hearing_format": panel.hearing_format,
                "hearing_place": panel.hearing_place,
            }
        )
        if panel.hearing_on:
            values.update(
                {
                    "hearing_on_day": str(panel.hearing_on.day),
                    "hearing_on_month": str(panel.hearing_on.month),
                    "hearing_on_year": str(panel.hearing_on.year),
                }
            )
    return values


def _draft_values(draft: LetterDraft | None) -> dict[str, Any]:
    """The letter as last saved, for the form (a sent letter is the message, not a draft)."""
    if draft is None or draft.is_sent:
        return {}
    return {
        "outcome": draft.outcome,
        "investigated": draft.investigated,
        "decision": draft.decision,
        "actions": draft.actions,
        "draft_version": str(draft.version),
    }


def _template_fields(case: Complaint) -> dict[str, str]:
    return {
        "parent_name": case.parent_name if not case.anonymous else "parent or carer",
        "reference": case.reference,
        "received_on": format_date(case.received_on),
    }


def _routing_rule(case: Complaint) -> str:
    about = case.about_enum.label
    who = " or the ".join(role.label.lower() for role in services.handler_roles(case.about_enum))
    return (
        f"A case about {about[0].lower()}{about[1:].lower()} goes to the {who}. "
        "Nobody can handle a case about themselves."
    )


def _message_view(case: Complaint, message: ComplaintMessage) -> dict[str, Any]:
    kind = message.kind_enum
    return {
        "message": message,
        "heading": MESSAGE_HEADINGS.get(kind, kind.value),
        "internal": not kind.parent_can_see,
        "letter": kind.is_letter,
        "outcome": Outcome(message.outcome).label if message.outcome else "",
        "pdf": f"/staff/complaints/{case.reference}/letters/{message.id}.pdf",
    }


def _event_view(event: HistoryEvent) -> dict[str, Any]:
    return {"when": event.occurred_at, "who": event.actor_label, "what": describe(event)}


def _failed(
    request: Request,
    session: Session,
    user: StaffUser,
    case: Complaint,
    values: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    """Undo the attempt and show the case again with the errors and what was typed."""
    session.rollback()
    session.refresh(case)
    if not _continues_look(session, case, user):
        services.record_view(session, case, user)
    session.commit()
    return _render_case(request, session, user, case, values=values, errors=errors, status_code=422)


def _done(case: Complaint, what: str) -> Response:
    return RedirectResponse(f"/staff/complaints/{case.reference}?done={what}", status_code=303)


# ---------------------------------------------------------------- actions


@router.post("/staff/complaints/{reference}/triage")
def complaint_triage(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("triage")],
    form: Annotated[TriageForm, Depends()],
) -> Response:
    decision = form.validate().value
    return _act(
        request,
        session,
        user,
        case,
        "triage",
        form,
        lambda: services.triage(session, _settings(request), case, user, decision),
    )


@router.post("/staff/complaints/{reference}/redirect")
def complaint_redirect(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("redirect")],
    form: Annotated[RedirectForm, Depends()],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "redirect",
        form,
        lambda: services.redirect_out_of_scope(
            session,
            _settings(request),
            case,
            user,
            procedure=form.procedure,
            reason=form.redirect_reason,
        ),
    )


@router.post("/staff/complaints/{reference}/release")
def complaint_release(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("release")],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "release",
        None,
        lambda: services.release_held(session, _settings(request), case, user),
    )


@router.post("/staff/complaints/{reference}/clear-exclusion")
def complaint_clear_exclusion(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("clear-exclusion")],
    form: Annotated[ClearExclusionForm, Depends()],
) -> Response:
    excluded = form.validate()
    return _act(
        request,
        session,
        user,
        case,
        "clear-exclusion",
        None,
        lambda: services.clear_unsure_exclusion(session, case, user, excluded.value),
        refused=excluded.errors,
    )


@router.post("/staff/complaints/{reference}/link")
def complaint_link(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("link")],
    form: Annotated[LinkForm, Depends()],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "link",
        form,
        lambda: services.link_to_lead_by_reference(
            session, _settings(request), case, form.lead_reference, user
        ),
    )


@router.post("/staff/complaints/{reference}/unlink")
def complaint_unlink(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("unlink")],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "unlink",
        None,
        lambda: services.unlink_by_staff(session, case, user),
    )


@router.post("/staff/complaints/{reference}/close-same-matter")
def complaint_close_same_matter(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("close-same-matter")],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "close-same-matter",
        None,
        lambda: services.close_as_same_matter(session, _settings(request), case, user),
    )


@router.post("/staff/complaints/{reference}/letter")
def complaint_letter_save(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("letter")],
    form: Annotated[LetterForm, Depends()],
) -> Response:
    """Keep the letter as typed: "Save", "Use this" (a suggested paragraph added to its part of
    the letter, after what is there) or "Preview" (save, then show it as the parent will get it).
    Nothing reaches the parent until the preview's "Send"."""
    words = form.words()
    key = form.paragraph_key()
    paragraph = _response_templates(session).get(key) if key else None
    if paragraph is not None:
        text = paragraph.text.format_map(_template_fields(case))
        typed = getattr(words, paragraph.field).rstrip()
        words = replace(words, **{paragraph.field: f"{typed}\n\n{text}" if typed else text})
    values = {**form.typed(), **asdict(words)}
    try:
        draft = services.save_draft(session, case, user, words, version=form.version())
    except services.DraftChanged:
        session.rollback()
        current = services.draft_for(session, case)
        values["draft_version"] = str(current.version) if current is not None else ""
        return _failed(request, session, user, case, values, {"letter": LETTER_CHANGED})
    except services.ComplaintError as error:
        return _failed(request, session, user, case, values, {error.field: error.message})
    session.commit()
    if paragraph is not None:
        return RedirectResponse(
            f"/staff/complaints/{case.reference}?done=letter-paragraph#{paragraph.field}",
            status_code=303,
        )
    if form.intent == "preview":
        try:
            services.preview(session, case, user)
        except services.ComplaintError as error:
            values["draft_version"] = str(draft.version)
            return _render_case(
                request,
                session,
                user,
                case,
                values=values,
                errors={error.field: error.message},
                status_code=422,
            )
        return RedirectResponse(f"/staff/complaints/{case.reference}/letter", status_code=303)
    return RedirectResponse(
        f"/staff/complaints/{case.reference}?done=letter#letter", status_code=303
    )


LETTER_CHANGED = (
    "Someone saved this letter after you opened it. Nothing you typed is lost: it is below. "
    "Check it against the case, then save it again."
)


@router.get("/staff/complaints/{reference}/letter")
def complaint_letter_preview(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("letter")],
) -> Response:
    """The draft exactly as the parent will get it, with its PDF, and the one Send button."""
    from portal.complaints.letters import LETTER_TITLES

    try:
        shown_letter = services.preview(session, case, user)
    except services.ComplaintError:
        return RedirectResponse(f"/staff/complaints/{case.reference}#letter", status_code=303)
    services.record_view(session, case, user, read="the draft letter")
    session.commit()
    sends_with = "outcome" if case.stage == Stage.stage2 else "respond"
    return render(
        request,
        "complaints/staff/letter-preview.html",
        {
            "case": case,
            "user": user,
            "preview": shown_letter,
            "letter_name": services.letter_name(case),
            "title": LETTER_TITLES.get(services.letter_kind(case), "Letter from the school"),
            "today": services.school_date(session),
            "send_to": f"/staff/complaints/{case.reference}/{sends_with}",
            "parent_by_post": not case.parent_email and not case.anonymous,
        },
    )


@router.get("/staff/complaints/{reference}/letter.pdf")
def complaint_letter_preview_pdf(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("letter")],
) -> Response:
    """The draft as the parent's PDF will be, dated today. Its name says it is a draft."""
    from portal.complaints.letters import letter_pdf

    try:
        shown_letter = services.preview(session, case, user)
    except services.ComplaintError:
        raise HTTPException(status_code=404) from None
    kind = services.letter_kind(case)
    unsent = ComplaintMessage(
        complaint_id=case.id,
        kind=kind,
        author_type="staff",
        author_label=user.name,
        body=shown_letter.body,
        created_at=now_of(session),
    )
    content = letter_pdf(school_of(session), case, unsent)
    services.record_view(session, case, user, read="the draft letter (PDF)")
    session.commit()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(
                f"{case.reference}-draft-letter.pdf"
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _send_letter(
    request: Request,
    session: Session,
    user: StaffUser,
    case: Complaint,
    action: str,
    form: SendLetterForm,
) -> Response:
    """Send the draft the person previewed: the stage 1 response or the panel's outcome."""
    return _act(
        request,
        session,
        user,
        case,
        action,
        None,
        lambda: services.send_draft(
            session, _settings(request), case, user, version=form.version()
        ),
    )


@router.post("/staff/complaints/{reference}/respond")
def complaint_respond(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("respond")],
    form: Annotated[SendLetterForm, Depends()],
) -> Response:
    return _send_letter(request, session, user, case, "respond", form)


@router.post("/staff/complaints/{reference}/delegate")
def complaint_delegate(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("delegate")],
    form: Annotated[DelegateForm, Depends()],
) -> Response:
    chosen = form.validate()
    return _act(
        request,
        session,
        user,
        case,
        "delegate",
        form,
        lambda: services.delegate(
            session, _settings(request), case, user, chosen.value, form.delegate_note
        ),
        refused=chosen.errors,
    )


@router.post("/staff/complaints/{reference}/take-back")
def complaint_take_back(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("take-back")],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "take-back",
        None,
        lambda: services.take_back(session, _settings(request), case, user),
    )


@router.post("/staff/complaints/{reference}/update")
def complaint_update(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("update")],
    form: Annotated[DeadlineUpdateForm, Depends()],
) -> Response:
    new_date = form.validate()
    return _act(
        request,
        session,
        user,
        case,
        "update",
        form,
        lambda: services.send_deadline_update(
            session,
            _settings(request),
            case,
            user,
            new_date=new_date.value,
            reason=form.update_reason,
        ),
        refused=new_date.errors,
    )


@router.post("/staff/complaints/{reference}/message")
def complaint_message(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("message")],
    form: Annotated[MessageForm, Depends()],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "message",
        form,
        lambda: services.send_message(session, _settings(request), case, user, form.message_body),
    )


@router.post("/staff/complaints/{reference}/note")
def complaint_note(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("note")],
    form: Annotated[NoteForm, Depends()],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "note",
        form,
        lambda: services.add_note(session, case, user, form.note),
    )


@router.post("/staff/complaints/{reference}/panel")
def complaint_panel(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("panel")],
    form: Annotated[PanelForm, Depends()],
) -> Response:
    panel = form.validate()
    return _act(
        request,
        session,
        user,
        case,
        "panel",
        form,
        lambda: services.record_panel(
            session,
            case,
            user,
            hearing_on=panel.value.hearing_on,
            member_ids=panel.value.member_ids,
            papers=form.papers,
            hearing_notes=form.hearing_notes,
            hearing_time=form.hearing_time,
            hearing_format=form.hearing_format,
            hearing_place=form.hearing_place,
            settings=_settings(request),
        ),
        refused=panel.errors,
    )


@router.post("/staff/complaints/{reference}/outcome")
def complaint_outcome(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("outcome")],
    form: Annotated[SendLetterForm, Depends()],
) -> Response:
    return _send_letter(request, session, user, case, "outcome", form)


@router.post("/staff/complaints/{reference}/persistent")
def complaint_persistent(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("persistent")],
    form: Annotated[PersistentForm, Depends()],
) -> Response:
    return _act(
        request,
        session,
        user,
        case,
        "persistent",
        form,
        lambda: services.mark_persistent(
            session, _settings(request), case, user, form.persistent_reason
        ),
    )


@router.post("/staff/complaints/{reference}/papers")
def complaint_papers(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("papers")],
    form: Annotated[SchoolPapersForm, Depends()],
    school_papers_files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """The school's papers for the panel: files checked as the parent's are, and a note."""

    def add() -> None:
        services.check_school_papers(session, case, user, form.school_papers_note)
        stored = store_papers(
            session, _settings(request), case, school_papers_files, "school_papers_files"
        )
        services.add_school_papers(session, case, user, form.school_papers_note, stored)

    return _act(request, session, user, case, "papers", form, add)


def store_papers(
    session: Session,
    settings: Settings,
    case: Complaint,
    uploads: list[UploadFile] | None,
    field_id: str,
) -> list[int]:
    """Check and store each chosen file for the panel; a refused file refuses them all."""
    chosen = [upload for upload in uploads or [] if upload.filename]
    if not chosen:
        raise services.ComplaintError(field_id, "Choose at least one file")
    if len(chosen) > attachments.MAX_FILES:
        raise services.ComplaintError(
            field_id, f"Send up to {attachments.MAX_FILES} files at a time"
        )
    stored: list[int] = []
    for upload in chosen:
        try:
            row = attachments.store(
                session,
                settings,
                filename=upload.filename or "file",
                content=upload.file.read(attachments.MAX_BYTES + 1),
                complaint_id=case.id,
            )
        except attachments.AttachmentError as error:
            raise services.ComplaintError(field_id, str(error)) from error
        if row.id is not None:
            stored.append(row.id)
    return stored


@router.post("/staff/complaints/{reference}/send-bundle")
def complaint_send_bundle(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    case: Annotated[Complaint, case_for("send-bundle")],
    form: Annotated[SendBundleForm, Depends()],
) -> Response:
    """Tell the panel and the parent that the bundle is ready (they download it)."""
    checked = form.validate()

    def send() -> None:
        services.check_send_bundle(session, case, user)
        made = bundle.build_bundle(session, _settings(request), case)
        services.send_bundle(session, _settings(request), case, user, pages=made.pages)

    return _act(request, session, user, case, "send-bundle", form, send, refused=checked.errors)


@router.get("/staff/complaints/{reference}/bundle.pdf")
def complaint_bundle_pdf(
    request: Request, session: SessionDep, user: ComplaintsUser, reference: str
) -> Response:
    """The panel bundle for the clerk, the chair and the panel's members."""
    case = _case_or_404(session, user, reference)
    if case.stage != Stage.stage2:
        raise HTTPException(status_code=404)
    if not services.can_read_bundle(session, user, case):
        raise Forbidden()
    made = bundle.build_bundle(session, _settings(request), case)
    services.record_view(session, case, user, read="the panel bundle (PDF)")
    session.commit()
    return _pdf_download(made.content, bundle.bundle_filename(case))


def _pdf_download(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(filename),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---------------------------------------------------------------- files


@router.get("/staff/complaints/{reference}/attachments/{attachment_id}")
def complaint_attachment(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    reference: str,
    attachment_id: RowId,
) -> Response:
    case = _case_or_404(session, user, reference)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.complaint_id != case.id:
        raise HTTPException(status_code=404)
    services.record_view(session, case, user, read=f"attachment: {attachment.filename}")
    session.commit()
    return attachments.download_response(_settings(request), attachment)


@router.get("/staff/complaints/{reference}/letters/{message_id}.pdf")
def complaint_letter_pdf(
    request: Request,
    session: SessionDep,
    user: ComplaintsUser,
    reference: str,
    message_id: RowId,
) -> Response:
    case = _case_or_404(session, user, reference)
    message = session.get(ComplaintMessage, message_id)
    if message is None or message.complaint_id != case.id or not message.kind_enum.is_letter:
        raise HTTPException(status_code=404)
    from portal.complaints.letters import letter_pdf

    content = letter_pdf(school_of(session), case, message)
    services.record_view(session, case, user, read=f"letter {message.id} (PDF)")
    session.commit()
    filename = f"{case.reference}-letter-{message.id}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachments.content_disposition(filename),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
