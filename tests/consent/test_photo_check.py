"""The photo check: pick the pupils and the purpose; yes or no per pupil with the reason and
whether the child may be named; each check kept, and shown out of date after a later change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import AnswerHow, Contact, FlagKind, PhotoCheck, Pupil
from portal.consent.services import answers, flags
from portal.consent.services.answers import Answer, Why
from portal.consent.services.photo_check import photo_check
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, evidence_kwargs, import_file, pupil_file
from tests.factories import make_user, sign_in

REASON = "Secret reason about a family"


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    return user


@pytest.fixture
def register(client, db_session, office) -> dict[str, Pupil]:
    import_file(client, pupil_file(*ROWS))
    db_session.expire_all()
    pupils = {p.mis_id: p for p in db_session.scalars(select(Pupil))}
    website = next(p for p in purposes(db_session) if p.key == "website")

    def say(mis_id: str, email: str, yes: bool, naming: bool | None = None) -> None:
        contact = db_session.scalar(select(Contact.id).where(Contact.email == email))
        answers.record_answers(
            db_session,
            office,
            pupils[mis_id],
            contact,
            AnswerHow.paper,
            [Answer(website, yes, naming)],
            **evidence_kwargs(db_session, office, pupils[mis_id], AnswerHow.paper),
        )

    say("A001", "sarah@example.com", True, True)
    say("A002", "roisin@example.com", False)
    flags.set_flag(db_session, office, pupils["A003"], FlagKind.at_risk, REASON)
    # A003's carer has no parental responsibility; even a yes would not count: restricted wins.
    db_session.commit()
    return pupils


def lines_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        tr.th.text.split(",")[0]: [td.text.strip() for td in tr.select("td")]
        for tr in page(response).select("#answers tbody tr")
    }


def test_the_service_answers_per_pupil_with_the_reason(db_session, register):
    website = next(p for p in purposes(db_session) if p.key == "website")
    ids = [register[k].id for k in ("A001", "A002", "A003")] + [999999]
    lines = photo_check(db_session, ids, website, now_of(db_session))
    assert [(line.pupil.mis_id, line.decision.allowed, line.decision.why) for line in lines] == [
        ("A001", True, Why.given),
        ("A002", False, Why.refused),
        ("A003", False, Why.restricted),
    ]
    assert lines[0].decision.may_name is True


def test_staff_pick_a_class_tick_pupils_and_see_the_answers_kept_as_a_check(
    client, db_session, register
):
    listing = client.get("/staff/photo-check", params={"class_name": "3B"})
    assert page(listing).select_one("h1").text == "Photo check"
    boxes = page(listing).select("input[name=pupil_ids]")
    assert len(boxes) == 2
    assert not any(box.has_attr("checked") for box in boxes)
    assert page(listing).select("input[name=purpose][checked]") == []
    response = client.post(
        "/staff/photo-check?class_name=3B",
        data={
            "csrf_token": csrf_of(listing),
            "purpose": "website",
            "pupil_ids": [str(register["A001"].id), str(register["A002"].id)],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    result = client.get(response.headers["location"])
    assert page(result).select_one("h1").text == "Photo check: School website"
    assert lines_of(result) == {
        "Millie Jones": ["Yes", "Consent given", "Yes"],
        "Zoë O'Neill": ["No", "Refused", "No"],
    }
    assert page(result).select_one("#out-of-date") is None
    assert db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == "photo:checked"))


def test_a_restricted_pupil_shows_restricted_and_never_the_reason(client, db_session, register):
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.senior_leader))
    form = client.get("/staff/photo-check", params={"name": "kwame"})
    response = client.post(
        "/staff/photo-check",
        data={
            "csrf_token": csrf_of(form),
            "purpose": "displays",
            "pupil_ids": [str(register["A003"].id)],
        },
        follow_redirects=False,
    )
    result = client.get(response.headers["location"])
    assert lines_of(result) == {"Kwame Mensah": ["No", "Restricted", "No"]}
    assert REASON not in result.text
    assert "At risk" not in result.text


def test_a_check_made_before_a_withdrawal_shows_as_out_of_date(
    client, db_session, office, register, clock
):
    form = client.get("/staff/photo-check", params={"name": "millie"})
    response = client.post(
        "/staff/photo-check",
        data={
            "csrf_token": csrf_of(form),
            "purpose": "website",
            "pupil_ids": [str(register["A001"].id)],
        },
        follow_redirects=False,
    )
    check_url = response.headers["location"]
    clock.advance(timedelta(hours=2))
    sign_in(client, office)  # the clock moved: sign in again
    website = next(p for p in purposes(db_session) if p.key == "website")
    sarah = db_session.scalar(select(Contact.id).where(Contact.email == "sarah@example.com"))
    answers.record_answers(
        db_session,
        office,
        register["A001"],
        sarah,
        AnswerHow.phone,
        [Answer(website, False, None)],
        call_note="Sarah rang at noon",
    )
    db_session.commit()
    result = client.get(check_url)
    assert page(result).select_one("#out-of-date") is not None
    line = lines_of(result)["Millie Jones"]
    assert line[0] == "No" and line[1].startswith("Withdrawn on ")
    assert line[3] == "Changed: was yes, may be named"


def test_the_check_form_says_what_is_missing(client, db_session, register):
    form = client.get("/staff/photo-check")
    response = client.post(
        "/staff/photo-check",
        data={"csrf_token": csrf_of(form), "purpose": "nonsense", "pupil_ids": ["x", "0"]},
        follow_redirects=False,
    )
    assert response.status_code == 422
    text = text_of(response)
    assert "Choose where the picture will be used" in text
    assert "Tick the pupils in the picture" in text
    assert db_session.scalar(select(PhotoCheck)) is None
    assert client.get("/staff/photo-check/999999").status_code == 404


def test_governors_clerk_and_chair_do_not_use_the_photo_check(client, db_session):
    for role in (Role.governor, Role.clerk, Role.chair):
        client.cookies.clear()
        sign_in(client, make_user(db_session, role))
        assert client.get("/staff/photo-check").status_code == 403


# ---------------------------------------------------------------- a kept check, out of date


def _kept_check_then(db_session, office, register, change) -> list:  # type: ignore[no-untyped-def]
    """Millie may appear on the website and be named (Sarah said yes); a check is kept; then
    `change` happens; the check is opened again."""
    from portal.consent.services.photo_check import record_check, reopen

    website = next(p for p in purposes(db_session) if p.key == "website")
    check = record_check(db_session, office, [register["A001"].id], website)
    db_session.commit()
    change(db_session, office, register["A001"], website)
    db_session.commit()
    return reopen(db_session, check)


def _say(email: str, yes: bool, naming: bool | None = None):  # type: ignore[no-untyped-def]
    def change(db_session, office, pupil, website) -> None:  # type: ignore[no-untyped-def]
        contact = db_session.scalar(select(Contact.id).where(Contact.email == email))
        answers.record_answers(
            db_session,
            office,
            pupil,
            contact,
            AnswerHow.phone,
            [Answer(website, yes, naming)],
            call_note="Rang the office at noon",
        )

    return change


def _restrict(db_session, office, pupil, website) -> None:  # type: ignore[no-untyped-def]
    flags.set_flag(db_session, office, pupil, FlagKind.adopted, REASON)


def _left(db_session, office, pupil, website) -> None:  # type: ignore[no-untyped-def]
    pupil.on_roll = False
    db_session.add(pupil)


def _responsibility_gone(db_session, office, pupil, website) -> None:  # type: ignore[no-untyped-def]
    from portal.consent.models import PupilContact

    sarah = db_session.scalar(select(Contact.id).where(Contact.email == "sarah@example.com"))
    link = db_session.scalar(
        select(PupilContact).where(
            PupilContact.pupil_id == pupil.id, PupilContact.contact_id == sarah
        )
    )
    link.current = False
    db_session.add(link)


@pytest.mark.parametrize(
    ("change", "now_words"),
    [
        (_say("sarah@example.com", False), "Withdrawn on"),
        (_say("tom@example.com", False), "Refused"),  # the other parent says no: refusal wins
        (_say("sarah@example.com", True, False), "Consent given"),  # no longer to be named
        (_restrict, "Restricted"),
        (_left, "Left the school"),
        (_responsibility_gone, "No answer yet"),  # the parent who said yes is no longer on it
    ],
    ids=["withdrawn", "other-parent-refuses", "naming-withdrawn", "restricted", "left", "gone"],
)
def test_a_kept_check_is_out_of_date_after_any_later_change(
    db_session, office, register, change, now_words
):
    lines = _kept_check_then(db_session, office, register, change)
    assert len(lines) == 1
    assert lines[0].changed
    assert lines[0].now.words.startswith(now_words)


def test_a_kept_check_is_out_of_date_once_its_answers_lapse(db_session, office):
    """A check made last school year, when the answer was current, reads as out of date now
    that the answer has run out: nobody changed anything, time did."""
    from datetime import date, datetime

    from portal.consent.models import ConsentRecord, PhotoCheckPupil, PupilContact
    from portal.consent.services.photo_check import reopen

    website = next(p for p in purposes(db_session) if p.key == "website")
    then = datetime(2026, 7, 1, 10, 0)
    pupil = Pupil(
        mis_id="L001",
        legal_first_name="Noah",
        legal_last_name="Clarke",
        year_group="Year 3",
        class_name="3B",
        date_of_birth=date(2017, 2, 14),
    )
    parent = Contact(name="Dan Clarke", email="dan@example.com")
    db_session.add_all([pupil, parent])
    db_session.flush()
    db_session.add(
        PupilContact(pupil_id=pupil.id, contact_id=parent.id, parental_responsibility=True)
    )
    db_session.add(
        ConsentRecord(
            pupil_id=pupil.id,
            purpose_id=website.id,
            contact_id=parent.id,
            answer=True,
            naming=True,
            given_at=then,
            how=AnswerHow.paper,
            wording_version=1,
        )
    )
    db_session.flush()
    lines = photo_check(db_session, [pupil.id], website, then)
    assert lines[0].decision.allowed and lines[0].decision.may_name
    check = PhotoCheck(checked_by_user_id=office.id, checked_at=then, purpose_id=website.id)
    db_session.add(check)
    db_session.flush()
    db_session.add(
        PhotoCheckPupil(
            check_id=check.id, pupil_id=pupil.id, allowed=True, why="given", may_name=True
        )
    )
    db_session.commit()
    kept = reopen(db_session, check)
    assert kept[0].changed
    assert kept[0].now.words == "Lapsed: ask again"
