"""Parents confirm the photo guidance and "Being online": the version confirmed is recorded, a
new version asks again, nobody confirms for anyone else; staff see who has, per class, and
remind who has not, at most once per interval."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import (
    Confirmation,
    ConfirmationReminder,
    Contact,
    Document,
)
from portal.guidance.services import publish_policy
from portal.history import HistoryEvent
from tests.conftest import TEST_SECRET, csrf_of, page, text_of
from tests.consent.confirming import confirm, emails_to, post_on_page, subjects_to
from tests.consent.families import sign_in_parent, two_families
from tests.factories import make_user, sign_in

POLICY_TEXT = "The school's Internet and Social Media Policy. " * 3


@pytest.fixture
def family(db_session):
    return two_families(db_session)


def _confirmations(db_session) -> list[Confirmation]:
    db_session.expire_all()
    return list(db_session.scalars(select(Confirmation).order_by(Confirmation.id)))


def _publish(db_session, version: str, on: date = date(2026, 9, 1)) -> None:
    publish_policy(
        db_session,
        version=version,
        effective_on=on,
        body_markdown=POLICY_TEXT + version,
        summary_of_changes="",
        user=None,
    )
    db_session.commit()


# ---------------------------------------------------------------- the parent's side


def test_the_guidance_is_public_and_asks_a_visitor_to_sign_in_to_confirm(client, family):
    response = client.get("/photos/guidance")
    assert response.status_code == 200
    shown = page(response)
    assert shown.h1.text == "Photos at school events: what we ask"
    words = text_of(response)
    for promise in (
        "Share only pictures of your own child",
        "Never share pictures of other children",
        "Filming at events",
        "If you want a picture taken down",
    ):
        assert promise in words
    assert shown.select_one("#sign-in-to-confirm")["href"] == "/photos"
    assert shown.select_one("input[name=read]") is None
    assert client.get("/photos").text.count('href="/photos/guidance"') == 1


def test_a_parent_confirms_the_guidance_and_the_page_says_when(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    before = page(client.get("/photos/guidance"))
    assert before.select_one("#read") is not None
    assert not before.select_one("#read").has_attr("checked")  # nothing pre-ticked
    response = confirm(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/photos/guidance?confirmed=1#confirm"
    [row] = _confirmations(db_session)
    assert (row.document, row.version) == ("photo-guidance", "1")
    assert row.contact_id == family.contacts["sarah@example.com"].id
    after = client.get("/photos/guidance?confirmed=1")
    assert "Thank you. We have saved your confirmation." in text_of(after)
    assert (
        page(after).select_one("#confirmed").text
        == "You confirmed this on Wednesday 25 November 2026."
    )
    assert page(after).select_one("input[name=read]") is None
    # Pressing again (another tab) keeps the one record.
    assert confirm(client, version="1", read="yes").status_code in (303, 200)
    assert len(_confirmations(db_session)) == 1
    tags = db_session.scalars(select(HistoryEvent.tag)).all()
    assert tags.count("parent:confirmed") == 1


def test_an_unticked_box_is_a_clear_error_and_records_nothing(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    shown = client.get("/photos/guidance")
    response = client.post("/photos/guidance", data={"csrf_token": csrf_of(shown), "version": "1"})
    assert response.status_code == 422
    assert page(response).title.text.startswith("Error: ")
    summary = page(response).select_one(".govuk-error-summary")
    assert "Tick the box to say you have read this and will follow it" in summary.text
    assert summary.select_one("a")["href"] == "#read"
    assert _confirmations(db_session) == []


def test_confirming_needs_a_signed_in_parent(client, db_session, family):
    token = csrf_of(client.get("/photos"))
    response = client.post(
        "/photos/guidance",
        data={"csrf_token": token, "read": "yes", "version": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/photos")
    assert _confirmations(db_session) == []


def test_a_parent_confirms_only_for_themselves(client, db_session, family):
    """Whatever the form names, the confirmation is the signed-in contact's."""
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    nisha = family.contacts["nisha@example.com"]
    response = confirm(client, contact_id=str(nisha.id), contact=str(nisha.id))
    assert response.status_code == 303
    [row] = _confirmations(db_session)
    assert row.contact_id == family.contacts["sarah@example.com"].id
    shown = client.get("/photos/guidance")
    assert "Nisha" not in shown.text
    assert "Sarah Jones" in text_of(shown)


def test_a_new_policy_version_asks_again(client, db_session, family):
    _publish(db_session, "7")
    sign_in_parent(client, db_session, TEST_SECRET, "tom@example.com")
    assert "/parents/online/confirm" in client.get("/parents/online").text
    first = client.get("/parents/online/confirm")
    assert "version 7" in text_of(first)
    assert confirm(client, "/parents/online/confirm").status_code == 303
    assert page(client.get("/parents/online/confirm")).select_one("#confirmed") is not None
    _publish(db_session, "8", on=date(2026, 11, 20))
    again = client.get("/parents/online/confirm")
    assert page(again).select_one("#confirmed") is None
    assert "You confirmed an earlier version on Wednesday 25 November 2026" in text_of(again)
    assert page(again).select_one("input[name=version]")["value"] == "8"
    assert confirm(client, "/parents/online/confirm").status_code == 303
    rows = _confirmations(db_session)
    assert [(r.document, r.version) for r in rows] == [
        ("online-policy", "7"),
        ("online-policy", "8"),
    ]


def test_a_page_opened_before_a_new_version_is_refused_with_what_to_do(client, db_session, family):
    _publish(db_session, "3")
    sign_in_parent(client, db_session, TEST_SECRET, "tom@example.com")
    shown = client.get("/parents/online/confirm")
    _publish(db_session, "4", on=date(2026, 11, 1))
    response = client.post(
        "/parents/online/confirm",
        data={"csrf_token": csrf_of(shown), "read": "yes", "version": "3"},
    )
    assert response.status_code == 409
    assert "This page changed while you were reading it" in text_of(response)
    assert _confirmations(db_session) == []


def test_without_a_published_policy_there_is_nothing_to_confirm(client, db_session, family):
    from portal.guidance.models import PolicyVersion

    if db_session.scalar(select(PolicyVersion.id)) is not None:
        pytest.skip("the demo school has a policy")
    sign_in_parent(client, db_session, TEST_SECRET, "tom@example.com")
    shown = client.get("/parents/online/confirm")
    assert page(shown).select_one("#nothing-to-confirm") is not None


def test_raising_the_guidance_version_asks_every_parent_again(client, db_session, family):
    sign_in_parent(client, db_session, TEST_SECRET, "sarah@example.com")
    confirm(client)
    head = make_user(db_session, Role.head)
    staff = type(client)(client.app)
    sign_in(staff, head)
    raised = post_on_page(
        staff, "/staff/confirmations", "/staff/confirmations/guidance-version", {"version": "1"}
    )
    assert raised.status_code == 303
    again = post_on_page(
        staff, "/staff/confirmations", "/staff/confirmations/guidance-version", {"version": "1"}
    )
    assert again.status_code == 409  # the page showed version 1: raised once, not twice
    assert "Someone else changed the guidance version" in text_of(again)
    shown = client.get("/photos/guidance")
    assert page(shown).select_one("input[name=version]")["value"] == "2"
    assert "You confirmed an earlier version" in text_of(shown)
    office = type(client)(client.app)
    sign_in(office, make_user(db_session, Role.office))
    token = csrf_of(office.get("/staff/confirmations"))
    refused = office.post(
        "/staff/confirmations/guidance-version",
        data={"csrf_token": token, "version": "2"},
        follow_redirects=False,
    )
    assert refused.status_code == 403


# ---------------------------------------------------------------- staff: per class


def test_staff_see_per_class_who_has_confirmed_with_counts(client, db_session, family):
    parent = type(client)(client.app)
    sign_in_parent(parent, db_session, TEST_SECRET, "nisha@example.com")
    confirm(parent)
    sign_in(client, make_user(db_session, Role.office))
    response = client.get("/staff/confirmations?class_name=3B")
    assert response.status_code == 200
    shown = page(response)
    counts = shown.select_one("#count-photo-guidance").text
    # 3B: Millie (Sarah, Tom, Ama) and Maya (Nisha): four contacts, one confirmed.
    assert "1 of 4" in counts
    rows = {
        tr.th.text.strip(): tr.select("td")[1].text.strip()
        for tr in shown.select("#families tbody tr")
    }
    assert rows["Nisha Patel"].startswith("Confirmed")
    assert rows["Sarah Jones"] == "Not confirmed"
    assert "Jack" not in response.text  # a leaver's family is not listed for the class
    assert "/staff/confirmations" in [a["href"] for a in shown.select("#navigation a")]


def test_email_those_who_have_not_confirmed_once_per_interval(client, db_session, family, clock):
    parent = type(client)(client.app)
    sign_in_parent(parent, db_session, TEST_SECRET, "nisha@example.com")
    confirm(parent)
    office = make_user(db_session, Role.office, name="Olive Office")
    sign_in(client, office)
    data = {"document": "photo-guidance", "class_name": "3B"}
    sent = post_on_page(client, "/staff/confirmations", "/staff/confirmations/remind", data)
    assert sent.status_code == 303
    for address in ("sarah@example.com", "tom@example.com", "ama@example.com"):
        [message] = [m for m in emails_to(db_session, address) if "confirm" in m.subject]
        assert message.subject == "Please read and confirm: Photo guidance for school events"
        assert "/photos/guidance" in message.body_text
    assert not [m for m in emails_to(db_session, "nisha@example.com") if "confirm" in m.subject]
    [reminder] = db_session.scalars(select(ConfirmationReminder)).all()
    assert (reminder.emails, reminder.sent_by_user_id) == (3, office.id)
    shown = page(client.get("/staff/confirmations?class_name=3B"))
    line = shown.select_one("#reminders-sent tbody tr").text
    assert "Olive Office" in line and "25 November 2026 at 10:00" in line and "3" in line

    clock.advance(timedelta(days=3))
    sign_in(client, office)  # the staff session has ended meanwhile
    refused = post_on_page(client, "/staff/confirmations", "/staff/confirmations/remind", data)
    assert refused.status_code == 409
    words = text_of(refused)
    assert "A reminder went on Wednesday 25 November 2026 at 10:00 by Olive Office" in words
    assert "You can send another from Wednesday 2 December 2026 at 10:00" in words
    assert len(db_session.scalars(select(ConfirmationReminder)).all()) == 1
    # The other page is a different reminder, and another class too.
    other = post_on_page(
        client,
        "/staff/confirmations",
        "/staff/confirmations/remind",
        {"document": "photo-guidance", "class_name": "4M"},
    )
    assert other.status_code == 303

    clock.advance(timedelta(days=4))
    sign_in(client, office)
    again = post_on_page(client, "/staff/confirmations", "/staff/confirmations/remind", data)
    assert again.status_code == 303
    assert len(subjects_to(db_session, "sarah@example.com")) >= 3


def test_nobody_to_remind_is_said_plainly(client, db_session, family):
    for address in ("sarah@example.com", "tom@example.com", "ama@example.com", "nisha@example.com"):
        parent = type(client)(client.app)
        sign_in_parent(parent, db_session, TEST_SECRET, address)
        confirm(parent)
    sign_in(client, make_user(db_session, Role.admin))
    refused = post_on_page(
        client,
        "/staff/confirmations",
        "/staff/confirmations/remind",
        {"document": "photo-guidance", "class_name": "3B"},
    )
    assert refused.status_code == 409
    assert "There is nobody to remind" in text_of(refused)


@pytest.mark.parametrize(
    "data",
    [
        {"document": "nothing", "class_name": "3B"},
        {"document": "photo-guidance", "class_name": "9Z"},
        {"document": "photo-guidance\x00", "class_name": "3B" * 5000},
        {"document": "\u202ephoto-guidance", "class_name": str(2**70)},
    ],
)
def test_a_reminder_with_hostile_fields_is_refused_clearly(client, db_session, family, data):
    sign_in(client, make_user(db_session, Role.office))
    response = post_on_page(client, "/staff/confirmations", "/staff/confirmations/remind", data)
    assert response.status_code == 422
    assert page(response).select_one(".govuk-error-summary") is not None
    assert db_session.scalars(select(ConfirmationReminder)).all() == []


def test_who_may_open_the_staff_pages(client, db_session, family):
    allowed = {Role.office, Role.head, Role.admin}
    for role in Role:
        browser = type(client)(client.app)
        sign_in(browser, make_user(db_session, role))
        for path in ("/staff/confirmations", "/staff/events/new"):
            code = browser.get(path, follow_redirects=False).status_code
            assert code == (200 if role in allowed else 403), (role, path)


def test_the_documents_know_their_pages():
    assert Document.photo_guidance.path == "/photos/guidance"
    assert Document.online_policy.path == "/parents/online/confirm"
    assert {d.value for d in Document} == {"photo-guidance", "online-policy"}


def test_contacts_are_not_listed_for_other_classes(client, db_session, family):
    sign_in(client, make_user(db_session, Role.head))
    shown = page(client.get("/staff/confirmations?class_name=4M"))
    names = [tr.th.text.strip() for tr in shown.select("#families tbody tr")]
    assert names == ["Sarah Jones", "Tom Jones"]
    assert db_session.scalar(select(Contact.id).where(Contact.email == "nisha@example.com"))
