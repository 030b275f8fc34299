"""The uses of a picture that parents answer for (a school setting), with the six defaults."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.consent.models import Purpose

# key, name, wording (version 1), whether naming the child beside the picture is asked apart.
DEFAULT_PURPOSES: tuple[tuple[str, str, str, bool], ...] = (
    (
        "displays",
        "Displays in school",
        "Photos of your child on walls and screens in school.",
        False,
    ),
    (
        "website",
        "School website",
        "Photos of your child on the school website. Anyone can see the website.",
        True,
    ),
    (
        "social_media",
        "School social media",
        "Photos of your child on the school's own social media pages.",
        True,
    ),
    (
        "newsletter",
        "Newsletter and prospectus",
        "Photos of your child in the school newsletter and the prospectus.",
        True,
    ),
    (
        "local_press",
        "Local press",
        "Photos of your child in local newspapers and on their websites.",
        True,
    ),
    ("video", "Video", "Videos of your child, such as a school play, shared by the school.", False),
)


def purposes(session: Session, *, include_retired: bool = False) -> list[Purpose]:
    """The school's purposes in order; the six defaults are added the first time they are read
    (a second request doing the same at once finds them there: the key is unique)."""
    statement = select(Purpose).order_by(Purpose.position, Purpose.id)
    found = list(session.scalars(statement))
    if not found:
        try:
            with session.begin_nested():
                for position, (key, name, wording, naming) in enumerate(DEFAULT_PURPOSES, 1):
                    session.add(
                        Purpose(
                            key=key,
                            name=name,
                            wording=wording,
                            version=1,
                            asks_naming=naming,
                            position=position,
                            active=True,
                        )
                    )
        except IntegrityError:
            pass
        found = list(session.scalars(statement))
    return found if include_retired else [p for p in found if p.active]
