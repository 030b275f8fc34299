"""Brookfield Primary School, the fictional school `portal demo` and the tests start with."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlmodel import Session

from portal.clock import clock_of
from portal.school.models import SchoolProfile
from portal.school.services import (
    DEFAULT_CATEGORIES,
    DEFAULT_OUT_OF_SCOPE,
    forget_school,
    profile_row,
    read_term_dates_file,
    replace_term_dates,
)

BROOKFIELD = {
    "name": "Brookfield Primary School",
    "brand_colour": "#5b2a86",
    "contact_email": "office@brookfield-primary.example",
    "contact_phone": "01234 567890",
    "contact_address": "Brookfield Primary School, Mill Lane, Bedford MK40 1AA",
    "website_url": "https://brookfield-primary.example",
    "official_channels": [
        "The school website, brookfield-primary.example",
        "The prospectus",
        "The fortnightly newsletter",
        "Letters home, by email and in book bags",
    ],
    "letter_paragraphs": [
        {
            "title": "Meeting offered",
            "text": (
                "If it would help to talk this through, I would be glad to meet you. Please "
                "contact the school office to arrange a time that suits you."
            ),
        },
        {
            "title": "Further support",
            "text": (
                "Our Family Support Worker can also help. The school office can put you in touch."
            ),
        },
    ],
}


def create_demo_school(session: Session, term_dates_file: Path) -> SchoolProfile:
    """The demo school's profile and term dates, set up and ready (idempotent: an existing
    profile is kept as it is)."""
    row = profile_row(session)
    if row is not None:
        return row
    row = SchoolProfile(
        **BROOKFIELD,
        categories=list(DEFAULT_CATEGORIES),
        out_of_scope=[dict(entry) for entry in DEFAULT_OUT_OF_SCOPE],
    )
    session.add(row)
    session.flush()
    row.set_up_at = clock_of(session).now()
    terms, closures = read_term_dates_file(term_dates_file)
    reasons = _closure_reasons(term_dates_file)
    assert row.id is not None
    replace_term_dates(session, row.id, terms, [(day, reasons.get(day, "")) for day in closures])
    forget_school(session)
    return row


_CLOSURE_LINE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*,?\s*#\s*(.+?)\s*$")


def _closure_reasons(path: Path) -> dict[date, str]:
    """The demo file names each closure in a comment ("2026-09-01, # INSET"): keep the words."""
    reasons: dict[date, str] = {}
    for line in path.read_text().splitlines():
        found = _CLOSURE_LINE.match(line)
        if found:
            reasons[date.fromisoformat(found.group(1))] = found.group(2)[:120]
    return reasons
