"""Finding pupils on the register, and what a pupil's page shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlmodel import Session

from portal.consent.models import Contact, Pupil, PupilContact

MAX_LISTED = 200


def classes(session: Session) -> list[str]:
    """The classes of pupils on roll, in order."""
    statement = select(Pupil.class_name).where(Pupil.on_roll).distinct().order_by(Pupil.class_name)
    return list(session.scalars(statement))


def find_pupils(
    session: Session, *, name: str = "", class_name: str = "", include_left: bool = False
) -> tuple[list[Pupil], int]:
    """Pupils whose names start with or contain each word typed, in a class if one is chosen;
    at most MAX_LISTED, with how many matched in all."""
    statement = select(Pupil)
    if not include_left:
        statement = statement.where(Pupil.on_roll)
    if class_name:
        statement = statement.where(Pupil.class_name == class_name)
    for word in name.split()[:5]:
        pattern = "%" + word[:50].lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        statement = statement.where(
            or_(
                func.lower(Pupil.legal_first_name).like(pattern),
                func.lower(Pupil.legal_last_name).like(pattern),
                func.lower(Pupil.preferred_name).like(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Pupil.class_name, Pupil.legal_last_name, Pupil.legal_first_name).limit(
            MAX_LISTED
        )
    )
    return list(rows), total


@dataclass(frozen=True)
class ContactLine:
    contact: Contact
    link: PupilContact


def contacts_of(session: Session, pupil: Pupil, *, current_only: bool = True) -> list[ContactLine]:
    statement = (
        select(Contact, PupilContact)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .where(PupilContact.pupil_id == pupil.id)
        .order_by(PupilContact.priority, Contact.id)
    )
    if current_only:
        statement = statement.where(PupilContact.current)
    return [ContactLine(contact, link) for contact, link in session.execute(statement)]
