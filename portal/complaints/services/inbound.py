"""Parents' email replies: placing each on its case, or holding it for office.

An email is placed as the parent's reply (as if sent on the tracking page, so the handler is told
the same way) only when all of these hold: it was sent to a genuine reply address of a case, the
case is still open, it comes from the parent's own address on the case, it is not too big, it has
plain text, and the case takes a reply now (`check_reply`: length, replies per day). Anything
else is held whole, with the reason, for office to attach to a case or set aside: never dropped.

Services never commit; `portal.complaints.inbound` (the command and the listener) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlmodel import Session, col

from portal.accounts.models import StaffUser
from portal.complaints import attachments
from portal.complaints.inbound_mail import (
    FileInMail,
    ParsedMail,
    case_of_token,
    parse,
    reply_text,
    tokens_in,
)
from portal.complaints.models import (
    Attachment,
    Complaint,
    ComplaintMessage,
    InboundMail,
    InboundMailCase,
    InboundReason,
    InboundStatus,
    MessageKind,
)
from portal.complaints.services.access import can_see, handler_of, visibility_clause
from portal.complaints.services.errors import ComplaintError
from portal.complaints.services.notices import _email_staff
from portal.complaints.services.parent import check_reply, parent_reply
from portal.complaints.services.queue import find_by_reference
from portal.complaints.services.state import _add_message
from portal.complaints.timeline import Tag
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor, record_event

NO_WORDS = "(No message: only files.)"
SET_ASIDE_REASON_CHARS = 500
HELD_PER_PAGE = 50


@dataclass
class FilesOutcome:
    """Which files of an email may be kept, and a line for each one refused."""

    kept: list[FileInMail] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def note(self) -> str:
        if not self.refused:
            return ""
        return "\n\nFiles not added from this email:\n" + "\n".join(
            f"- {line}" for line in self.refused
        )


def already_received(session: Session, key: str) -> InboundMail | None:
    return session.scalars(select(InboundMail).where(InboundMail.message_key == key)).first()


def held_lately(session: Session, sender: str, *, hours: int = 1) -> int:
    """Emails from `sender` held in the last `hours`: the listener's throttle."""
    since = now_of(session) - timedelta(hours=hours)
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(
                InboundMail.sender == sender,
                InboundMail.status == InboundStatus.held,
                col(InboundMail.received_at) > since,
            )
        )
        or 0
    )


def receive(
    session: Session, settings: Settings, raw: bytes, *, recipients: Sequence[str] = ()
) -> tuple[InboundMail, bool]:
    """Place or hold one email (`raw`, as received; `recipients`, the envelope's). Returns the
    row and whether it is new: an email received before (same Message-ID) is not stored again."""
    parsed = parse(raw)
    existing = already_received(session, parsed.message_key)
    if existing is not None:
        return existing, False
    mail = InboundMail(
        message_key=parsed.message_key,
        sender=parsed.sender,
        subject=parsed.subject,
        status=InboundStatus.held,
        raw=raw,
    )
    case, reason = _case_for(session, settings, parsed, raw, recipients)
    named = _named_cases(session, settings, parsed, recipients)
    detail = ""
    if case is not None:
        mail.complaint_id = case.id
    if case is not None and reason is None:
        try:
            message = _place(session, settings, case, parsed)
        except ComplaintError as error:
            reason, detail = InboundReason.refused, error.message
        else:
            mail.status = InboundStatus.placed
            mail.message_id = message.id
            mail.raw = None  # its words and files are on the case now
    if reason is not None:
        mail.reason = reason
        mail.reason_detail = detail
    session.add(mail)
    session.flush()
    for complaint_id in named:
        session.add(InboundMailCase(mail_id=mail.id, complaint_id=complaint_id))
    if case is not None and reason is not None:
        record_event(
            session,
            subject_type="complaint",
            subject_id=case.id,
            tag=Tag.email_held,
            actor=Actor.system(),
            detail={"reason": InboundReason(reason).label, "mail_id": mail.id},
        )
    return mail, True


def hold_unreadable(session: Session, raw: bytes, key: str, problem: str) -> InboundMail:
    """Keep an email that broke the rules' code itself: office reads it, nothing is lost."""
    mail = InboundMail(
        message_key=key,
        status=InboundStatus.held,
        reason=InboundReason.unreadable,
        reason_detail=problem[:500],
        raw=raw,
    )
    session.add(mail)
    session.flush()
    return mail


def _case_for(
    session: Session,
    settings: Settings,
    parsed: ParsedMail,
    raw: bytes,
    recipients: Sequence[str],
) -> tuple[Complaint | None, InboundReason | None]:
    """The case the email's reply address names (if genuine) and why it cannot be placed there
    (None when it can)."""
    tokens = tokens_in(settings.reply_address, [*recipients, *parsed.addresses])
    if not tokens:
        return None, InboundReason.not_a_reply
    ids = {case_of_token(settings.secret_key, token) for token in tokens} - {None}
    case = session.get(Complaint, min(ids)) if len(ids) == 1 else None  # type: ignore[type-var]
    if case is None:
        return None, InboundReason.unknown_address
    if len(raw) > settings.inbound_max_bytes:
        return case, InboundReason.too_big
    if not case.is_active or case.persistent_matter:
        return case, InboundReason.closed
    if case.anonymous or not parsed.sender or parsed.sender != case.parent_email_normalised:
        return case, InboundReason.wrong_sender
    if parsed.text is None:
        return case, InboundReason.not_text
    if not reply_text(parsed.text) and not parsed.files:
        return case, InboundReason.empty
    return case, None


def _named_cases(
    session: Session, settings: Settings, parsed: ParsedMail, recipients: Sequence[str]
) -> set[int]:
    """Every existing case whose genuine reply address the email was written to."""
    tokens = tokens_in(settings.reply_address, [*recipients, *parsed.addresses])
    ids = {case_of_token(settings.secret_key, token) for token in tokens} - {None}
    if not ids:
        return set()
    return set(session.scalars(select(Complaint.id).where(col(Complaint.id).in_(ids))))


def check_files(files: Sequence[FileInMail]) -> FilesOutcome:
    """The upload checks, file by file: type by content, size, and how many."""
    outcome = FilesOutcome()
    for file in files:
        name = attachments.safe_filename(file.filename)
        if len(outcome.kept) >= attachments.MAX_FILES:
            outcome.refused.append(
                f"{name}: only {attachments.MAX_FILES} files can be added from one email"
            )
            continue
        try:
            attachments.check_file(file.filename, file.content)
        except attachments.AttachmentError as error:
            outcome.refused.append(str(error))
        else:
            outcome.kept.append(file)
    return outcome


def _store(
    session: Session, settings: Settings, case: Complaint, files: Sequence[FileInMail]
) -> list[int]:
    ids = []
    for file in files:
        stored = attachments.store(
            session, settings, filename=file.filename, content=file.content, complaint_id=case.id
        )
        assert stored.id is not None
        ids.append(stored.id)
    return ids


def _place(
    session: Session, settings: Settings, case: Complaint, parsed: ParsedMail
) -> ComplaintMessage:
    files = check_files(parsed.files)
    body = (reply_text(parsed.text or "") or NO_WORDS) + files.note()
    check_reply(session, settings, case, body)
    message = parent_reply(
        session, settings, case, body, _store(session, settings, case, files.kept)
    )
    message.author_label = f"{case.display_name} (by email)"[:200]
    session.add(message)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag=Tag.email_placed,
        actor=Actor.parent(case.display_name),
        detail={"message_id": message.id, "files_refused": len(files.refused)},
    )
    return message


# ---------------------------------------------------------------- office: emails we could not place


def _visible_to(user: StaffUser):  # type: ignore[no-untyped-def]
    """Held emails this person may read: those naming no case, or a case they can see (so an
    email about a case never reaches the person it is about)."""
    visible_cases = select(Complaint.id).where(visibility_clause(user))
    names_one_they_may_not_see = exists().where(
        InboundMailCase.mail_id == InboundMail.id,
        col(InboundMailCase.complaint_id).not_in(visible_cases),
    )
    return and_(
        or_(
            col(InboundMail.complaint_id).is_(None),
            col(InboundMail.complaint_id).in_(visible_cases),
        ),
        ~names_one_they_may_not_see,
    )


def held_mail(
    session: Session, user: StaffUser, *, limit: int = HELD_PER_PAGE
) -> list[InboundMail]:
    """The held emails this person may read, oldest first (the longest waiting lead)."""
    return list(
        session.scalars(
            select(InboundMail)
            .where(InboundMail.status == InboundStatus.held, _visible_to(user))
            .order_by(col(InboundMail.id))
            .limit(limit)
        )
    )


def held_count(session: Session, user: StaffUser) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(InboundMail.status == InboundStatus.held, _visible_to(user))
        )
        or 0
    )


def one_held(session: Session, user: StaffUser, mail_id: int) -> InboundMail | None:
    """One held email, if this person may read it."""
    return session.scalars(
        select(InboundMail).where(
            InboundMail.id == mail_id, InboundMail.status == InboundStatus.held, _visible_to(user)
        )
    ).first()


def _decide(session: Session, user: StaffUser, mail: InboundMail, status: InboundStatus) -> None:
    """Take the email out of the held list, once: of two people deciding at once, one wins."""
    changed = session.execute(
        update(InboundMail)
        .where(col(InboundMail.id) == mail.id, InboundMail.status == InboundStatus.held)
        .values(status=status, decided_by_user_id=user.id, decided_at=now_of(session))
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ComplaintError("mail", "Someone has already dealt with this email")
    session.refresh(mail)


def attach_held(
    session: Session, settings: Settings, user: StaffUser, mail: InboundMail, reference: str
) -> Complaint:
    """Office puts a held email on a case they can see (never one that names them): the words
    above the quote as the parent's reply, the files that pass the upload checks."""
    case = find_by_reference(session, reference)
    if case is None or not can_see(session, user, case):
        raise ComplaintError(
            "reference", "Enter the reference of a case you can see, like C-ABC-1234"
        )
    _decide(session, user, mail, InboundStatus.attached)
    parsed = parse(mail.raw or b"")
    files = check_files(parsed.files)
    body = (reply_text(parsed.text or "") or NO_WORDS) + files.note()
    sender = mail.sender or "an unknown address"
    message = _add_message(
        session,
        case,
        MessageKind.parent_reply,
        body,
        Actor.parent(f"{sender} (by email, added by {user.name})"[:200]),
    )
    for attachment_id in _store(session, settings, case, files.kept):
        stored = session.get(Attachment, attachment_id)
        if stored is not None:
            stored.message_id = message.id
            session.add(stored)
    mail.complaint_id = case.id
    mail.message_id = message.id
    session.add(mail)
    record_event(
        session,
        subject_type="complaint",
        subject_id=case.id,
        tag=Tag.email_attached,
        actor=Actor.staff(user),
        detail={"mail_id": mail.id, "sender": sender},
    )
    if case.is_active:
        _email_staff(session, settings, handler_of(session, case), case, "staff-parent-replied")
    return case


def set_aside(session: Session, user: StaffUser, mail: InboundMail, reason: str) -> None:
    """Office decides the email belongs on no case, and says why; it stays stored."""
    reason = reason.strip()
    if len(reason) < 3:
        raise ComplaintError("reason", "Say why this email belongs on no case")
    if len(reason) > SET_ASIDE_REASON_CHARS:
        raise ComplaintError(
            "reason", f"The reason must be {SET_ASIDE_REASON_CHARS} characters or fewer"
        )
    _decide(session, user, mail, InboundStatus.set_aside)
    mail.decision_note = reason
    session.add(mail)
    record_event(
        session,
        subject_type="inbound_mail",
        subject_id=mail.id,
        tag=Tag.email_set_aside,
        actor=Actor.staff(user),
        detail={"reason": reason},
    )
