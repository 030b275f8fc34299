"""What answers entered by staff came from: the scanned paper form, or a note of the call.

A scan is checked by its bytes (PDF, JPEG or PNG only; never by its name), size-limited,
pictures re-encoded without their metadata (`portal.uploads`), and stored in the database. It is
kept as soon as it is sent, even when the rest of the form needs correcting, so nobody has to
choose the file again; the answers entered with it point at it. It goes back only as a download,
to the staff who see the pupil's page.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import defer
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.consent.models import AnswerHow, ConsentEvidence, Pupil
from portal.db import now_of
from portal.uploads import (
    JPEG_TYPE,
    PDF_TYPE,
    PNG_TYPE,
    UploadRefused,
    safe_filename,
    sniff,
    strip_image_metadata,
)

MAX_SCAN_BYTES = 10 * 1024 * 1024
SCAN_TYPES = (PDF_TYPE, JPEG_TYPE, PNG_TYPE)
SCAN_DESCRIPTION = "a PDF, JPG or PNG file"
MAX_CALL_NOTE = 1000

ScanRefused = UploadRefused


def keep_scan(
    session: Session, user: StaffUser, pupil: Pupil, filename: str, content: bytes
) -> ConsentEvidence:
    """Check the scanned form and keep it for this pupil (no answers point at it yet)."""
    shown = safe_filename(filename)
    if not content:
        raise ScanRefused(f"{shown} is empty. Choose the scanned form")
    if len(content) > MAX_SCAN_BYTES:
        raise ScanRefused(f"{shown} is too big: the scan must be smaller than 10 MB")
    kind = sniff(content)
    if kind is None or kind[0] not in SCAN_TYPES:
        raise ScanRefused(f"{shown} is not a scan the portal takes: it must be {SCAN_DESCRIPTION}")
    content_type, extension = kind
    if content_type != PDF_TYPE:
        content = strip_image_metadata(content, content_type)
    stem = Path(shown).stem or "scan"
    evidence = ConsentEvidence(
        pupil_id=pupil.id,
        how=AnswerHow.paper,
        filename=f"{stem}.{extension}",
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        added_by_user_id=user.id,
        added_at=now_of(session),
    )
    session.add(evidence)
    session.flush()
    return evidence


def kept_scan(session: Session, pupil: Pupil, evidence_id: int | None) -> ConsentEvidence | None:
    """A scan kept for this pupil (never another pupil's), or None."""
    if evidence_id is None:
        return None
    return session.scalar(
        select(ConsentEvidence).where(
            ConsentEvidence.id == evidence_id,
            ConsentEvidence.pupil_id == pupil.id,
            ConsentEvidence.how == AnswerHow.paper,
            ConsentEvidence.content.is_not(None),  # type: ignore[union-attr]
        )
    )


def note_of_call(session: Session, user: StaffUser, pupil: Pupil, note: str) -> ConsentEvidence:
    evidence = ConsentEvidence(
        pupil_id=pupil.id,
        how=AnswerHow.phone,
        call_note=note,
        added_by_user_id=user.id,
        added_at=now_of(session),
    )
    session.add(evidence)
    session.flush()
    return evidence


def evidence_of(session: Session, ids: set[int]) -> dict[int, ConsentEvidence]:
    """The evidence rows by id, without the scans' bytes (for listing)."""
    if not ids:
        return {}
    statement = (
        select(ConsentEvidence)
        .where(ConsentEvidence.id.in_(ids))  # type: ignore[union-attr]
        .options(defer(ConsentEvidence.content))  # type: ignore[arg-type]
    )
    return {row.id: row for row in session.scalars(statement) if row.id is not None}
