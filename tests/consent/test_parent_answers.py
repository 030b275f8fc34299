"""A signed-in parent answers for their own children: opt-in, each answer a record (online, by
them, with the wording version shown), withdrawal at once and confirmed, refusal wins and both
parents are told, never another family's child, a leaver or a restricted pupil's flag."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import AnswerHow, ConsentRecord, ConsentSettings, FlagKind, Purpose
from portal.consent.services import answers, flags
from portal.consent.services.answers import Why
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.mail import OutboxMessage
from tests.conftest import TEST_SECRET, csrf_of, page, text_of
from tests.consent.families import add_pupil, link, sign_in_parent, two_families
from tests.factories import make_user, sign_in


@pytest.fixture
def family(db_session):
    return two_families(db_session)


@pytest.fixture
def sarah(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    return family.contacts["sarah@example.com"]


def answer(client, pupil_id: int, fields: dict[str, str]):  # type: ignore[no-untyped-def]
    """Send a child's form as the browser does: its hidden fields (the wording versions shown)
    as the page has them, and `fields` on top."""
    shown = client.get("/photos/answers")
    form = page(shown).select_one(f"form[action='/photos/answers/{pupil_id}']")
    hidden = {i["name"]: i["value"] for i in form.select("input[type=hidden]")} if form else {}
    return client.post(
        f"/photos/answers/{pupil_id}",
        data={"csrf_token": csrf_of(shown), **hidden, **fields},
        follow_redirects=False,
    )


def decision(db_session, pupil, key: str):  # type: ignore[no-untyped-def]
    db_session.expire_all()
    purpose = next(p for p in purposes(db_session) if p.key == key)
    return answers.decisions_for(db_session, [pupil], [purpose], now_of(db_session))[
        (pupil.id, purpose.id)
    ]


def records(db_session) -> list[ConsentRecord]:
    db_session.expire_all()
    return list(db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)))


def emails(db_session, key_words: str) -> list[str]:
    db_session.expire_all()
    return [
        m.to_address
        for m in db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        if key_words in m.subject
    ]


def test_a_parent_sees_their_own_children_on_roll_with_nothing_ticked(client, sarah):
    shown = page(client.get("/photos/answers"))
    children = [h2.get_text(" ", strip=True) for h2 in shown.select("h2[id^=child-]")]
    assert children == ["Millie Jones", "Lily Jones"]  # not Jack (left), not Maya (the Patels')
    assert shown.select("input[type=radio][checked]") == []
    assert len(shown.select("form[action^='/photos/answers/']")) == 2
    assert shown.select_one("#sign-out").text.strip() == "Sign out"


def test_each_answer_is_a_record_online_by_that_parent_with_the_wording_shown(
    client, db_session, family, sarah
):
    millie = family.pupils["millie"]
    response = answer(
        client, millie.id, {"answer_website": "yes", "naming_website": "no", "version_website": "1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/photos/answers?saved={millie.id}#child-{millie.id}"
    [record] = records(db_session)
    assert (record.pupil_id, record.contact_id, record.answer, record.naming) == (
        millie.id,
        sarah.id,
        True,
        False,
    )
    assert record.how == AnswerHow.online and record.entered_by_user_id is None
    assert record.wording_version == 1
    assert decision(db_session, millie, "website").allowed
    shown = client.get(response.headers["location"])
    assert "Your answers for Millie are saved" in text_of(shown)
    assert "Your answer now: yes (without Millie's name)" in text_of(shown)
    # The staff pupil page's history shows how: online.
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.office))
    staff = page(client.get(f"/staff/pupils/{millie.id}"))
    assert "Sarah Jones, online" in staff.select_one("#records").get_text()


def test_withdrawal_works_at_once_and_is_confirmed_by_email(client, db_session, family, sarah):
    millie = family.pupils["millie"]
    answer(client, millie.id, {"answer_social_media": "yes", "naming_social_media": "yes"})
    assert decision(db_session, millie, "social_media").allowed
    assert emails(db_session, "withdrawn") == []
    answer(client, millie.id, {"answer_social_media": "no"})
    result = decision(db_session, millie, "social_media")
    assert not result.allowed and result.why is Why.withdrawn
    assert emails(db_session, "withdrawn") == ["sarah@example.com"]
    message = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains("withdrawn"))
    ).one()
    assert "School social media" in message.body_text
    assert "http://127.0.0.1:8000/photos" in message.body_text
    assert len(records(db_session)) == 2  # nothing is overwritten


def test_parents_who_disagree_refusal_wins_and_both_are_told(
    client, db_session, family, sarah, app
):
    millie = family.pupils["millie"]
    answer(client, millie.id, {"answer_video": "yes"})
    client.cookies.clear()
    sign_in_parent(client, db_session, TEST_SECRET, "tom@example.com")
    answer(client, millie.id, {"answer_video": "no"})
    result = decision(db_session, millie, "video")
    assert not result.allowed and result.why is Why.refused
    assert sorted(emails(db_session, "different answers")) == [
        "sarah@example.com",
        "tom@example.com",
    ]
    assert "Another parent or carer said no" not in text_of(client.get("/photos/answers"))
    client.cookies.clear()
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    assert "Another parent or carer said no, so we will not use photos of Millie" in text_of(
        client.get("/photos/answers")
    )


def test_another_familys_child_a_leaver_and_unknown_ids_are_not_found(
    client, db_session, family, sarah
):
    for pupil_id in (
        family.pupils["maya"].id,
        family.pupils["jack"].id,
        999999,
    ):
        response = answer(client, pupil_id, {"answer_website": "yes", "naming_website": "no"})
        assert response.status_code == 404, pupil_id
    for path in ("/photos/answers/0", f"/photos/answers/{2**64}", "/photos/answers/-1"):
        assert answer(client, 0, {}).status_code == 404
        response = client.post(path, data={"csrf_token": csrf_of(client.get("/photos/answers"))})
        assert response.status_code in (404, 405), path
    # Another pupil's id in every field of the form is only an answer to correct.
    maya = str(family.pupils["maya"].id)
    fields = {
        "answer_website": maya,
        "naming_website": maya,
        "version_website": maya,
        "pupil_id": maya,
    }
    response = answer(client, family.pupils["millie"].id, fields)
    assert response.status_code == 422
    assert "Choose yes or no for school website" in text_of(response)
    assert records(db_session) == []
    assert "Maya" not in client.get("/photos/answers").text


def test_a_contact_without_parental_responsibility_cannot_answer(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "ama@example.com")
    shown = page(client.get("/photos/answers"))
    assert "does not show you as having parental responsibility" in shown.get_text(" ")
    assert shown.select("form[action^='/photos/answers/']") == []
    response = answer(client, family.pupils["millie"].id, {"answer_website": "no"})
    assert response.status_code == 404
    assert records(db_session) == []


def test_a_restricted_pupil_shows_the_parent_nothing_of_the_flag(client, db_session, family, sarah):
    millie = family.pupils["millie"]
    answer(client, millie.id, {"answer_displays": "yes"})
    before = text_of(client.get("/photos/answers"))
    head = make_user(db_session, Role.head)
    flags.set_flag(db_session, head, millie, FlagKind.at_risk, "Court order: no photos at all.")
    db_session.commit()
    after = client.get("/photos/answers")
    assert text_of(after) == before
    assert answer(client, millie.id, {"answer_video": "yes"}).status_code == 303
    for word in ("restrict", "Restrict", "safeguard", "Court order", "at risk"):
        assert word not in client.get("/photos/answers").text
    assert decision(db_session, millie, "displays").why is Why.restricted


def test_a_form_with_problems_comes_back_filled_in(client, db_session, family, sarah):
    millie = family.pupils["millie"]
    response = answer(
        client, millie.id, {"answer_website": "yes", "answer_displays": "no", "answer_video": "x"}
    )
    assert response.status_code == 422
    shown = page(response)
    assert shown.title.text.startswith("Error: ")
    summary = [a["href"] for a in shown.select(".govuk-error-summary a")]
    assert f"#c{millie.id}-naming_website" in summary
    assert f"#c{millie.id}-answer_video" in summary
    assert shown.select_one(f"#c{millie.id}-answer_website")["value"] == "yes"
    assert shown.select_one(f"#c{millie.id}-answer_website").has_attr("checked")
    assert shown.select_one("input[name=answer_displays][value=no]").has_attr("checked")
    assert records(db_session) == []
    nothing = answer(client, millie.id, {})
    assert nothing.status_code == 422 and "Answer at least one question" in text_of(nothing)


def test_an_answer_to_wording_that_changed_meanwhile_is_asked_again(
    client, db_session, family, sarah
):
    millie = family.pupils["millie"]
    website = db_session.scalars(select(Purpose).where(Purpose.key == "website")).one()
    website.wording = "Photos on the website, now with video clips."
    website.version = 2
    db_session.add(website)
    db_session.commit()
    response = answer(
        client, millie.id, {"answer_website": "yes", "naming_website": "no", "version_website": "1"}
    )
    assert response.status_code == 422
    assert "The words for school website have changed" in text_of(response)
    assert "now with video clips" in text_of(response)
    assert records(db_session) == []
    again = answer(
        client, millie.id, {"answer_website": "yes", "naming_website": "no", "version_website": "2"}
    )
    assert again.status_code == 303
    assert records(db_session)[0].wording_version == 2


def test_pupils_of_12_and_over_are_asked_too_when_the_school_says_so(client, db_session, family):
    older = add_pupil(db_session, family, "ben", "Ben", "Jones", born=date(2013, 1, 10))
    link(db_session, family, "ben", "Sarah Jones", "sarah@example.com")
    db_session.commit()
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    assert "has Ben agreed?" not in text_of(client.get("/photos/answers"))
    db_session.add(ConsentSettings(ask_pupils_12_and_over=True))
    db_session.commit()
    shown = text_of(client.get("/photos/answers"))
    assert "If yes: has Ben agreed?" in shown
    assert "has Millie agreed?" not in shown  # Millie is 9
    response = answer(client, older.id, {"answer_displays": "yes"})
    assert response.status_code == 422
    assert "Say whether Ben agrees to displays in school" in text_of(response)
    answer(client, older.id, {"answer_displays": "yes", "agreed_displays": "no"})
    assert decision(db_session, older, "displays").why is Why.pupil_refused
    answer(client, older.id, {"answer_displays": "yes", "agreed_displays": "yes"})
    assert decision(db_session, older, "displays").allowed
    # A yes nobody asked the pupil about (before the setting, or on paper) is not enough.
    answer(client, family.pupils["millie"].id, {"answer_video": "yes"})
    assert decision(db_session, family.pupils["millie"], "video").allowed
