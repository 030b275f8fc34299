"""Who is told when someone can now read complaints: the head teacher and the chair of governors.

The staff accounts tell every installed domain of the roles they give (`Domain.on_roles_given`);
this is the complaints domain's answer, so that the accounts know nothing of cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from sqlalchemy import func, select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.clock import SCHOOL_TIME
from portal.complaints.models import About, CaseExclusion, Complaint
from portal.db import now_of
from portal.history import Actor, record_event
from portal.mail import queue_mail
from portal.wording.services import render as render_wording

# Every role but admin reads cases (office triages, head and chair handle, clerk and governors sit
# on panels), and so will any role added later unless it is listed here as one that does not.
ROLES_WITHOUT_CASES = frozenset({Role.admin})


def case_reading(roles: Iterable[Role]) -> set[Role]:
    return {Role(role) for role in roles} - ROLES_WITHOUT_CASES


def _subjects_of_cases(session: Session) -> tuple[set[int], bool]:
    """Who a case is about: the staff named in cases, and whether any case is about the head."""
    named = set(
        session.scalars(
            select(Complaint.about_user_id).where(Complaint.about_user_id.is_not(None)).distinct()
        )
    )
    # Everyone kept out of a case, by the parent's own words or at triage, counts as named.
    named |= set(session.scalars(select(CaseExclusion.user_id).distinct()))
    about_head = session.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.about == About.head)
    )
    return {int(user_id) for user_id in named}, bool(about_head)


def overseers(session: Session, grantee: StaffUser) -> list[StaffUser]:
    """Who is told that `grantee` can now read cases: the head teacher and the chair of governors.

    Never the person a case is about (a head with a complaint about them is not told; the chair
    is), and never the grantee themselves (the notice is a second pair of eyes, so a head or chair
    who gives themselves another role is reported to the other). When neither can be told, the
    other active administrators are, so that someone always is.
    """
    named, about_head = _subjects_of_cases(session)

    def may_be_told(user: StaffUser) -> bool:
        if user.id == grantee.id or user.id in named:
            return False
        return not (about_head and user.has_role(Role.head))

    active = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )
    chosen = [u for u in active if u.has_role(Role.head, Role.chair) and may_be_told(u)]
    if not chosen:
        chosen = [u for u in active if u.has_role(Role.admin) and may_be_told(u)]
    return chosen


def tell_overseers(
    session: Session, user: StaffUser, roles: Iterable[Role], *, actor: Actor
) -> None:
    """Email the overseers (through the outbox, in the caller's transaction) when `user` is given
    a role that reads cases. The portal's own set-up (demo data, the test factories) is silent."""
    given = case_reading(roles)
    if not given or actor.kind == "system":
        return
    told = overseers(session, user)
    labels = ", ".join(role.label for role in Role if role in given)
    when = now_of(session).replace(tzinfo=UTC).astimezone(SCHOOL_TIME)
    by = "themselves" if actor.user_id == user.id else actor.label
    for person in told:
        message = render_wording(
            session,
            "access-notice",
            {
                "recipient_name": person.name,
                "person_name": user.name,
                "person_email": user.email,
                "roles": labels,
                "given_by": by,
                "given_at": f"{when:%d %B %Y at %H:%M}",
            },
        )
        queue_mail(
            session,
            to=person.email,
            subject=message.subject,
            body_text=message.body + "\n",
            related=("staff_user", str(user.id)),
        )
    record_event(
        session,
        subject_type="staff_user",
        subject_id=user.id,
        tag="account:access-notice",
        actor=Actor.system(),
        to_value=f"{len(told)} told" if told else "no one could be told",
        detail={"roles": sorted(given), "told": [person.id for person in told]},
    )


def roles_given(session: Session, user: StaffUser, roles: Iterable[Role], actor: Actor) -> None:
    """`Domain.on_roles_given` for the complaints domain."""
    tell_overseers(session, user, roles, actor=actor)
