"""Demo cases in every state of the procedure, so `make run` shows the whole journey at once."""

from __future__ import annotations

from datetime import timedelta

from fpdf import FPDF
from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.complaints import attachments, services
from portal.complaints.bundle import build_bundle
from portal.complaints.models import About, Complaint, Outcome, Stage
from portal.complaints.services import Letter, NewComplaint, Triage
from portal.config import Settings
from portal.db import now_of

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _staff(session: Session, email: str) -> StaffUser:
    user = session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
    return user


def _case(
    session: Session,
    settings: Settings,
    *,
    days_ago: int,
    parent: tuple[str, str] | None,
    formal: bool = True,
    about: About = About.school,
    about_name: str = "",
    category: str = "Communication with the school",
    what: str,
    happened_days_ago: int | None = None,
    put_right: str = "",
) -> Complaint:
    now = now_of(session).replace(hour=10, minute=0, second=0, microsecond=0)
    received_at = now - timedelta(days=days_ago)
    happened = received_at.date() - timedelta(days=happened_days_ago or 3)
    name, email = parent or ("", "")
    new = NewComplaint(
        formal=formal,
        about=about,
        about_name=about_name,
        category=category,
        what_happened=what,
        happened_on=happened,
        done_so_far="I mentioned it to the class teacher at pick-up.",
        put_right=put_right or "I would like an explanation and to know it won't happen again.",
        anonymous=parent is None,
        parent_name=name,
        parent_email=email,
        child_name="" if parent is None else f"{name.split()[0]}'s child",
    )
    return services.submit(session, settings, new, now=received_at).complaint


def _triage(
    session: Session, settings: Settings, case: Complaint, office: StaffUser, **extra: object
) -> None:
    handler = services.eligible_handlers(session, case)[0]
    services.triage(
        session,
        settings,
        case,
        office,
        Triage(
            stage=Stage(case.stage),
            category=case.category,
            handler_id=handler.id,
            late_decision="investigate" if case.is_late else None,
            anonymous_decision="investigate" if case.anonymous else None,
            **extra,  # type: ignore[arg-type]
        ),
    )


STAGE1_LETTER = Letter(
    outcome=Outcome.partly_upheld,
    investigated=(
        "I spoke to Miss Hughes and the two lunchtime supervisors on duty, and read the incident "
        "log for that week."
    ),
    decision=(
        "Your son was pushed during lunch play. Staff dealt with it at the time, but we should "
        "have phoned you the same day and we did not. I am sorry for that."
    ),
    actions=(
        "Lunchtime staff will now record every incident on the same day, and the office will "
        "phone parents before home time."
    ),
)
PANEL_LETTER = Letter(
    outcome=Outcome.not_upheld,
    investigated=(
        "The panel read your complaint, the head teacher's letter and the school's uniform "
        "policy, and heard from you and from the head teacher."
    ),
    decision=(
        "The panel found that the uniform policy was applied fairly and the same way for every "
        "pupil, and that the school gave parents a term's notice of the change."
    ),
    actions="The school will remind parents of the second-hand uniform sale each September.",
)


def _paper(title: str, lines: list[str]) -> bytes:
    """A one-page PDF standing in for a paper someone sent the panel."""
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _panel_papers(session: Session, settings: Settings, case: Complaint, clerk: StaffUser) -> None:
    """Papers from both sides and a sent bundle, so the demo shows the whole of stage 2."""
    receipt = attachments.store(
        session,
        settings,
        filename="shoe-shop-receipt.pdf",
        content=_paper("Receipt", ["Black school shoes, size 4: 42.00 pounds", "Paid 2 October"]),
        complaint_id=case.id,
    )
    services.send_parent_papers(
        session,
        settings,
        case,
        "The receipt for the shoes I bought after he was sent home.",
        [receipt.id],
    )
    policy = attachments.store(
        session,
        settings,
        filename="uniform-policy-september-2026.pdf",
        content=_paper(
            "Uniform policy (September 2026)",
            [
                "Shoes should be black and plain.",
                "Families can ask the office for help with costs.",
            ],
        ),
        complaint_id=case.id,
    )
    services.add_school_papers(
        session, case, clerk, "The uniform policy the head teacher's letter refers to.", [policy.id]
    )
    pages = build_bundle(session, settings, case).pages
    services.send_bundle(session, settings, case, clerk, pages=pages)


def load_demo_cases(session: Session, settings: Settings) -> None:
    office = _staff(session, "office@brookfield-primary.example")
    head = _staff(session, "head@brookfield-primary.example")
    chair = _staff(session, "chair@brookfield-primary.example")
    clerk = _staff(session, "clerk@brookfield-primary.example")
    governors = [_staff(session, f"governor{n}@brookfield-primary.example") for n in ("", "2", "3")]

    _case(
        session,
        settings,
        days_ago=0,
        parent=("Lucy Fernandes", "lucy.fernandes@example.com"),
        formal=False,
        category="Food and lunchtimes",
        what=(
            "My daughter says she was told to sit on her own at lunch because she forgot her "
            "packed lunch bag, and she was upset all evening."
        ),
    )
    _case(
        session,
        settings,
        days_ago=1,
        parent=None,
        category="Premises and safety",
        what=(
            "The side gate on Mill Lane is often left open after drop-off. Children could walk "
            "out onto the road."
        ),
        happened_days_ago=150,
    )

    upcoming = _case(
        session,
        settings,
        days_ago=3,
        parent=("Marcus Bell", "marcus.bell@example.com"),
        category="Behaviour and bullying",
        what=(
            "My son Leo was pushed over in the playground at lunch on Monday and hurt his wrist. "
            "Nobody told me; I found out from him at bedtime."
        ),
    )
    attachments.store(
        session,
        settings,
        filename="photo-of-bruise-note.pdf",
        content=DEMO_PDF,
        complaint_id=upcoming.id,
    )
    _triage(session, settings, upcoming, office)
    services.add_note(
        session, upcoming, office, "Spoke to Miss Hughes: incident logged at 12:40, no call made."
    )

    overdue = _case(
        session,
        settings,
        days_ago=30,
        parent=("Priti Desai", "priti.desai@example.com"),
        category="Special educational needs support",
        what=(
            "The support agreed in my daughter's plan has not happened for three weeks. Her "
            "reading sessions stopped without anyone telling us why."
        ),
    )
    _triage(session, settings, overdue, office)
    # The head has started the letter: a draft, not sent, that the parent cannot see.
    services.save_draft(
        session,
        overdue,
        head,
        services.LetterWords(
            investigated=(
                "I met Mrs Okoro, our special needs coordinator, and read the support plan and "
                "the reading group's register for the last six weeks."
            ),
            decision="The sessions stopped when the teaching assistant was off sick. ",
        ),
        version=None,
    )

    answered = _case(
        session,
        settings,
        days_ago=16,
        parent=("Gareth Owens", "gareth.owens@example.com"),
        category="Behaviour and bullying",
        what=(
            "My son was pushed during lunch play and staff did not tell me. I only heard about "
            "it from another parent."
        ),
    )
    _triage(session, settings, answered, office)
    services.respond(session, settings, answered, head, STAGE1_LETTER)

    stage2 = _case(
        session,
        settings,
        days_ago=40,
        parent=("Hannah Kowalski", "hannah.kowalski@example.com"),
        category="Uniform and equipment",
        what=(
            "My son was sent home for wearing black trainers. We cannot afford new school shoes "
            "this month and nobody offered help."
        ),
    )
    _triage(session, settings, stage2, office)
    services.respond(session, settings, stage2, head, STAGE1_LETTER)
    services.escalate(
        session,
        settings,
        stage2,
        "The letter did not deal with the cost of uniform, which was the whole point.",
    )
    services.record_panel(
        session,
        stage2,
        clerk,
        hearing_on=services.school_date(session) + timedelta(days=7),
        member_ids=[g.id for g in governors],
        papers="The complaint form, the stage 1 letter, the uniform policy (September 2026).",
        hearing_notes="",
        hearing_time="18:00",
        hearing_format="in_person",
        hearing_place="The school library (use the Mill Lane gate)",
        settings=settings,
    )
    _panel_papers(session, settings, stage2, clerk)

    finished = _case(
        session,
        settings,
        days_ago=60,
        parent=("Olu Adeyemi", "olu.adeyemi@example.com"),
        category="Uniform and equipment",
        what="The new uniform supplier is twice the price of the old one and the only option.",
    )
    _triage(session, settings, finished, office)
    services.respond(session, settings, finished, head, STAGE1_LETTER)
    services.escalate(session, settings, finished, "I do not accept that parents were consulted.")
    services.record_panel(
        session,
        finished,
        clerk,
        hearing_on=services.school_date(session) - timedelta(days=3),
        member_ids=[g.id for g in governors],
        papers="The complaint form, the stage 1 letter, the uniform policy, consultation results.",
        hearing_notes="Mr Adeyemi attended and spoke for 20 minutes. The head teacher attended.",
        hearing_time="17:30",
        hearing_format="video",
        hearing_place="A video call; the clerk sent the link",
    )
    services.send_panel_outcome(session, settings, finished, clerk, PANEL_LETTER)

    withdrawn = _case(
        session,
        settings,
        days_ago=8,
        parent=("Sophie Turner", "sophie.turner@example.com"),
        formal=False,
        category="School trips and activities",
        what="We had two days' notice of the farm trip and the payment was due at once.",
    )
    services.withdraw(
        session, settings, withdrawn, "The office sorted the payment out with me. Thank you."
    )

    redirected = _case(
        session,
        settings,
        days_ago=5,
        parent=("Daniel Mensah", "daniel.mensah@example.com"),
        category="Something else",
        what="Our younger son was not offered a Reception place though we live close by.",
    )
    services.redirect_out_of_scope(
        session,
        settings,
        redirected,
        office,
        procedure="admissions",
        reason="School places are decided by Bedford Borough Council's admissions team.",
    )

    about_head = _case(
        session,
        settings,
        days_ago=4,
        parent=("Rachel Green", "rachel.green@example.com"),
        about=About.head,
        about_name="Mr Morgan",
        category="Communication with the school",
        what="The head teacher spoke to me rudely in the playground in front of other parents.",
    )
    _triage(session, settings, about_head, chair)

    _case(
        session,
        settings,
        days_ago=2,
        parent=("Ian Shaw", "ian.shaw@example.com"),
        about=About.governor,
        about_name="a parent governor",
        category="Communication with the school",
        what="A parent governor shared details of my complaint in a parents' WhatsApp group.",
    )

    campaign = [
        _case(
            session,
            settings,
            days_ago=6,
            parent=(name, email),
            category="Premises and safety",
            what=(
                "The new one-way system at pick-up means children wait in the rain on Mill Lane "
                "with no cover for up to 15 minutes."
            ),
        )
        for name, email in [
            ("Kate Morris", "kate.morris@example.com"),
            ("Ahmed Hussain", "ahmed.hussain@example.com"),
            ("Jo Walsh", "jo.walsh@example.com"),
        ]
    ]
    # Linked as they arrived, before sorting: sorting the lead sorts them with it.
    for case in campaign[1:]:
        services.link_to_lead(session, settings, case, campaign[0], office)
    _triage(session, settings, campaign[0], office)

    persistent = _case(
        session,
        settings,
        days_ago=70,
        parent=("Colin Pratt", "colin.pratt@example.com"),
        category="Teaching and learning",
        what="I want my son moved to the other Year 4 class. This is my ninth message about it.",
    )
    _triage(session, settings, persistent, office)
    services.mark_persistent(
        session,
        settings,
        persistent,
        head,
        "Nine messages on the same class placement after a full answer; procedure exhausted.",
    )

    # The parent names the office manager in their own words: she is kept out of it from the
    # moment it arrives (the head and chair see it; Janet Okafor's queue does not list it).
    _case(
        session,
        settings,
        days_ago=1,
        parent=("Kwame Mensah", "kwame.mensah@example.com"),
        about=About.staff,
        about_name="Mrs Okafor in the office",
        category="Communication with the school",
        what="I was spoken to rudely at the office window when I collected my son early.",
    )

    # A hidden field a robot fills was filled: held for office, with its emails held too.
    held = NewComplaint(
        formal=True,
        about=About.school,
        about_name="",
        category="Something else",
        what_happened="Best prices for school uniforms!!! Visit our website for 90% off today.",
        happened_on=None,
        done_so_far="",
        put_right="",
        anonymous=False,
        parent_name="Uniform Deals",
        parent_email="deals@example.com",
    )
    services.submit(session, settings, held, held=True)

    concern_answered = _case(
        session,
        settings,
        days_ago=9,
        parent=("Nadia Begum", "nadia.begum@example.com"),
        formal=False,
        category="Teaching and learning",
        what="My daughter's homework has not been marked since October half-term.",
    )
    _triage(session, settings, concern_answered, office)
    services.respond(
        session,
        settings,
        concern_answered,
        head,
        Letter(
            outcome=Outcome.upheld,
            investigated="I looked at the Year 5 homework books with the class teacher.",
            decision="You are right: homework had not been marked after the teacher changed.",
            actions="All homework will be marked by Friday and weekly from now on.",
        ),
    )

    # The head gave this one to the deputy head, who looks into it and drafts the reply.
    delegated = _case(
        session,
        settings,
        days_ago=2,
        parent=("Owen Clarke", "owen.clarke@example.com"),
        category="School trips and activities",
        what=(
            "My son was left off the Year 4 museum trip list even though we paid on time. "
            "He found out when his friends got their letters."
        ),
    )
    _triage(session, settings, delegated, office)
    services.delegate(
        session,
        settings,
        delegated,
        head,
        _staff(session, "deputy@brookfield-primary.example").id,
        "Please check the trip payments with the office and talk to the Year 4 team.",
    )

    _logged_cases(session, settings, office)
    session.commit()
    _demo_emails(session, settings, concern_answered)
    session.commit()


def _demo_emails(session: Session, settings: Settings, case: Complaint) -> None:
    """One parent's reply that came by email (on its case) and one email office must place."""
    from email.message import EmailMessage

    from portal.complaints.inbound_mail import case_token, reply_address
    from portal.complaints.services.inbound import receive

    settings = settings.model_copy(
        update={"reply_address": settings.reply_address or "reply@brookfield-primary.example"}
    )
    assert case.id is not None
    to = reply_address(settings.reply_address, case_token(settings.secret_key, case.id)) or ""
    reply = EmailMessage()
    reply["From"] = f"{case.parent_name} <{case.parent_email}>"
    reply["To"] = to
    reply["Subject"] = f"Re: Your concern {case.reference}"
    reply["Message-ID"] = f"<demo-reply-{case.reference}@example.com>"
    reply.set_content(
        "Thank you. The books came home marked today.\n\nNadia\n\n"
        "On Monday, Brookfield Primary School wrote:\n> We have looked into your concern.\n"
    )
    receive(session, settings, reply.as_bytes(), recipients=[to])
    stray = EmailMessage()
    stray["From"] = "Grandad Begum <grandad.begum@example.com>"
    stray["To"] = "office@brookfield-primary.example"
    stray["Subject"] = "Homework"
    stray["Message-ID"] = "<demo-held@example.com>"
    stray.set_content("Hello, I am writing for my granddaughter about her homework. Thank you.")
    receive(session, settings, stray.as_bytes())


def _logged_cases(session: Session, settings: Settings, office: StaffUser) -> None:
    """Two cases office took down: a phone call from a parent with no email (letters go by
    post) and a letter, scanned."""
    today = services.school_date(session)
    phoned = services.LoggedComplaint(
        new=NewComplaint(
            formal=False,
            about=About.school,
            about_name="",
            category="Communication with the school",
            what_happened=(
                "Mr Walsh phoned. Nobody told him about the Year 3 trip until the day before, "
                "and he could not arrange the packed lunch in time."
            ),
            happened_on=today - timedelta(days=6),
            done_so_far="He asked at the gate, but the teacher had already gone in.",
            put_right="Letters about trips a week ahead, on paper as he has no email.",
            anonymous=False,
            parent_name="Patrick Walsh",
            parent_phone="01632 960 456",
            child_name="Niamh Walsh",
        ),
        channel="phone",
        stated_on=today - timedelta(days=2),
        parent_address="14 Orchard Close\nBrookfield\nMK40 3DL",
    )
    services.log_complaint(session, settings, phoned, office)
    written = services.LoggedComplaint(
        new=NewComplaint(
            formal=True,
            about=About.school,
            about_name="",
            category="Premises and safety",
            what_happened=(
                "Mrs Kowalski wrote that the path by the infant entrance is icy every morning "
                "and her son slipped on it. Her letter is attached."
            ),
            happened_on=today - timedelta(days=8),
            done_so_far="She spoke to the caretaker last week.",
            put_right="Grit the path before the gates open.",
            anonymous=False,
            parent_name="Ewa Kowalski",
            parent_email="ewa.kowalski@example.com",
            child_name="Adam Kowalski",
        ),
        channel="letter",
        stated_on=today - timedelta(days=4),
    )
    letter_case = services.log_complaint(session, settings, written, office).complaint
    attachments.store(
        session,
        settings,
        filename="letter-from-mrs-kowalski.pdf",
        content=DEMO_PDF,
        complaint_id=letter_case.id,
    )
