"""The demo school's pupil register: two classes of made-up pupils with their parents and
carers (Sarah Jones, mother of Millie and Lily, is the demo parent: `portal parent-link
sarah.jones@example.com` prints her a sign-in link), answers of every kind (some given online,
the rest with the scanned form or the note of the call), a pupil who has left, one restricted
pupil (its reason seen by the head and office), a photo check now out of date, an import
waiting to be confirmed, and a request for answers sent to Year 4 two days ago (Year 4 cannot be
asked again yet; Year 3 can), and parents' confirmations with a sports day waiting on some
of them."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import school_today
from portal.config import Settings
from portal.consent.models import (
    AnswerHow,
    Confirmation,
    ConsentEvidence,
    ConsentRecord,
    ConsentRequest,
    ConsentRequestClass,
    Contact,
    Document,
    FlagKind,
    ImportStatus,
    PhotoCheck,
    PhotoCheckPupil,
    Pupil,
    PupilContact,
    PupilImport,
    SchoolEvent,
)
from portal.consent.services.documents import current_version
from portal.consent.services.events import create_event, send_event
from portal.consent.services.evidence import keep_scan
from portal.consent.services.flags import set_flag
from portal.consent.services.photo_check import photo_check
from portal.consent.services.purposes import purposes
from portal.consent.services.register import remember_mapping
from portal.consent.services.reports import YEAR, Group
from portal.consent.services.requests import preview
from portal.consent.services.settings import PurposeChange, add_purpose, change_purpose
from portal.db import now_of

_EVERY = ("displays", "website", "social_media", "newsletter", "local_press", "video")

# mis id, first, last, preferred, class, born, contacts (name, email, relationship, PR)
_PUPILS: list[tuple[str, str, str, str, str, date, list[tuple[str, str | None, str, bool]]]] = [
    (
        "B3001",
        "Amelia",
        "Jones",
        "Millie",
        "3B",
        date(2017, 3, 21),
        [
            ("Sarah Jones", "sarah.jones@example.com", "Mother", True),
            ("Tom Jones", "tom.jones@example.com", "Father", True),
        ],
    ),
    (
        "B3002",
        "Zoë",
        "O'Neill",
        "",
        "3B",
        date(2016, 11, 2),
        [
            ("Róisín O'Neill", "roisin.oneill@example.com", "Mother", True),
        ],
    ),
    (
        "B3003",
        "Ibrahim",
        "Hassan",
        "",
        "3B",
        date(2017, 1, 14),
        [
            ("Amira Hassan", "amira.hassan@example.com", "Mother", True),
            ("Yusuf Hassan", "yusuf.hassan@example.com", "Father", True),
        ],
    ),
    (
        "B3004",
        "Oliver",
        "Brown",
        "Ollie",
        "3B",
        date(2016, 9, 30),
        [
            ("Kate Brown", "kate.brown@example.com", "Foster carer", False),
        ],
    ),
    (
        "B3005",
        "Maya",
        "Patel",
        "",
        "3B",
        date(2017, 6, 5),
        [
            ("Nisha Patel", "nisha.patel@example.com", "Mother", True),
        ],
    ),
    (
        "B3007",
        "Freya",
        "Evans",
        "",
        "3B",
        date(2017, 4, 12),
        [
            ("Gwen Evans", None, "Mother", True),
        ],
    ),
    (
        "B4001",
        "Kwame",
        "Mensah",
        "",
        "4M",
        date(2015, 7, 9),
        [
            ("Ama Mensah", "ama.mensah@example.com", "Grandmother", False),
            ("Kofi Mensah", "kofi.mensah@example.com", "Father", True),
        ],
    ),
    (
        "B4002",
        "Lily",
        "Jones",
        "",
        "4M",
        date(2015, 12, 1),
        [
            ("Sarah Jones", "sarah.jones@example.com", "Mother", True),
            ("Tom Jones", "tom.jones@example.com", "Father", True),
        ],
    ),
    (
        "B4003",
        "Harry",
        "Wilson",
        "",
        "4M",
        date(2016, 2, 18),
        [
            ("Emma Wilson", "emma.wilson@example.com", "Mother", True),
            ("Dan Wilson", None, "Stepfather", False),
        ],
    ),
    (
        "B4004",
        "Sofia",
        "Nowak",
        "",
        "4M",
        date(2015, 10, 23),
        [
            ("Agnieszka Nowak", "agnieszka.nowak@example.com", "Mother", True),
        ],
    ),
]


def load_demo_pupils(session: Session) -> None:
    """Add the demo register (once: nothing is added when pupils exist)."""
    if session.scalar(select(Pupil.id).limit(1)) is not None:
        return
    purposes(session)
    contacts: dict[str, Contact] = {}
    made: dict[str, Pupil] = {}
    for mis_id, first, last, preferred, class_name, born, people in _PUPILS:
        pupil = Pupil(
            mis_id=mis_id,
            legal_first_name=first,
            legal_last_name=last,
            preferred_name=preferred,
            year_group="Year 3" if class_name == "3B" else "Year 4",
            class_name=class_name,
            date_of_birth=born,
        )
        session.add(pupil)
        session.flush()
        made[mis_id] = pupil
        for priority, (name, email, relationship, responsibility) in enumerate(people, 1):
            contact = contacts.get(email or "") if email else None
            if contact is None:
                contact = Contact(name=name, email=email)
                session.add(contact)
                session.flush()
                if email:
                    contacts[email] = contact
            session.add(
                PupilContact(
                    pupil_id=pupil.id,
                    contact_id=contact.id,
                    relationship=relationship,
                    parental_responsibility=responsibility,
                    priority=priority,
                    current=True,
                )
            )
    left = Pupil(
        mis_id="B4005",
        legal_first_name="Jack",
        legal_last_name="Taylor",
        year_group="Year 4",
        class_name="4M",
        date_of_birth=date(2015, 8, 8),
        on_roll=False,
        left_on=date(2026, 7, 22),
    )
    session.add(left)
    session.flush()
    head = session.scalar(
        select(StaffUser).where(StaffUser.email == "head@brookfield-primary.example")
    )
    office = session.scalar(
        select(StaffUser).where(StaffUser.email == "office@brookfield-primary.example")
    )
    _demo_answers(session, office, made, contacts)
    if office is not None:
        _demo_check_and_import(session, office, made)
        _demo_request(session, office)
    admin = session.scalar(
        select(StaffUser).where(StaffUser.email == "admin@brookfield-primary.example")
    )
    if admin is not None:
        _demo_settings(session, admin)
    if head is not None:
        set_flag(
            session,
            head,
            made["B3004"],
            FlagKind.looked_after,
            "Looked after by the council. His birth family must not learn which school he is at.",
        )


# pupil, contact email, purpose keys answered (yes, naming) or no, and how many days ago.
_ANSWERS: list[tuple[str, str, dict[str, tuple[bool, bool | None]], int]] = [
    ("B3001", "sarah.jones@example.com", {k: (True, True) for k in _EVERY}, 20),
    ("B3001", "tom.jones@example.com", {k: (True, True) for k in _EVERY}, 19),
    (
        "B3002",
        "roisin.oneill@example.com",
        {"displays": (True, None), "website": (False, None)},
        15,
    ),
    ("B3003", "amira.hassan@example.com", {"website": (False, None)}, 12),
    ("B3003", "yusuf.hassan@example.com", {"website": (True, False), "displays": (True, None)}, 11),
    ("B3005", "nisha.patel@example.com", {"social_media": (True, True)}, 30),
    ("B3005", "nisha.patel@example.com", {"social_media": (False, None)}, 3),
    ("B4001", "kofi.mensah@example.com", {k: (True, False) for k in _EVERY}, 400),
    ("B3004", "kate.brown@example.com", {"website": (True, True)}, 10),
]


# Parents who answered on the portal themselves (the rest are paper forms and phone calls).
_ONLINE = {"roisin.oneill@example.com", "yusuf.hassan@example.com"}


def _how(email: str, days_ago: int) -> AnswerHow:
    if email in _ONLINE:
        return AnswerHow.online
    return AnswerHow.paper if days_ago % 2 else AnswerHow.phone


def _demo_answers(
    session: Session,
    office: StaffUser | None,
    pupils: dict[str, Pupil],
    contacts: dict[str, Contact],
) -> None:
    """Answers of every kind: given, refused, parents who disagree, a withdrawal, a lapsed
    answer from last school year, and one from a carer without parental responsibility."""
    by_key = {p.key: p for p in purposes(session)}
    now = now_of(session)
    for mis_id, email, given, days_ago in _ANSWERS:
        how = _how(email, days_ago)
        kept = (
            _demo_evidence(session, office, pupils[mis_id], contacts[email], how, days_ago)
            if office is not None and how is not AnswerHow.online
            else None
        )
        for key, (answer, naming) in given.items():
            purpose = by_key[key]
            session.add(
                ConsentRecord(
                    pupil_id=pupils[mis_id].id,
                    purpose_id=purpose.id,
                    contact_id=contacts[email].id,
                    answer=answer,
                    naming=naming if answer and purpose.asks_naming else None,
                    given_at=now - timedelta(days=days_ago),
                    how=how,
                    entered_by_user_id=None
                    if how is AnswerHow.online
                    else (office.id if office else None),
                    wording_version=purpose.version,
                    evidence_id=kept.id if kept is not None else None,
                )
            )
    session.flush()


_DEMO_FILE = (
    "UPN,Legal Forename,Legal Surname,Preferred Forename,Year,Reg Group,DOB\r\n"
    "B3001,Amelia,Jones,Millie,Year 3,3B,21/03/2017\r\n"
    "B3006,Noah,Clarke,,Year 3,3B,14/02/2017\r\n"
)
_DEMO_MAPPING = {
    "pupil_id": "UPN",
    "legal_first_name": "Legal Forename",
    "legal_last_name": "Legal Surname",
    "preferred_name": "Preferred Forename",
    "year_group": "Year",
    "class_name": "Reg Group",
    "date_of_birth": "DOB",
}


def _demo_check_and_import(session: Session, office: StaffUser, pupils: dict[str, Pupil]) -> None:
    """A photo check made ten days ago, before Maya's parent withdrew (so it shows out of date),
    and a small import uploaded but not confirmed yet."""
    social = next(p for p in purposes(session) if p.key == "social_media")
    then = now_of(session) - timedelta(days=10)
    lines = photo_check(session, [pupils["B3001"].id, pupils["B3005"].id], social, then)
    check = PhotoCheck(checked_by_user_id=office.id, checked_at=then, purpose_id=social.id)
    session.add(check)
    session.flush()
    for line in lines:
        session.add(
            PhotoCheckPupil(
                check_id=check.id,
                pupil_id=line.pupil.id,
                allowed=line.decision.allowed,
                why=line.decision.why,
                may_name=line.decision.may_name,
            )
        )
    remember_mapping(session, _DEMO_MAPPING)
    session.add(
        PupilImport(
            uploaded_by_user_id=office.id,
            uploaded_at=now_of(session),
            filename="new-starters.csv",
            content=_DEMO_FILE.encode("utf-8"),
            full=False,
            status=ImportStatus.checked,
        )
    )
    session.flush()


def _demo_request(session: Session, office: StaffUser) -> None:
    """Year 4's request for answers, recorded as sent two days ago (its emails are not in the
    demo outbox: only the record, and each class's turn, are kept)."""
    website = next(p for p in purposes(session) if p.key == "website")
    sent_at = now_of(session) - timedelta(days=2)
    shown = preview(session, Group(YEAR, "Year 4"), [website], sent_at)
    request = ConsentRequest(
        sent_by_user_id=office.id,  # type: ignore[arg-type]
        sent_at=sent_at,
        group_label="Year 4",
        purposes=website.key,
        pupils=len(shown.pupils),
        families=len(shown.families),
        no_email=len(shown.no_email),
    )
    session.add(request)
    session.flush()
    for class_name in shown.classes:
        session.add(
            ConsentRequestClass(class_name=class_name, request_id=request.id, sent_at=sent_at)  # type: ignore[arg-type]
        )
    session.flush()


def demo_scan(pupil: Pupil, contact: Contact) -> bytes:
    """A made-up scanned consent form: a white page with the form's words, as a PNG."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (620, 360), 255)
    draw = ImageDraw.Draw(image)
    lines = [
        "Brookfield Primary School",
        "Photo consent form",
        "",
        f"Child: {pupil.name}",
        f"Parent or carer: {contact.name}",
        "",
        "Displays in school:  [x] Yes   [ ] No",
        "School website:      [x] Yes   [ ] No",
        "",
        "Signed: ______________________",
    ]
    for number, line in enumerate(lines):
        draw.text((40, 30 + number * 30), line, fill=0)
    draw.rectangle((10, 10, 609, 349), outline=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _demo_evidence(
    session: Session,
    office: StaffUser,
    pupil: Pupil,
    contact: Contact,
    how: AnswerHow,
    days_ago: int,
) -> ConsentEvidence:
    """The scan of a paper form, or the note of a call, behind each demo answer."""
    when = now_of(session) - timedelta(days=days_ago)
    if how == AnswerHow.paper:
        kept = keep_scan(
            session, office, pupil, f"consent-form-{pupil.mis_id}.png", demo_scan(pupil, contact)
        )
        kept.added_at = when
    else:
        kept = ConsentEvidence(
            pupil_id=pupil.id,
            how=AnswerHow.phone,
            call_note=f"{contact.name} rang the office on {when.day} {when:%B} at 9:15.",
            added_by_user_id=office.id,
            added_at=when,
        )
    session.add(kept)
    session.flush()
    return kept


def _demo_settings(session: Session, admin: StaffUser) -> None:
    """The consent settings page with a history: the website's wording made clearer (version
    2, answers already given stay valid) and a use added for school trips."""
    website = next(p for p in purposes(session) if p.key == "website")
    change_purpose(
        session,
        admin,
        website.id,  # type: ignore[arg-type]
        PurposeChange(
            name=website.name,
            wording=(
                "Photos of your child on the school website. Anyone in the world can see the "
                "website, so we never give a child's full name."
            ),
            asks_naming=website.asks_naming,
            ask_again=False,
        ),
        seen_revision=website.revision,
    )
    add_purpose(
        session,
        admin,
        "School trips",
        "Photos of your child on school trips, shown to parents at the trip's evening.",
        False,
    )


# Who has confirmed what (days ago): some of each, so the staff page shows both.
_CONFIRMED: list[tuple[str, Document, int]] = [
    ("roisin.oneill@example.com", Document.photo_guidance, 6),
    ("amira.hassan@example.com", Document.photo_guidance, 5),
    ("kofi.mensah@example.com", Document.photo_guidance, 4),
    ("roisin.oneill@example.com", Document.online_policy, 6),
    ("nisha.patel@example.com", Document.online_policy, 2),
]


def _weekday_after(day: date, weekday: int) -> date:
    """The first `weekday` (Monday 0) on or after `day`: events fall on school days."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def load_demo_confirmations(session: Session, settings: Settings) -> None:
    """Some parents confirmed the photo guidance and "Being online", some not; Year 3's sports
    day sent (the details to those who confirmed, a request to confirm first to the others),
    and a Year 4 trip not sent yet. Once only: nothing is added when an event exists."""
    if session.scalar(select(SchoolEvent.id).limit(1)) is not None:
        return
    office = session.scalar(
        select(StaffUser).where(StaffUser.email == "office@brookfield-primary.example")
    )
    if office is None:
        return
    now = now_of(session)
    for email, document, days_ago in _CONFIRMED:
        contact = session.scalar(select(Contact).where(Contact.email == email))
        version = current_version(session, document)
        if contact is None or version is None:
            continue
        session.add(
            Confirmation(
                contact_id=contact.id,
                document=document.value,
                version=version,
                confirmed_at=now - timedelta(days=days_ago),
            )
        )
    session.flush()
    sports_day = create_event(
        session,
        office,
        title="Year 3 sports day",
        held_on=_weekday_after(school_today(now) + timedelta(days=14), 4),
        place="The school field",
        details=(
            "Races start at 1:30pm and finish by 3pm. Families are welcome to watch from the "
            "benches by the field. Please bring your child a sun hat and a water bottle."
        ),
        classes=[],
        year_groups=["Year 3"],
        needs_photo_guidance=True,
    )
    send_event(session, settings, office, sports_day)
    create_event(
        session,
        office,
        title="Year 4 trip to the museum",
        held_on=_weekday_after(school_today(now) + timedelta(days=20), 1),
        place="The Higgins Museum, Bedford",
        details="The coach leaves at 9am and is back by 3pm. Please send a packed lunch.",
        classes=["4M"],
        year_groups=[],
        needs_photo_guidance=False,
    )
