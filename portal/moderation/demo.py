"""Demo comments, so `make run` shows the moderation pages at once: on the first public news post
(the channel's demo makes the posts; with none, there are no comments), comments waiting with
flags (a pupil's name, a phone number, one posted after the complaint offer), approved ones, one
approved with a name removed, one rejected, a reported one, a blocked commenter, and two comments
recorded from the school's Facebook page."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.channel.models import Post
from portal.channel.services.posts import public_clause
from portal.config import Settings
from portal.consent.models import Contact
from portal.db import now_of
from portal.moderation.models import (
    Comment,
    Commenter,
    ExternalAction,
    ExternalChannel,
    ExternalComment,
)
from portal.moderation.services import comments, decisions, external
from portal.moderation.services.commenters import Identity, commenter_for_contact
from portal.moderation.services.decisions import Action, Decision

_COMMENTS: list[tuple[str, str, str | None]] = [
    ("sarah.jones@example.com", "What a brilliant day, thank you to all the staff!", "approve"),
    ("tom.jones@example.com", "The relay race was the best bit.", "approve"),
    ("roisin.oneill@example.com", "Well done Maya Patel, so fast!", "redact"),
    ("amira.hassan@example.com", "Such a waste of time, what a stupid idea.", "reject"),
    ("nisha.patel@example.com", "Lovely photos. Proud of the whole class.", "approve"),
    ("sarah.jones@example.com", "Millie Jones and Ibrahim Hassan had a great time.", None),
    ("tom.jones@example.com", "Can someone share the photos? Text me on 07700 900123.", None),
]
_COMPLAINT = "The car park was unacceptable again and nobody listens when we complain."


def _contact(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email).limit(1))


def load_demo_comments(session: Session, settings: Settings) -> None:
    post = session.scalar(
        select(Post).where(public_clause(now_of(session))).order_by(Post.id).limit(1)
    )
    office = session.scalar(
        select(StaffUser).where(StaffUser.role_names.contains(Role.office.value)).limit(1)  # type: ignore[attr-defined]
    )
    if office is None or session.scalar(select(ExternalComment.id).limit(1)) is not None:
        return
    external.record(
        session,
        external.NewExternal(
            ExternalChannel.facebook,
            "https://www.facebook.com/brookfieldprimary/posts/1",
            "A. Parent",
            "Why was Millie Jones left out of the team photo? Disgraceful.",
            ExternalAction.hidden,
        ),
        office,
    )
    external.record(
        session,
        external.NewExternal(
            ExternalChannel.facebook,
            "",
            "",
            "Thank you for a lovely sports day!",
            ExternalAction.replied,
        ),
        office,
    )
    if post is None or session.scalar(select(Comment.id).limit(1)) is not None:
        return
    made: list[tuple[Comment, str | None]] = []
    for email, text, decision in _COMMENTS:
        contact = _contact(session, email)
        if contact is None:
            continue
        who = Identity(commenter_for_contact(session, contact), contact)
        sent = comments.send_comment(session, post, who, text, who.default_name())
        if sent.comment is not None:
            made.append((sent.comment, decision))
    roisin = _contact(session, "roisin.oneill@example.com")
    if roisin is not None:
        who = Identity(commenter_for_contact(session, roisin), roisin)
        comments.send_comment(session, post, who, _COMPLAINT, who.default_name(), post_anyway=True)
    for comment, decision in made:
        if decision == "approve":
            decisions.decide(session, settings, comment.id, Decision(Action.approve), office)
        elif decision == "redact":
            decisions.decide(session, settings, comment.id, Decision(Action.redact), office)
        elif decision == "reject":
            decisions.decide(
                session,
                settings,
                comment.id,
                Decision(Action.reject, "Please keep comments kind."),
                office,
            )
    approved = [c for c, d in made if d == "approve"]
    nisha = _contact(session, "nisha.patel@example.com")
    if approved and nisha is not None:
        comments.report(
            session, approved[0], commenter_for_contact(session, nisha), "This feels unfair."
        )
    blocked = Commenter(
        email="not.a.parent@example.com",
        display_name="Anon",
        created_at=now_of(session),
        confirmed_at=now_of(session),
    )
    session.add(blocked)
    session.flush()
    decisions.block(
        session, settings, blocked.id, Decision(Action.block, "Abusive comments."), office
    )
    session.flush()
