"""What a restored backup must give back: the cases, their history and every file parents sent.

`portal restore-check` restores last night's dump into a new database and asks this module to
open a case the way the portal does (its row, its history, its files served through the portal's
own download code) and to check every attachment's file against the checksum its row recorded.
A backup that passes holds what a parent sent; one that fails says what is missing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from portal.complaints.attachments import download_response
from portal.complaints.models import Attachment, Complaint
from portal.complaints.services import find_by_reference
from portal.config import Settings
from portal.history import history_of


@dataclass
class RestoreReport:
    """What the restored copy holds, and what is wrong with it (`problems`, empty if nothing)."""

    cases: int = 0
    attachments: int = 0
    opened_reference: str = ""
    opened_events: int = 0
    opened_files: int = 0
    problems: list[str] = field(default_factory=list)


def check_restored(session: Session, settings: Settings, reference: str = "") -> RestoreReport:
    """Open one case (the given reference, or the newest) with its history and files, then check
    every attachment's file is there with the bytes its checksum says."""
    report = RestoreReport()
    report.cases = session.scalar(select(func.count()).select_from(Complaint)) or 0
    report.attachments = session.scalar(select(func.count()).select_from(Attachment)) or 0
    if reference:
        case = find_by_reference(session, reference)
        if case is None:
            report.problems.append(f"No case has the reference {reference!r} in the backup.")
    else:
        case = session.scalars(select(Complaint).order_by(col(Complaint.id).desc())).first()
        if case is None:
            report.problems.append("The backup holds no cases.")
    if case is not None:
        report.opened_reference = case.reference
        report.opened_events = len(history_of(session, "complaint", case.id))
        if report.opened_events == 0:
            report.problems.append(f"{case.reference} has no history in the backup.")
        for attachment in session.scalars(
            select(Attachment).where(Attachment.complaint_id == case.id)
        ):
            try:
                response = download_response(settings, attachment)
            except OSError as error:
                report.problems.append(
                    f"{case.reference}: {attachment.filename} cannot be opened ({error.strerror})."
                )
                continue
            if hashlib.sha256(response.body).hexdigest() != attachment.sha256:
                report.problems.append(f"{case.reference}: {attachment.filename} is damaged.")
            report.opened_files += 1
    folder = Path(settings.attachments_dir)
    for attachment in session.scalars(select(Attachment).order_by(Attachment.id)):
        path = folder / attachment.storage_key
        if not path.is_file():
            report.problems.append(
                f"Attachment {attachment.id} ({attachment.filename}) has no file in the uploads "
                f"backup ({attachment.storage_key})."
            )
        elif _sha256(path) != attachment.sha256:
            report.problems.append(
                f"Attachment {attachment.id} ({attachment.filename}) does not match its checksum."
            )
    return report


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
