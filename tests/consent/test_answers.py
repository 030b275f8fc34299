"""Consent answers entered by staff, and what they add up to: refusal wins, withdrawal at once,
lapse by the school's validity setting, leavers and restricted pupils are no, naming is its own
question, and every answer is kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import (
    AnswerHow,
    ConsentRecord,
    ConsentSettings,
    Contact,
    FlagKind,
    Pupil,
)
from portal.consent.services import answers, flags
from portal.consent.services.answers import Answer, Why
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, SCAN_PDF, evidence_kwargs, import_file, pupil_file
from tests.factories import make_user, sign_in


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    return user


@pytest.fixture
def amelia(client, db_session, office) -> Pupil:
    import_file(client, pupil_file(*ROWS))
    db_session.expire_all()
    return db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))


def contact(db_session, email: str) -> int:
    return db_session.scalar(select(Contact.id).where(Contact.email == email))


def purpose(db_session, key: str):  # type: ignore[no-untyped-def]
    return next(p for p in purposes(db_session) if p.key == key)


def say(db_session, office, pupil, email, key, yes, naming=None, how=AnswerHow.paper):  # type: ignore[no-untyped-def]
    answers.record_answers(
        db_session,
        office,
        pupil,
        contact(db_session, email),
        how,
        [Answer(purpose(db_session, key), yes, naming)],
        **evidence_kwargs(db_session, office, pupil, how),
    )
    db_session.commit()


def decision(db_session, pupil, key):  # type: ignore[no-untyped-def]
    db_session.expire_all()
    chosen = purpose(db_session, key)
    return answers.decisions_for(db_session, [pupil], [chosen], now_of(db_session))[
        (pupil.id, chosen.id)
    ]


def test_no_answer_yet_is_no(db_session, amelia):
    assert decision(db_session, amelia, "website").why is Why.no_answer
    assert not decision(db_session, amelia, "website").allowed


def test_yes_from_one_parent_is_yes_and_naming_is_its_own_question(db_session, office, amelia):
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=False)
    result = decision(db_session, amelia, "website")
    assert (result.allowed, result.why, result.may_name) == (True, Why.given, False)
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=True)
    assert decision(db_session, amelia, "website").may_name is True
    # Displays in school do not ask about naming: never named.
    say(db_session, office, amelia, "sarah@example.com", "displays", True, naming=True)
    assert decision(db_session, amelia, "displays").may_name is False


def test_two_people_with_parental_responsibility_disagree_refusal_wins(db_session, office, amelia):
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=True)
    say(db_session, office, amelia, "tom@example.com", "website", False)
    result = decision(db_session, amelia, "website")
    assert (result.allowed, result.why) == (False, Why.refused)


def test_a_no_after_a_yes_is_a_withdrawal_at_once_and_dated(db_session, office, amelia, clock):
    say(db_session, office, amelia, "sarah@example.com", "video", True)
    assert decision(db_session, amelia, "video").allowed
    clock.advance(timedelta(minutes=1))
    say(db_session, office, amelia, "sarah@example.com", "video", False, how=AnswerHow.phone)
    result = decision(db_session, amelia, "video")
    assert (result.allowed, result.why) == (False, Why.withdrawn)
    assert result.words.startswith("Withdrawn on ")
    records = db_session.scalars(select(ConsentRecord)).all()
    assert [r.answer for r in records] == [True, False]  # nothing overwritten


def test_someone_without_parental_responsibility_does_not_count(client, db_session, office):
    import_file(client, pupil_file(ROWS[2]))
    kwame = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A003"))
    say(db_session, office, kwame, "ama@example.com", "website", True, naming=True)
    assert decision(db_session, kwame, "website").why is Why.no_answer


def test_consent_lapses_at_the_next_school_year_by_default(db_session, office, amelia, clock):
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=True)
    clock.set(datetime(clock.now().year + 1, 9, 2, 9, 0))
    assert decision(db_session, amelia, "website").why is Why.lapsed


def test_consent_while_at_the_school_never_lapses_and_key_stage_lapses_at_its_end(
    db_session, office, amelia, clock
):
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=True)
    db_session.add(ConsentSettings(validity="while_at_school"))
    db_session.commit()
    clock.set(clock.now() + timedelta(days=3 * 365))
    assert decision(db_session, amelia, "website").allowed
    settings = db_session.scalar(select(ConsentSettings))
    settings.validity = "key_stage"
    db_session.commit()
    # Amelia (born March 2017) is in key stage 2 until July 2028: three years on, key stage 3.
    assert decision(db_session, amelia, "website").why is Why.lapsed


def test_a_pupil_who_has_left_or_is_restricted_is_no_whatever_the_consent(
    client, db_session, office, amelia
):
    say(db_session, office, amelia, "sarah@example.com", "website", True, naming=True)
    say(db_session, office, amelia, "tom@example.com", "website", True, naming=True)
    assert decision(db_session, amelia, "website").allowed
    flags.set_flag(db_session, office, amelia, FlagKind.adopted, "Adopted; keep private")
    db_session.commit()
    assert decision(db_session, amelia, "website").why is Why.restricted
    import_file(client, pupil_file(ROWS[1]))  # a full import without Amelia
    assert decision(db_session, amelia, "website").why is Why.left


# ---------------------------------------------------------------- the pages


def test_office_records_a_paper_form_and_the_pupil_page_shows_the_answers(
    client, db_session, office, amelia
):
    url = f"/staff/pupils/{amelia.id}/answers"
    form = client.get(url)
    assert page(form).select_one("h1").text == "Record answers for Millie Jones"
    # Nothing is pre-ticked.
    assert page(form).select("input[type=radio][checked]") == []
    sarah = contact(db_session, "sarah@example.com")
    response = client.post(
        url,
        data={
            "csrf_token": csrf_of(form),
            "contact_id": str(sarah),
            "how": "paper",
            "answer_website": "yes",
            "naming_website": "no",
            "answer_local_press": "no",
        },
        files={"scan_file": ("form.pdf", SCAN_PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    shown = client.get(f"/staff/pupils/{amelia.id}")
    rows = {
        tr.select_one("th").text: [td.text for td in tr.select("td")]
        for tr in page(shown).select("#decisions tbody tr")
    }
    assert rows["School website"] == ["Yes", "Consent given", "No"]
    assert rows["Local press"] == ["No", "Refused", "No"]
    assert rows["Video"] == ["No", "No answer yet", "No"]
    history = page(shown).select_one("#records").get_text(" ")
    assert "Sarah Jones" in history and "paper form" in history and "wording 1" in history
    event = db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == answers.ANSWERS_TAG))
    assert event.actor_user_id == office.id


def test_the_answers_form_says_what_is_missing_and_keeps_what_was_typed(
    client, db_session, office, amelia
):
    url = f"/staff/pupils/{amelia.id}/answers"
    form = client.get(url)
    response = client.post(
        url,
        data={"csrf_token": csrf_of(form), "contact_id": "99999999999999", "answer_website": "yes"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    text = text_of(response)
    assert "Choose who gave these answers" in text
    assert "Choose how they gave their answers" in text
    assert "Say whether the child may be named for school website" in text
    assert page(response).select_one("#answer_website[checked]") is not None
    # Someone else's parent is refused, and nothing is written.
    other = contact(db_session, "roisin@example.com")
    response = client.post(
        url,
        data={
            "csrf_token": csrf_of(form),
            "contact_id": str(other),
            "how": "phone",
            "call_note": "Rang at noon",
            "answer_video": "no",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert db_session.scalar(select(ConsentRecord)) is None


def test_only_office_and_admin_record_answers(client, db_session, amelia):
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.head))
    assert client.get(f"/staff/pupils/{amelia.id}/answers").status_code == 403
    shown = page(client.get(f"/staff/pupils/{amelia.id}"))
    assert shown.select_one("#record-answers") is None


def test_a_paper_yes_for_a_pupil_of_12_or_over_says_whether_the_pupil_agreed(
    client, db_session, office, amelia
):
    """When the school asks pupils of 12 and over too, the staff form asks, for each yes,
    whether the pupil agreed; the answer is kept on the record and decides with the parent's."""
    from portal.consent.models import ConsentSettings

    amelia.date_of_birth = now_of(db_session).date().replace(year=now_of(db_session).year - 13)
    db_session.add(amelia)
    db_session.add(ConsentSettings(ask_pupils_12_and_over=True))
    db_session.commit()
    url = f"/staff/pupils/{amelia.id}/answers"
    form = client.get(url)
    assert "If yes: did Millie agree too?" in text_of(form)
    base = {
        "csrf_token": csrf_of(form),
        "contact_id": str(contact(db_session, "sarah@example.com")),
        "how": "paper",
        "answer_displays": "yes",
    }
    scan = {"scan_file": ("form.pdf", SCAN_PDF, "application/pdf")}
    missing = client.post(url, data=base, files=scan, follow_redirects=False)
    assert missing.status_code == 422
    assert "Say whether the pupil agreed too, for displays in school" in text_of(missing)
    refused = client.post(
        url, data={**base, "agreed_displays": "no"}, files=scan, follow_redirects=False
    )
    assert refused.status_code == 303
    assert decision(db_session, amelia, "displays").why is Why.pupil_refused
    agreed = client.post(
        url, data={**base, "agreed_displays": "yes"}, files=scan, follow_redirects=False
    )
    assert agreed.status_code == 303
    assert decision(db_session, amelia, "displays").allowed
    latest = db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id.desc())).first()
    assert latest.pupil_agreed is True


def test_the_staff_form_does_not_ask_about_a_pupil_under_12(client, db_session, office, amelia):
    from portal.consent.models import ConsentSettings

    db_session.add(ConsentSettings(ask_pupils_12_and_over=True))
    db_session.commit()
    assert "agree too?" not in text_of(client.get(f"/staff/pupils/{amelia.id}/answers"))
