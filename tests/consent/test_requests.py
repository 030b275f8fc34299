"""The request for answers: pick a class or year and what to ask about; a preview (how many
families, who needs a letter home); one email per parent or carer naming their children; a
second request to the same class inside the interval refused with when the last went."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import (
    AnswerHow,
    ConsentRecord,
    ConsentRequest,
    Contact,
    FlagKind,
    Pupil,
)
from portal.consent.services import answers, flags
from portal.consent.services.answers import Answer
from portal.consent.services.purposes import purposes
from portal.consent.services.requests import PHOTOS_PATH, SENT_TAG, consent_request_email
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.clocks import TEST_NOW
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, evidence_kwargs, import_file, pupil_file
from tests.factories import make_user, sign_in

MORE = [
    # Millie's sister in the same class: Sarah and Tom get one email each, naming both.
    "A004,Lily,Jones,,Year 3,3B,01/12/2016,Sarah Jones,sarah@example.com,Mother,Yes,"
    "Tom Jones,tom@example.com,Father,Yes",
    # No email address: a letter home.
    "A005,Noah,Clarke,,Year 3,3B,14/02/2017,Dan Clarke,,Father,Yes,,,,",
    # Only a carer without parental responsibility has an email: a letter home too.
    "A006,Ava,Singh,,Year 3,3C,05/05/2017,Priya Singh,priya@example.com,Aunt,No,,,,",
    # Restricted: never asked.
    "A007,Leo,Grant,,Year 3,3C,06/06/2017,Jo Grant,jo@example.com,Mother,Yes,,,,",
]


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office, name="Janet Okafor")
    sign_in(client, user)
    return user


@pytest.fixture
def register(client, db_session, office) -> dict[str, Pupil]:
    import_file(client, pupil_file(*ROWS, *MORE))
    db_session.expire_all()
    pupils = {p.mis_id: p for p in db_session.scalars(select(Pupil))}
    flags.set_flag(db_session, office, pupils["A007"], FlagKind.adopted, "Reason")
    db_session.commit()
    return pupils


def _answer_everything(db_session, office, pupil: Pupil, email: str, **given) -> None:  # type: ignore[no-untyped-def]
    contact = db_session.scalar(select(Contact.id).where(Contact.email == email))
    answers.record_answers(
        db_session,
        office,
        pupil,
        contact,
        AnswerHow.paper,
        [Answer(p, True, True if p.asks_naming else None) for p in purposes(db_session)],
        **evidence_kwargs(db_session, office, pupil, AnswerHow.paper),
    )
    db_session.commit()


def preview(client, group: str, *keys: str):  # type: ignore[no-untyped-def]
    return client.get(
        "/staff/consent-reports/request", params=[("group", group), *(("purpose", k) for k in keys)]
    )


def send(client, group: str, *keys: str):  # type: ignore[no-untyped-def]
    shown = preview(client, group, *keys)
    return client.post(
        "/staff/consent-reports/request",
        data={"csrf_token": csrf_of(shown), "group": group, "purposes": list(keys)},
        follow_redirects=False,
    )


def _outbox(db_session) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return list(db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address)))


def test_nothing_is_ticked_and_nothing_is_sent_before_the_preview(client, register):
    form = page(client.get("/staff/consent-reports/request"))
    assert form.select_one("h1").text == "Ask families for their photo answers"
    assert form.select("input[name=purpose][checked]") == []
    assert form.select_one("#preview") is None


def test_the_preview_counts_families_and_lists_who_needs_a_letter(client, db_session, register):
    shown = page(preview(client, "year:Year 3", "website", "video"))
    assert shown.select_one("#count-pupils").text == "5"
    assert shown.select_one("#count-families").text.startswith("3 ")
    families = {
        tr.th.get_text(strip=True): tr.td.get_text(" ", strip=True)
        for tr in shown.select("#families tbody tr")
    }
    assert families == {
        "Róisín O'Neill": "Zoë O'Neill (3B)",
        "Sarah Jones": "Millie Jones (3B), Lily Jones (3B)",
        "Tom Jones": "Millie Jones (3B), Lily Jones (3B)",
    }
    letters = {
        tr.th.get_text(strip=True): tr.select("td")[1].text
        for tr in shown.select("#letters tbody tr")
    }
    assert letters == {
        "Noah Clarke": "Dan Clarke",
        "Ava Singh": "None with parental responsibility on the register",
    }
    assert "Leo Grant" not in shown.text  # restricted: never asked
    assert _outbox(db_session) == []


def test_sending_emails_each_parent_once_naming_their_children(client, db_session, register):
    response = send(client, "class:3B", "website", "video")
    assert response.status_code == 303
    done = client.get(response.headers["location"])
    assert page(done).select_one("h1").get_text(strip=True).startswith("Request sent: Class 3B")
    sent = _outbox(db_session)
    assert [m.to_address for m in sent] == [
        "roisin@example.com",
        "sarah@example.com",
        "tom@example.com",
    ]
    sarah = sent[1]
    assert sarah.subject == "Photos at school: please tell us your answer"
    assert "Dear Sarah Jones," in sarah.body_text
    assert "photos of Millie Jones and Lily Jones." in sarah.body_text
    assert "for: school website and video." in sarah.body_text
    assert "http://testserver" not in sarah.body_text
    assert sarah.body_text.count(PHOTOS_PATH) == 1
    assert "Zoë" not in sarah.body_text and "Noah" not in sarah.body_text
    request = db_session.scalar(select(ConsentRequest))
    assert (request.group_label, request.pupils, request.families, request.no_email) == (
        "Class 3B",
        4,
        3,
        1,
    )
    assert request.purposes == "website,video"
    event = db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == SENT_TAG))
    assert event.details["families"] == 3
    reports = page(client.get("/staff/consent-reports"))
    row = [td.get_text(" ", strip=True) for td in reports.select("#sent tbody tr")[0].select("td")]
    assert row[1:] == ["Janet Okafor", "Class 3B", "School website, Video", "3", "1"]


def test_a_second_request_inside_the_interval_is_refused_with_when_the_last_went(
    client, db_session, office, register, clock
):
    assert send(client, "class:3B", "website").status_code == 303
    count = len(_outbox(db_session))
    again = send(client, "class:3B", "video")
    assert again.status_code == 422
    assert (
        "A request to the families of 3B went on 25 November 2026 at 10:00. "
        "You can send another from 2 December 2026 at 10:00"
    ) in text_of(again)
    assert len(_outbox(db_session)) == count
    # A year group holding 3B is refused too, and its preview warns before anyone presses.
    shown = preview(client, "year:Year 3", "video")
    assert page(shown).select_one("#too-soon") is not None
    assert page(shown).select_one("#send-button") is None
    assert send(client, "year:Year 3", "video").status_code == 422
    assert db_session.scalar(select(func.count()).select_from(ConsentRequest)) == 1

    clock.advance(timedelta(days=7))
    sign_in(client, office)  # the clock moved: sign in again
    assert send(client, "class:3B", "video").status_code == 303
    assert db_session.scalar(select(func.count()).select_from(ConsentRequest)) == 2


def test_a_lapsed_answer_is_asked_again_and_a_current_one_is_not(
    client, db_session, office, register
):
    website = next(p for p in purposes(db_session) if p.key == "website")
    roisin = db_session.scalar(select(Contact.id).where(Contact.email == "roisin@example.com"))
    # Last school year's yes has run out (the validity is the school year).
    db_session.add(
        ConsentRecord(
            pupil_id=register["A002"].id,
            purpose_id=website.id,
            contact_id=roisin,
            answer=True,
            naming=True,
            given_at=TEST_NOW - timedelta(days=400),
            how=AnswerHow.paper,
            wording_version=1,
        )
    )
    db_session.commit()
    for email in ("sarah@example.com", "tom@example.com"):
        _answer_everything(db_session, office, register["A001"], email)
        _answer_everything(db_session, office, register["A004"], email)
    shown = page(preview(client, "class:3B", "website"))
    families = [tr.th.get_text(strip=True) for tr in shown.select("#families tbody tr")]
    assert families == ["Róisín O'Neill"]
    waiting = page(
        client.get("/staff/consent-reports", params={"group": "class:3B", "purpose": "website"})
    )
    why = {
        tr.th.get_text(strip=True): tr.select("td")[1].text
        for tr in waiting.select("#waiting tbody tr")
    }
    assert why["Zoë O'Neill"] == "Last answer has run out"


def test_nobody_to_ask_sends_nothing_and_says_so(client, db_session, office, register):
    for mis_id, email in (("A001", "sarah@example.com"), ("A004", "sarah@example.com")):
        _answer_everything(db_session, office, register[mis_id], email)
    _answer_everything(db_session, office, register["A002"], "roisin@example.com")
    shown = page(preview(client, "class:3B", "website"))
    assert shown.select_one("#send-button") is None
    assert "send letters home instead" in shown.select_one("#nothing-to-send").text
    response = send(client, "class:3B", "website")
    assert response.status_code == 422
    assert "No family to ask has an email address" in text_of(response)
    assert _outbox(db_session) == []
    assert db_session.scalar(select(ConsentRequest)) is None


def test_the_letters_home_list_prints_one_page_per_class(client, register):
    response = client.get(
        "/staff/consent-reports/request/letters",
        params=[("group", "year:Year 3"), ("purpose", "website")],
    )
    shown = page(response)
    assert shown.select_one("h1").text.strip() == "Letters home: Year 3"
    assert shown.select_one("nav") is None
    assert len(shown.select("section.school-print-page")) == 2
    assert "Noah Clarke" in shown.text and "Ava Singh" in shown.text


@pytest.mark.parametrize(
    "data",
    [
        {"group": "class:NOPE", "purposes": ["website"]},
        {"group": "class:3B", "purposes": ["nonsense", "\u202e"]},
        {"group": "x" * 10_000},
        {"group": "year:" + str(2**70), "purposes": ["9" * 40]},
    ],
)
def test_a_request_for_nothing_real_says_what_to_choose_and_keeps_the_choice(
    client, db_session, register, data
):
    token = csrf_of(client.get("/staff/consent-reports/request"))
    response = client.post(
        "/staff/consent-reports/request", data={"csrf_token": token, **data}, follow_redirects=False
    )
    assert response.status_code == 422
    assert "There is a problem" in text_of(response)
    assert _outbox(db_session) == []


def test_the_email_is_plain_and_links_to_the_photos_page(db_session, app):
    website, video = (p for p in purposes(db_session) if p.key in ("website", "video"))
    message = consent_request_email(
        db_session,
        base_url="https://portal.example/",
        recipient_name="Sam Parent",
        children=["Ann Parent", "Bob Parent", "Cy Parent"],
        purposes=[website, video],
    )
    assert "photos of Ann Parent, Bob Parent and Cy Parent." in message.body
    assert "https://portal.example/photos" in message.body
    assert "{{" not in message.body and "\n\n\n" not in message.body
