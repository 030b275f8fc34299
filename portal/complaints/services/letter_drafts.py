"""The handler's letter as a draft: saved exactly as typed, previewed as the parent will get it,
then sent. A sent letter cannot change.

The concern's reply and the stage 1 response are sent by `responding.respond`, the panel's outcome
by `stage2.send_panel_outcome`; this module keeps what is typed until then and sends only the
version the person previewed. Every save and send carries the draft's version: a page that is
out of date (another tab, a colleague) is refused with what it typed kept, never overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import school_today
from portal.complaints.models import (
    Complaint,
    ComplaintMessage,
    LetterDraft,
    MessageKind,
    Outcome,
    Stage,
    Status,
)
from portal.complaints.services.access import can_handle, may_answer_with_lead
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.letter_text import Letter, _check_letter, stage1_letter_text
from portal.complaints.services.linked import followers, is_follower
from portal.complaints.services.responding import respond
from portal.complaints.services.stage2 import (
    panel_for,
    panel_letter_text,
    panel_members_of,
    send_panel_outcome,
)
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

LETTER_PARTS = ("investigated", "decision", "actions")
# Long enough for any letter a school writes; the form says so.
MAX_PART_LENGTH = 20_000


@dataclass(frozen=True)
class LetterWords:
    """What the handler typed, as typed: the outcome may still be empty while drafting."""

    outcome: str = ""
    investigated: str = ""
    decision: str = ""
    actions: str = ""


def letter_name(case: Complaint) -> str:
    """The letter in the school's words, as the pages and the history say it."""
    if case.stage == Stage.stage2:
        return "panel's outcome letter"
    if case.stage == Stage.concern:
        return "reply to the concern"
    return "stage 1 response letter"


def letter_kind(case: Complaint) -> MessageKind:
    """The kind of message the letter becomes when it is sent: the panel's outcome at stage 2,
    the stage 1 letter (or the reply to a concern) before it."""
    return MessageKind.stage2_letter if case.stage == Stage.stage2 else MessageKind.stage1_letter


def letter_is_due(case: Complaint) -> bool:
    """The case is waiting for the letter this person would write."""
    return case.status == Status.open and not is_follower(case)


def draft_for(session: Session, case: Complaint) -> LetterDraft | None:
    """The letter for the stage the case is at now (a concern's sent reply is not the stage 1's)."""
    return session.scalars(
        select(LetterDraft).where(
            LetterDraft.complaint_id == case.id, LetterDraft.stage == case.stage
        )
    ).first()


def _check_writer(session: Session, user: StaffUser, case: Complaint) -> None:
    if not can_handle(session, user, case):
        raise ComplaintError("letter", "Only the case's handler can write its letter")
    if not letter_is_due(case):
        raise ComplaintError("letter", "This case is not waiting for a letter")


def save_draft(
    session: Session,
    case: Complaint,
    user: StaffUser,
    words: LetterWords,
    *,
    version: int | None,
) -> LetterDraft:
    """Keep the letter as typed. `version` is the draft the page was showing (None: no draft yet).

    Refused, with nothing written, when the letter was sent or saved by someone else since.
    """
    _check_writer(session, user, case)
    for part in LETTER_PARTS:
        if len(getattr(words, part)) > MAX_PART_LENGTH:
            raise ComplaintError(part, f"Keep this part under {MAX_PART_LENGTH:,} characters")
    if words.outcome and words.outcome not in Outcome.__members__:
        raise ComplaintError("outcome", "Select the outcome")
    if not words.outcome and not any(getattr(words, part).strip() for part in LETTER_PARTS):
        raise ComplaintError("investigated", "Write some of the letter before saving it")
    draft = draft_for(session, case)
    if draft is not None and draft.is_sent:
        raise ComplaintError("letter", "This letter has been sent: it cannot change")
    if (draft.version if draft is not None else None) != version:
        raise DraftChanged(draft)
    now = now_of(session)
    if draft is None:
        draft = LetterDraft(complaint_id=case.id, stage=case.stage)
    draft.outcome = words.outcome
    for part in LETTER_PARTS:
        setattr(draft, part, getattr(words, part))
    draft.saved_by_user_id = user.id
    draft.saved_at = now
    session.add(draft)
    try:
        session.flush()
    except StaleDataError as error:
        raise DraftChanged(None) from error
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag="complaint:letter:saved",
        actor=Actor.staff(user),
        detail={"letter": letter_name(case)},
    )
    return draft


class DraftChanged(ComplaintError):
    """The page was showing an older draft than the one saved now."""

    def __init__(self, draft: LetterDraft | None) -> None:
        super().__init__(
            "letter",
            "Someone saved this letter after you opened it, or it was sent. Nothing you typed "
            "is lost: it is below. Check the letter, then save it again.",
        )
        self.draft = draft


def letter_of(draft: LetterDraft) -> Letter:
    """The draft as a letter ready to send; refused with the part that is missing."""
    if draft.outcome not in Outcome.__members__:
        raise ComplaintError("outcome", "Select the outcome")
    letter = Letter(
        outcome=Outcome(draft.outcome),
        investigated=draft.investigated,
        decision=draft.decision,
        actions=draft.actions,
    )
    _check_letter(letter)
    return letter


@dataclass(frozen=True)
class Preview:
    draft: LetterDraft
    body: str
    others: int  # linked cases that get the same letter, each addressed to its own parent


def preview(session: Session, case: Complaint, user: StaffUser) -> Preview:
    """The letter exactly as the parent will get it if it is sent today."""
    _check_writer(session, user, case)
    draft = draft_for(session, case)
    if draft is None or draft.is_sent:
        raise ComplaintError("letter", "Write the letter first")
    letter = letter_of(draft)
    if case.stage == Stage.stage2:
        panel = panel_for(session, case)
        if panel is None or len(panel.member_ids) != 3:
            raise ComplaintError("letter", "Record the panel (date and three members) first")
        members = panel_members_of(session, panel)
        body = panel_letter_text(session, case, letter, user, panel, members)
        others = [  # as `send_panel_outcome` chooses them: never a case naming the writer
            c
            for c in followers(session, case)
            if c.stage == Stage.stage2 and c.status == Status.open and can_handle(session, user, c)
        ]
    else:
        body = stage1_letter_text(session, case, letter, user, school_today(now_of(session)))
        others = [
            c
            for c in followers(session, case)
            if c.status in (Status.new, Status.open) and may_answer_with_lead(session, user, c)
        ]
    return Preview(draft=draft, body=body.strip(), others=len(others))


def send_draft(
    session: Session, settings: Settings, case: Complaint, user: StaffUser, *, version: int | None
) -> ComplaintMessage:
    """Send the letter the person previewed (its `version`), then keep it as sent for good."""
    draft = draft_for(session, case)
    if draft is None or draft.is_sent:
        raise ComplaintError("letter", "This letter has been sent already, or was never written")
    if draft.version != version:
        raise ComplaintError(
            "letter",
            "The letter changed after you previewed it. Preview it again before sending.",
        )
    letter = letter_of(draft)
    kind = letter_kind(case)
    if case.stage == Stage.stage2:
        send_panel_outcome(session, settings, case, user, letter)
    else:
        respond(session, settings, case, user, letter)
    message = session.scalars(
        select(ComplaintMessage)
        .where(ComplaintMessage.complaint_id == case.id, ComplaintMessage.kind == kind)
        .order_by(ComplaintMessage.id.desc())
    ).first()
    draft.sent_at = now_of(session)
    draft.message_id = message.id if message is not None else None
    session.add(draft)
    try:
        session.flush()
    except StaleDataError as error:  # saved again while this was being sent: the save is stale
        raise ComplaintError("letter", "The letter changed while it was being sent") from error
    assert message is not None
    return message
