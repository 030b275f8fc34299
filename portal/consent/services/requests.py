"""Asking families for their answers: one email per parent or carer, naming their children.

Staff choose a class or a year group and the purposes to ask about. Every pupil on roll in it
with no current answer for any of those purposes (none yet, or the last has run out) is asked:
each of their contacts with parental responsibility and an email address gets one email, however
many of their children are in the group. Pupils none of whose such contacts has an email address
are listed for a letter home. The preview sends nothing; sending checks everything again.

A class may be sent a request only once per interval (`consent_settings.request_interval_days`,
7 days by default). Each class's last request is one `ConsentRequestClass` row, claimed by a
conditional update (or its first insert), so two staff pressing "send" at once send once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.consent.models import (
    ConsentRequest,
    ConsentRequestClass,
    Contact,
    Pupil,
    PupilContact,
    Purpose,
)
from portal.consent.services.flags import settings_of
from portal.consent.services.reports import Group, Unanswered, classes_in, pupils_in, unanswered
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import InvalidAddress, normalised_address, queue_mail
from portal.school.services import school_of
from portal.wording.rendering import Rendered
from portal.wording.services import render as render_wording

SENT_TAG = "consent:request:sent"
# Where the email sends a parent: the photos page, where they ask for a link to sign in.
PHOTOS_PATH = "/photos"


class RequestRefused(Exception):
    """The request cannot be sent; the message says why (and when the last one went)."""


def names_in_words(names: Sequence[str]) -> str:
    """Names joined as a sentence says them: "A", "A and B", "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def consent_request_email(
    session: Session,
    *,
    base_url: str,
    recipient_name: str,
    children: Sequence[str],
    purposes: Sequence[Purpose],
) -> Rendered:
    """The email to one parent or carer, in the school's wording (`consent-request`). Its link
    is the portal's photos page; this is the one place that says so."""
    return render_wording(
        session,
        "consent-request",
        {
            "recipient_name": recipient_name,
            "children": names_in_words(list(children)),
            "purposes": names_in_words([p.name.lower() for p in purposes]),
            "photos_link": base_url.rstrip("/") + PHOTOS_PATH,
        },
    )


@dataclass(frozen=True)
class Family:
    """One parent or carer to email, and the children in the group it is about."""

    contact: Contact
    children: list[Pupil]


@dataclass(frozen=True)
class Unreachable:
    """A pupil to ask by letter: no contact with parental responsibility has an email address
    (`contacts` names those without one; empty when there is nobody with it at all)."""

    pupil: Pupil
    contacts: list[str]


@dataclass(frozen=True)
class LastRequest:
    class_name: str
    sent_at: datetime
    next_allowed: datetime


@dataclass(frozen=True)
class RequestPreview:
    group: Group
    purposes: list[Purpose]
    classes: list[str]
    pupils: list[Unanswered]
    families: list[Family]
    no_email: list[Unreachable]
    too_soon: LastRequest | None

    @property
    def may_send(self) -> bool:
        return bool(self.families) and self.too_soon is None


def _email_or_none(contact: Contact) -> str | None:
    if not contact.email:
        return None
    try:
        return normalised_address(contact.email)
    except InvalidAddress:
        return None


def _interval(session: Session) -> timedelta:
    return timedelta(days=max(settings_of(session).request_interval_days, 0))


def last_request(session: Session, classes: Sequence[str], at: datetime) -> LastRequest | None:
    """The latest request to any of `classes` still inside the interval, if any."""
    if not classes:
        return None
    interval = _interval(session)
    row = session.execute(
        select(ConsentRequestClass.class_name, ConsentRequestClass.sent_at)
        .where(
            ConsentRequestClass.class_name.in_(list(classes)),  # type: ignore[attr-defined]
            ConsentRequestClass.sent_at > at - interval,
        )
        .order_by(ConsentRequestClass.sent_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    if row is None:
        return None
    return LastRequest(row.class_name, row.sent_at, row.sent_at + interval)


def preview(
    session: Session, group: Group, purposes: Sequence[Purpose], at: datetime
) -> RequestPreview:
    """Who would be emailed, and who needs a letter: nothing is written."""
    pupils = pupils_in(session, group)
    asked = unanswered(session, pupils, purposes, at)
    ids = [line.pupil.id for line in asked]
    links: dict[int, list[Contact]] = {}
    if ids:
        statement = (
            select(PupilContact.pupil_id, Contact)
            .join(Contact, Contact.id == PupilContact.contact_id)
            .where(
                PupilContact.pupil_id.in_(ids),  # type: ignore[attr-defined]
                PupilContact.current,
                PupilContact.parental_responsibility,
            )
            .order_by(PupilContact.priority, Contact.id)
        )
        for pupil_id, contact in session.execute(statement):
            links.setdefault(pupil_id, []).append(contact)
    families: dict[int, Family] = {}
    no_email: list[Unreachable] = []
    for line in asked:
        contacts = links.get(line.pupil.id, [])  # type: ignore[arg-type]
        reachable = [c for c in contacts if _email_or_none(c)]
        if not reachable:
            no_email.append(Unreachable(line.pupil, [c.name for c in contacts]))
        for contact in reachable:
            families.setdefault(contact.id, Family(contact, [])).children.append(line.pupil)  # type: ignore[arg-type]
    classes = classes_in(pupils)
    return RequestPreview(
        group=group,
        purposes=list(purposes),
        classes=classes,
        pupils=asked,
        families=sorted(families.values(), key=lambda f: (f.contact.name.lower(), f.contact.id)),
        no_email=no_email,
        too_soon=last_request(session, classes, at),
    )


def _too_soon(session: Session, class_name: str, at: datetime) -> RequestRefused:
    last = last_request(session, [class_name], at)
    if last is None:
        return RequestRefused(
            f"A request to the families of {class_name} was sent a moment ago. "
            "Check the reports page before sending another"
        )
    return RequestRefused(
        f"A request to the families of {class_name} went on {_when(last.sent_at)}. "
        f"You can send another from {_when(last.next_allowed)}"
    )


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M}"


def _claim(session: Session, class_name: str, request: ConsentRequest, at: datetime) -> None:
    """Take the class's turn: a conditional update of its row, or the row's first insert. Two
    requests at once: the second waits for the first's row and finds it too recent."""
    claimed = session.execute(
        update(ConsentRequestClass)
        .where(
            ConsentRequestClass.class_name == class_name,
            ConsentRequestClass.sent_at <= at - _interval(session),
        )
        .values(request_id=request.id, sent_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed == 1:
        return
    exists = session.scalar(
        select(ConsentRequestClass.class_name).where(ConsentRequestClass.class_name == class_name)
    )
    if exists is not None:
        raise _too_soon(session, class_name, at)
    try:
        with session.begin_nested():
            session.add(
                ConsentRequestClass(class_name=class_name, request_id=request.id, sent_at=at)
            )
            session.flush()
    except IntegrityError:
        raise _too_soon(session, class_name, at) from None


def send_request(
    session: Session,
    user: StaffUser,
    group: Group,
    purposes: Sequence[Purpose],
    *,
    base_url: str,
) -> ConsentRequest:
    """Email every family the preview lists (worked out again now), record the request, and take
    each class's turn. Refused, writing nothing the caller keeps, when a class had a request
    inside the interval or nobody can be emailed. The caller commits (or rolls back)."""
    now = now_of(session)
    shown = preview(session, group, purposes, now)
    if shown.too_soon is not None:
        raise _too_soon(session, shown.too_soon.class_name, now)
    if not shown.families:
        if shown.pupils:
            raise RequestRefused(
                "No family to ask has an email address. Print the list and send letters home"
            )
        raise RequestRefused(f"Every family in {group.label} has answered: there is nobody to ask")
    request = ConsentRequest(
        sent_by_user_id=user.id,  # type: ignore[arg-type]
        sent_at=now,
        group_label=group.label[:80],
        purposes=",".join(p.key for p in purposes)[:400],
        pupils=len(shown.pupils),
        families=len(shown.families),
        no_email=len(shown.no_email),
    )
    session.add(request)
    session.flush()
    for class_name in shown.classes:
        _claim(session, class_name, request, now)
    school = school_of(session)
    for family in shown.families:
        message = consent_request_email(
            session,
            base_url=base_url,
            recipient_name=family.contact.name,
            children=[child.name for child in family.children],
            purposes=purposes,
        )
        queue_mail(
            session,
            to=_email_or_none(family.contact) or "",
            subject=message.subject,
            body_text=message.body + f"\n\n{school.name}\n{school.contact_phone}\n",
            related=("consent_request", str(request.id)),
        )
    record_event(
        session,
        subject_type="consent_request",
        subject_id=request.id,
        tag=SENT_TAG,
        actor=Actor.staff(user),
        to_value=group.value[:80],
        detail={
            "families": request.families,
            "pupils": request.pupils,
            "no_email": request.no_email,
            "purposes": [p.key for p in purposes],
        },
    )
    return request


@dataclass(frozen=True)
class SentRequest:
    request: ConsentRequest
    sent_by: str
    purposes: list[str]


def recent_requests(session: Session, limit: int = 20) -> list[SentRequest]:
    """The latest requests, newest first, with who sent them and the purposes' names."""
    names = {p.key: p.name for p in session.scalars(select(Purpose))}
    statement = (
        select(ConsentRequest, StaffUser.name)
        .join(StaffUser, StaffUser.id == ConsentRequest.sent_by_user_id)  # type: ignore[arg-type]
        .order_by(ConsentRequest.sent_at.desc(), ConsentRequest.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    )
    return [
        SentRequest(request, name, [names.get(k, k) for k in request.purposes.split(",") if k])
        for request, name in session.execute(statement)
    ]


def sent_request(session: Session, request_id: int) -> SentRequest | None:
    found = session.execute(
        select(ConsentRequest, StaffUser.name)
        .join(StaffUser, StaffUser.id == ConsentRequest.sent_by_user_id)  # type: ignore[arg-type]
        .where(ConsentRequest.id == request_id)
    ).first()
    if found is None:
        return None
    request, name = found
    names = {p.key: p.name for p in session.scalars(select(Purpose))}
    return SentRequest(request, name, [names.get(k, k) for k in request.purposes.split(",") if k])
