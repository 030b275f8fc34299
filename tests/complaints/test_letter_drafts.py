"""Letters are drafts until sent: saved as typed, previewed as the parent will get them (page and
PDF), then sent once; a sent letter cannot change, and "Use this" never loses what was typed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.complaints import services
from portal.complaints.models import (
    Complaint,
    ComplaintMessage,
    LetterDraft,
    MessageKind,
    Status,
)
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from tests.complaints.test_attacks import _at_once
from tests.complaints.test_staff_pages import (
    as_user,
    case_url,
    outbox_subjects,
    reload,
    send_letter,
    use_paragraph,
)
from tests.conftest import csrf_of, page, text_of
from tests.factories import make_case

LETTER = {
    "outcome": "partly_upheld",
    "investigated": "We read the lunchtime records for the whole week.",
    "decision": "Portions were too small on two days. That has been put right.",
    "actions": "The kitchen will check portions every day this term.",
}


def save(client, case: Complaint, data: dict, *, version: str | None = None, intent="save"):
    token = csrf_of(client.get(case_url(case)))
    if version is None:
        field = page(client.get(case_url(case))).select_one("input[name=draft_version]")
        version = field["value"] if field else ""
    return client.post(
        case_url(case, "letter"),
        data={**data, "intent": intent, "draft_version": version, "csrf_token": token},
        follow_redirects=False,
    )


def letters_of(db_session, case: Complaint) -> list[ComplaintMessage]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(ComplaintMessage).where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.stage1_letter,
            )
        )
    )


def test_use_this_adds_the_paragraph_after_what_was_typed_and_sends_nothing(
    client, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open", parent_name="Jo Bloggs")
    as_user(client, cast.head)
    typed = {
        "outcome": "upheld",
        "investigated": "I spoke to Mr Hill on Monday.\n\nHe remembers the day well.",
        "decision": "Half a decision, still being written",
    }

    shown = page(use_paragraph(client, case, "spoke_to_staff", typed))

    investigated = shown.select_one("#investigated").text
    assert investigated.startswith("I spoke to Mr Hill on Monday.\n\nHe remembers the day well.")
    assert investigated.endswith(
        "We have also read our notes from the time and everything you told us."
    )
    assert shown.select_one("#decision").text == "Half a decision, still being written"
    assert shown.select_one("#outcome").has_attr("checked")
    assert "Paragraph added after what you had typed" in shown.text
    assert reload(db_session, case).status == Status.open
    assert letters_of(db_session, case) == []
    assert not any("response" in s.lower() for s in outbox_subjects(db_session))


def test_a_saved_draft_comes_back_and_the_parent_sees_none_of_it(
    client, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    emails_before = db_session.scalar(select(func.count()).select_from(OutboxMessage))

    saved = save(client, case, {**LETTER, "decision": "Still thinking about this one."})

    assert saved.status_code == 303
    assert saved.headers["location"].endswith("?done=letter#letter")
    again = page(client.get(saved.headers["location"]))
    assert again.select_one("#decision").text == "Still thinking about this one."
    assert "Draft saved" in again.select_one("#letter").text
    assert "The parent cannot see it" in again.select_one("#letter").text
    events = db_session.scalars(
        select(HistoryEvent).where(
            HistoryEvent.subject_id == str(case.id), HistoryEvent.tag == "complaint:letter:saved"
        )
    ).all()
    assert len(events) == 1
    assert "Draft of the stage 1 response letter saved" in again.text
    db_session.expire_all()
    draft = db_session.scalars(select(LetterDraft).where(LetterDraft.complaint_id == case.id)).one()
    assert (draft.decision, draft.sent_at) == ("Still thinking about this one.", None)
    # Nothing reaches the parent: no letter, no email, nothing on the tracking page.
    assert letters_of(db_session, case) == []
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == emails_before


def test_the_preview_is_the_letter_the_parent_gets(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open", parent_name="Jo Bloggs")
    as_user(client, cast.head)

    previewed = save(client, case, LETTER, intent="preview")
    assert previewed.status_code == 303
    assert previewed.headers["location"] == f"{case_url(case)}/letter"
    preview = client.get(previewed.headers["location"])
    assert preview.status_code == 200
    shown = page(preview)
    assert "Check the stage 1 response letter before you send it" in shown.select_one("h1").text
    body = shown.select_one(".school-letter").text
    assert "Dear Jo Bloggs" in body
    assert LETTER["decision"] in body
    pdf = client.get(f"{case_url(case)}/letter.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "draft-letter" in pdf.headers["content-disposition"]
    assert letters_of(db_session, case) == []

    form = shown.select_one(f"form[action='{case_url(case)}/respond']")
    sent = client.post(
        form["action"],
        data={
            "draft_version": form.select_one("input[name=draft_version]")["value"],
            "csrf_token": form.select_one("input[name=csrf_token]")["value"],
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    (letter,) = letters_of(db_session, case)
    assert letter.body == body.strip()
    assert reload(db_session, case).status == Status.responded
    assert f"Our response to your complaint {case.reference}" in outbox_subjects(db_session)
    draft = db_session.scalars(select(LetterDraft).where(LetterDraft.complaint_id == case.id)).one()
    assert draft.message_id == letter.id and draft.sent_at is not None

    # A sent letter cannot change: no form, and a forged save or second send is refused.
    after = page(client.get(case_url(case)))
    assert after.select_one(f"form[action='{case_url(case)}/letter']") is None
    forged = save(client, case, {**LETTER, "decision": "Changed after sending"}, version="2")
    assert forged.status_code == 422
    assert "not waiting for a letter" in text_of(forged)
    twice = client.post(
        f"{case_url(case)}/respond",
        data={"draft_version": str(draft.version), "csrf_token": csrf_of(client.get("/staff"))},
        follow_redirects=False,
    )
    assert twice.status_code == 422
    assert len(letters_of(db_session, case)) == 1


def test_an_incomplete_letter_is_kept_and_the_missing_part_named(
    client, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    previewed = save(client, case, {"investigated": "Only this part so far."}, intent="preview")

    assert previewed.status_code == 422
    shown = page(previewed)
    assert shown.select_one(".govuk-error-summary a")["href"] == "#outcome"
    assert shown.select_one("#investigated").text == "Only this part so far."
    db_session.expire_all()
    draft = db_session.scalars(select(LetterDraft).where(LetterDraft.complaint_id == case.id)).one()
    assert draft.investigated == "Only this part so far."
    # The page holds the saved draft's version, so saving again from it works.
    assert save(client, case, {**LETTER}).status_code == 303


def test_a_save_from_an_older_page_never_overwrites_and_loses_nothing(
    client, db_session, settings, cast
):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    assert save(client, case, LETTER, version="").status_code == 303

    stale = save(client, case, {**LETTER, "decision": "Typed in the other tab."}, version="")

    assert stale.status_code == 422
    shown = page(stale)
    assert "Someone saved this letter after you opened it" in shown.text
    assert shown.select_one("#decision").text == "Typed in the other tab."
    db_session.expire_all()
    draft = db_session.scalars(select(LetterDraft).where(LetterDraft.complaint_id == case.id)).one()
    assert draft.decision == LETTER["decision"]
    assert shown.select_one("input[name=draft_version]")["value"] == str(draft.version)


def test_a_letter_changed_after_its_preview_is_not_sent(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    save(client, case, LETTER, intent="preview")
    preview = page(client.get(f"{case_url(case)}/letter"))
    previewed_version = preview.select_one("input[name=draft_version]")["value"]
    assert (
        save(client, case, {**LETTER, "decision": "A different decision now."}).status_code == 303
    )

    sent = client.post(
        f"{case_url(case)}/respond",
        data={"draft_version": previewed_version, "csrf_token": csrf_of(client.get("/staff"))},
        follow_redirects=False,
    )

    assert sent.status_code == 422
    assert "changed after you previewed it" in text_of(sent)
    assert letters_of(db_session, case) == []


def test_hostile_letters_get_clear_messages(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)

    too_long = save(client, case, {**LETTER, "decision": "x" * 20_001})
    nothing = save(client, case, {"outcome": "", "investigated": "  "})
    odd = save(client, case, {**LETTER, "outcome": "99999999999999999999"}, version="abc")
    unknown = save(client, case, LETTER, intent="use:no-such-paragraph")

    assert too_long.status_code == 422 and "under 20,000 characters" in text_of(too_long)
    assert nothing.status_code == 422 and "Write some of the letter" in text_of(nothing)
    assert odd.status_code in (303, 422)
    assert unknown.status_code in (303, 422)
    assert client.get(f"{case_url(case)}/letter.pdf").status_code in (200, 404)


def test_only_the_handler_previews(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    as_user(client, cast.head)
    save(client, case, LETTER, intent="preview")

    for person, expected in ((cast.office, 403), (cast.clerk, 403), (cast.governors[0], 404)):
        as_user(client, person)
        assert client.get(f"{case_url(case)}/letter").status_code == expected, person.name
        assert client.get(f"{case_url(case)}/letter.pdf").status_code == expected, person.name


def test_the_panel_outcome_is_drafted_previewed_and_sent(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "panel")
    as_user(client, cast.clerk)

    sent = send_letter(client, case, "outcome", LETTER)

    assert sent.status_code == 303, text_of(sent)
    case = reload(db_session, case)
    assert case.status == Status.closed
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(ComplaintMessage)
            .where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.stage2_letter,
            )
        )
        == 1
    )


@pytest.mark.committed
def test_the_same_letter_sent_from_two_tabs_at_once_goes_once(app, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "open")
    draft = services.save_draft(
        db_session, case, cast.head, services.LetterWords(**LETTER), version=None
    )
    db_session.commit()
    version = draft.version

    def send(session, complaint):
        head = session.get(type(cast.head), cast.head.id)
        services.send_draft(session, settings, complaint, head, version=version)

    outcomes = _at_once(app, 6, send, case.id)

    assert outcomes.count("won") == 1
    assert len(letters_of(db_session, case)) == 1
