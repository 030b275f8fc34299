"""The demo school, Brookfield Primary: staff in every role and the policy, so `make run` shows
everything at once. Later capabilities add their own demo cases here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.accounts.services import create_user
from portal.channel.demo import load_demo_news
from portal.complaints.demo import load_demo_cases
from portal.config import Settings
from portal.consent.demo import load_demo_confirmations, load_demo_pupils
from portal.guidance.services import publish_policy
from portal.mail import queue_mail
from portal.moderation.demo import load_demo_comments
from portal.school.demo import create_demo_school

DEMO_PARENT = "sarah.jones@example.com"  # mother of Millie (3B) and Lily (4M) in the register
DEMO_PASSWORD = "brookfield-demo-2026"  # noqa: S105 - printed for the demo on purpose

DEMO_STAFF: list[tuple[str, str, tuple[Role, ...]]] = [
    ("Priya Shah", "admin@brookfield-primary.example", (Role.admin,)),
    ("Janet Okafor", "office@brookfield-primary.example", (Role.office,)),
    ("David Morgan", "head@brookfield-primary.example", (Role.head,)),
    ("Helen Price", "chair@brookfield-primary.example", (Role.chair, Role.governor)),
    ("Tom Baxter", "clerk@brookfield-primary.example", (Role.clerk,)),
    ("Aisha Rahman", "governor@brookfield-primary.example", (Role.governor,)),
    ("Mark Ellis", "governor2@brookfield-primary.example", (Role.governor,)),
    ("Sarah Lee", "governor3@brookfield-primary.example", (Role.governor,)),
    ("Daniel Mensah", "deputy@brookfield-primary.example", (Role.senior_leader,)),
]

POLICY_V1 = """\
# About this policy

This policy is about how staff, governors and parents use the internet and social media when it
touches school life. We treat behaviour online the same as behaviour anywhere else.

# How the school speaks to you

The school shares news through its prospectus, its website, newsletters, letters home and by
talking with you. Anything posted for the school is checked and approved by the head teacher first.

# What we ask of parents and carers

- Only post photos or videos of your own children. Other children may need to stay out of sight
  online to be safe.
- If you are unhappy about something, use the school's Complaints Procedure. Please do not post
  complaints on social media, where they cannot be looked into or put right.
- Do not post comments that are unkind or untrue about anyone in the school community.

# Staff and governors

Staff keep their personal accounts private, never add pupils as contacts, and only contact pupils
through school systems for school reasons.
"""

POLICY_V2 = (
    POLICY_V1.replace(
        "talking with you.", "talking with you. This parent portal is now one of those channels."
    )
    + """
# Comments on the school's news

Comments on school news in the parent portal are read by a member of staff before anyone else can
see them. We do not publish comments that name other children, share personal details, or are
really complaints. We will tell you why, and point you to the right place.
"""
)


def load_demo(session: Session, settings: Settings, *, only_if_empty: bool = False) -> bool:
    """Create the demo school. Returns False when staff already exist and `only_if_empty` is set."""
    has_staff = session.scalar(select(func.count()).select_from(StaffUser)) or 0
    if has_staff and only_if_empty:
        return False
    create_demo_school(session, settings.term_dates_file)
    for name, email, roles in DEMO_STAFF:
        if session.scalar(select(StaffUser).where(StaffUser.email == email)) is None:
            create_user(session, email=email, name=name, password=DEMO_PASSWORD, roles=roles)
    admin = session.scalar(select(StaffUser).where(StaffUser.email == DEMO_STAFF[0][1]))
    publish_policy(
        session,
        version="1",
        effective_on=date(2025, 9, 1),
        body_markdown=POLICY_V1,
        summary_of_changes="First version.",
        user=admin,
    )
    publish_policy(
        session,
        version="2",
        effective_on=date(2026, 9, 1),
        body_markdown=POLICY_V2,
        summary_of_changes="Adds the parent portal and how comments on school news are checked.",
        user=admin,
    )
    session.flush()
    load_demo_cases(session, settings)
    load_demo_pupils(session)
    load_demo_confirmations(session, settings)
    load_demo_news(session, settings)
    load_demo_comments(session, settings)  # on the demo posts
    queue_mail(
        session,
        to="office@brookfield-primary.example",
        subject="The parent portal is ready",
        body_text=(
            "The parent portal for Brookfield Primary School is set up.\n\n"
            f"Staff sign in at {settings.base_url}/staff/login."
        ),
    )
    session.commit()
    return True


def print_sign_ins(session: Session, password: str, echo: Callable[[str], None]) -> None:
    echo("")
    echo("Demo staff sign-ins (password for all: " + password + "):")
    for name, email, roles in DEMO_STAFF:
        labels = ", ".join(role.label for role in roles)
        echo(f"  {email:<40} {name:<14} {labels}")
    echo("")
    echo("Demo parent (no password: photo consent at /photos sends a one-time sign-in link;")
    echo("the emails wait in the staff outbox). For a link at once:")
    echo(f"  portal parent-link {DEMO_PARENT}")
    echo("")
