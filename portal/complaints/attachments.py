"""Files parents send with a complaint: checked by content, cleaned, stored outside static/.

Files are only ever served through routes that check who is asking, as downloads.

A file on disk follows its row's transaction: a file `store` writes is deleted again unless the
transaction commits (a refused reply, a crash, a rollback leave nothing behind), and a file whose
row `remove` deletes stays on disk until that delete is committed. So there is never a file
without a row, nor a row without its file. (The portal does not use savepoints; this tracks the
session's outermost transaction.)
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi.responses import Response
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from portal.complaints.models import Attachment
from portal.config import Settings
from portal.uploads import (
    DOCX_TYPE,
    UploadRefused,
    content_disposition,
    download_headers,
    safe_filename,
    sniff,
    strip_image_metadata,
)

__all__ = ["DOCX_TYPE", "content_disposition", "safe_filename", "sniff", "strip_image_metadata"]

log = logging.getLogger("portal.attachments")

MAX_BYTES = 10 * 1024 * 1024
PARTIAL_SUFFIX = ".part"
# A file younger than this may belong to an upload still in flight: the sweep leaves it alone.
SWEEP_GRACE = timedelta(hours=1)
DISK_FULL_MESSAGE = (
    "{name} could not be saved because the school's portal has run out of space. "
    "Your answers are kept. Try again later, or continue without the file"
)
NOT_SAVED_MESSAGE = (
    "{name} could not be saved just now. Your answers are kept. Try again, "
    "or continue without the file"
)
MAX_FILES = 5
ALLOWED_DESCRIPTION = "a PDF, JPG, PNG or Word (.docx) file"


AttachmentError = UploadRefused
"""Why a file was refused, in words for the parent."""


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str


def check_file(filename: str, content: bytes) -> CheckedFile:
    if not content:
        raise AttachmentError(f"{safe_filename(filename)} is empty")
    if len(content) > MAX_BYTES:
        raise AttachmentError(f"{safe_filename(filename)} must be smaller than 10 MB")
    kind = sniff(content)
    if kind is None:
        raise AttachmentError(f"{safe_filename(filename)} must be {ALLOWED_DESCRIPTION}")
    content_type, extension = kind
    if content_type.startswith("image/"):
        content = strip_image_metadata(content, content_type)
    return CheckedFile(content=content, content_type=content_type, extension=extension)


def store(
    session: Session,
    settings: Settings,
    *,
    filename: str,
    content: bytes,
    draft_id: str | None = None,
    complaint_id: int | None = None,
) -> Attachment:
    """Check and save one file; the row joins the caller's transaction."""
    if draft_id is not None and len(draft_attachments(session, draft_id)) >= MAX_FILES:
        raise AttachmentError(
            f"{safe_filename(filename)} was not added: you can send up to {MAX_FILES} files. "
            "Remove a file to add a different one"
        )
    checked = check_file(filename, content)
    key = f"{secrets.token_hex(16)}.{checked.extension}"
    folder = Path(settings.attachments_dir)
    session.info.setdefault(_WRITTEN, []).append(folder / key)
    _write_whole(folder, key, checked.content, safe_filename(filename))
    stem = Path(safe_filename(filename)).stem or "file"
    attachment = Attachment(
        complaint_id=complaint_id,
        draft_id=draft_id,
        filename=f"{stem}.{checked.extension}",
        content_type=checked.content_type,
        size=len(checked.content),
        sha256=hashlib.sha256(checked.content).hexdigest(),
        storage_key=key,
    )
    session.add(attachment)
    session.flush()
    return attachment


def write_private(path: Path, content: bytes) -> None:
    """A new file only its owner can read (0600), in folders only its owner can open (0700):
    parents' files are readable by the portal's user alone, whatever the umask."""
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


def _write_whole(folder: Path, key: str, content: bytes, name: str) -> None:
    """Write to `<key>.part`, then rename: a file under its final name is always whole, and a
    failed write (the disk full) leaves nothing behind but a clear message for the parent."""
    partial = folder / (key + PARTIAL_SUFFIX)
    try:
        write_private(partial, content)
        os.replace(partial, folder / key)
    except OSError as error:
        partial.unlink(missing_ok=True)
        full = error.errno in (errno.ENOSPC, errno.EDQUOT)
        log.error(
            "attachment not saved in %s: %s%s",
            folder,
            error.strerror or error,
            " (the disk is full)" if full else "",
        )
        template = DISK_FULL_MESSAGE if full else NOT_SAVED_MESSAGE
        raise AttachmentError(template.format(name=name)) from error


@dataclass
class SweepReport:
    """What `sweep_orphans` found (and removed, unless it was a dry run)."""

    files_without_row: list[str] = field(default_factory=list)
    partial_files: list[str] = field(default_factory=list)
    draft_rows_without_file: list[int] = field(default_factory=list)
    case_rows_without_file: list[int] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.files_without_row
            or self.partial_files
            or self.draft_rows_without_file
            or self.case_rows_without_file
        )


def sweep_orphans(
    session: Session,
    settings: Settings,
    *,
    now_timestamp: float,
    grace: timedelta = SWEEP_GRACE,
    dry_run: bool = False,
) -> SweepReport:
    """After a crash: remove files no row names (and half-written `.part` files), and draft rows
    whose file is gone. A case's row whose file is gone is only reported: the case keeps its
    record that a file was sent, and the operator restores the file from the backup.

    Files younger than `grace` are left alone, as an upload may be between its write and its
    commit. `now_timestamp` is the clock's time as seconds since the epoch (files' times are).
    The caller commits.
    """
    report = SweepReport()
    folder = Path(settings.attachments_dir)
    rows = list(session.scalars(select(Attachment)))
    known = {row.storage_key for row in rows}
    cutoff = now_timestamp - grace.total_seconds()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            if path.name.endswith(PARTIAL_SUFFIX):
                report.partial_files.append(path.name)
            elif path.name not in known:
                report.files_without_row.append(path.name)
            else:
                continue
            if not dry_run:
                path.unlink(missing_ok=True)
    for row in rows:
        if (folder / row.storage_key).is_file():
            continue
        assert row.id is not None
        if row.complaint_id is None and row.message_id is None:
            report.draft_rows_without_file.append(row.id)
            if not dry_run:
                session.delete(row)
        else:
            report.case_rows_without_file.append(row.id)
    return report


def draft_attachments(session: Session, draft_id: str) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.draft_id == draft_id).order_by(Attachment.id)
        )
    )


_DRAFT_ATTACHMENT_IDS = (
    select(Attachment.id)
    .where(Attachment.draft_id == bindparam("draft_id"))
    .order_by(Attachment.id)
)


def draft_attachment_ids(session: Session, draft_id: str) -> list[int]:
    """A column read with a statement built once: the final "Send" of a rush needs no more."""
    session.flush()  # files added in this session count, as they would for an ORM query
    return list(
        session.connection().execute(_DRAFT_ATTACHMENT_IDS, {"draft_id": draft_id}).scalars()
    )


def remove(session: Session, settings: Settings, attachment: Attachment) -> None:
    """Delete the row now and the file when the caller commits."""
    session.delete(attachment)
    session.info.setdefault(_DELETED, []).append(
        Path(settings.attachments_dir) / attachment.storage_key
    )


_WRITTEN = "portal.attachments.written"
_DELETED = "portal.attachments.deleted"


@event.listens_for(OrmSession, "after_commit")
def _commit_files(session: OrmSession) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DELETED, []):
        path.unlink(missing_ok=True)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_uncommitted_files(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_DELETED, None)
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)


def download_response(settings: Settings, attachment: Attachment) -> Response:
    """Always a download, never rendered in the portal's origin."""
    path = Path(settings.attachments_dir) / attachment.storage_key
    content = path.read_bytes()
    return Response(
        content,
        media_type=attachment.content_type,
        headers=download_headers(attachment.filename),
    )
