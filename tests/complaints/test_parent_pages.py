"""What a parent meets (issue 8): their own words shown as written on every page, their answers on
the tracking page, the withdrawal told to them, the child's name on the anonymous path, length
limits said before sending, the start page's shape, and one name for tracking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.complaints import form_views, services
from portal.complaints.forms import PARENT_TEXT_LIMIT
from portal.complaints.models import Complaint, ComplaintDraft, ComplaintMessage, MessageKind
from portal.config import PROJECT_ROOT
from portal.mail import OutboxMessage
from tests.complaints.test_letters import pdf_text
from tests.conftest import csrf_of, page, post_form, text_of
from tests.factories import add_file, answers, make_case, sign_in

# What a parent may type: markup-like text, quotes, an ampersand, lines and paragraphs.
WORDS = (
    'He said "it\'s fine" & walked off.\n'
    "Then <b>nothing</b> happened <script>alert(1)</script>\n"
    "\n"
    "A second paragraph, with    spaces kept."
)
TYPED = WORDS.replace("\n", "\r\n")  # as a browser sends a textarea
PARENT_NAME = "Siobhán O'Brien & Dev"
EMAIL = "siobhan.obrien@example.com"


def submitted(db_session, settings, **overrides) -> tuple[Complaint, str]:  # type: ignore[no-untyped-def]
    """A case as the parent sent it, and its private link's token."""
    values = {
        "what_happened": WORDS,
        "done_so_far": WORDS,
        "put_right": WORDS,
        "parent_name": PARENT_NAME,
        "parent_email": EMAIL,
        **overrides,
    }
    received = services.submit(db_session, settings, answers(**values))
    db_session.commit()
    return received.complaint, received.access_token


def shown_as_written(element) -> None:  # type: ignore[no-untyped-def]
    """The parent's words, character for character, in an element that keeps line breaks."""
    assert element is not None
    assert element.get_text() == WORDS
    assert "school-pre" in element["class"]
    assert element.get("dir") == "auto"


def answer(client, step: str, data: dict):  # type: ignore[no-untyped-def]
    return post_form(client, f"/complaints/new/{step}", data)


def answer_up_to_contact(client) -> None:  # type: ignore[no-untyped-def]
    for step, data in (
        ("kind", {"kind": "complaint"}),
        ("about", {"about": "school"}),
        ("category", {"category": "Behaviour and bullying"}),
        ("what-happened", {"what_happened": TYPED}),
        ("done-so-far", {"done_so_far": TYPED}),
        ("put-right", {"put_right": TYPED}),
    ):
        response = answer(client, step, data)
        assert response.status_code == 303, (step, text_of(response))


CONTACT = {"parent_name": PARENT_NAME, "parent_email": EMAIL, "child_name": "Alex O'Brien"}


def errors_of(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    summary = page(response).select(".govuk-error-summary a")
    return {link["href"]: link.get_text(strip=True) for link in summary}


# ---------------------------------------------------------------- 1. the parent's words as written


def test_the_check_page_shows_each_answer_exactly_as_typed(client):
    answer_up_to_contact(client)
    assert answer(client, "contact", CONTACT).status_code == 303
    response = client.get("/complaints/new/check")
    assert "&amp;lt;" not in response.text and "&lt;span" not in response.text
    values = page(response).select(".govuk-summary-list__value .school-pre")
    assert len(values) == 3
    for value in values:
        shown_as_written(value)
    assert PARENT_NAME in text_of(response)


def test_the_tracking_page_shows_the_answers_and_messages_exactly_as_written(
    client, db_session, settings
):
    case, token = submitted(db_session, settings)
    services.parent_reply(db_session, settings, case, WORDS)
    db_session.commit()
    html = page(client.get(f"/track/{token}"))
    answers_list = html.select_one("#your-answers")
    written = answers_list.select(".school-pre")
    assert len(written) == 3
    for value in written:
        shown_as_written(value)
    [reply] = [b for b in html.select(".school-message .school-pre") if b.get_text() == WORDS]
    shown_as_written(reply)
    assert html.select_one("#your-answers").find(string=re.compile("Siobhán O'Brien & Dev"))


def test_the_staff_case_page_shows_the_parents_words_exactly(client, db_session, settings, cast):
    case = make_case(
        db_session, settings, cast, "open", what_happened=WORDS, done_so_far=WORDS, put_right=WORDS
    )
    services.parent_reply(db_session, settings, case, WORDS)
    db_session.commit()
    sign_in(client, cast.head)
    html = page(client.get(f"/staff/complaints/{case.reference}"))
    answers_list = html.select_one("#parent-answers")
    written = answers_list.select(".school-pre")
    assert len(written) == 3
    for value in written:
        shown_as_written(value)
    bodies = [b for b in html.select("#messages .school-pre") if b.get_text() == WORDS]
    assert len(bodies) == 1
    shown_as_written(bodies[0])


def test_letters_and_emails_show_the_parents_name_as_written(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "responded", parent_name=PARENT_NAME)
    letter = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.stage1_letter,
        )
    ).one()
    assert letter.body.startswith(f"Dear {PARENT_NAME},")
    found = post_form(client, "/track", {"reference": case.reference, "email": case.parent_email})
    assert found.status_code == 303
    html = page(client.get("/track/case"))
    shown = html.select_one(f"#message-{letter.id} .school-letter")
    assert shown.get_text() == letter.body
    assert "school-pre" in shown["class"]
    pdf = client.get(f"/track/case/letters/{letter.id}.pdf")
    assert f"Dear {PARENT_NAME}," in pdf_text(pdf.content)
    emails = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == case.parent_email)
    ).all()
    assert emails and all(f"Dear {PARENT_NAME}," in email.body_text for email in emails)


# ---------------------------------------------------------------- 2. what the parent sent


def test_the_tracking_page_lets_the_parent_reread_their_answers_and_files(
    client, db_session, settings
):
    file_id = add_file(db_session, settings, "lunch-menu.pdf")
    _, token = submitted(
        db_session, settings, attachment_ids=[file_id], about_name="", child_name="Alex O'Brien"
    )
    html = page(client.get(f"/track/{token}"))
    details = html.select_one("#your-answers").find_parent("details")
    assert details is not None and not details.has_attr("open")  # collapsed: one line on a phone
    assert details.select_one(".govuk-details__summary-text").get_text(strip=True) == (
        "Show your answers and files"
    )
    rows = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd")
        for row in details.select("#your-answers .govuk-summary-list__row")
    }
    assert list(rows) == [
        "Concern or complaint",
        "Who it is about",
        "What it is about",
        "What happened",
        "When it happened",
        "What you have done so far",
        "What would put it right",
        "Files",
        "Your name",
        "Email address",
        "Phone number",
        "Your child's name",
    ]
    assert rows["Who it is about"].get_text(strip=True) == "The school in general"
    assert rows["What it is about"].get_text(strip=True) == "Behaviour and bullying"
    assert rows["Email address"].get_text(strip=True) == EMAIL
    assert rows["Your child's name"].get_text(strip=True) == "Alex O'Brien"
    link = rows["Files"].select_one("a")
    assert link.get_text(strip=True) == "lunch-menu.pdf"
    download = client.get(link["href"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF")


def test_an_anonymous_parent_sees_they_stayed_anonymous(client, db_session, settings):
    _, token = submitted(
        db_session,
        settings,
        anonymous=True,
        parent_name="",
        parent_email="",
        parent_phone="",
        child_name="",
    )
    html = page(client.get(f"/track/{token}"))
    rows = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(strip=True)
        for row in html.select("#your-answers .govuk-summary-list__row")
    }
    assert rows["Your name"] == "You stayed anonymous"
    assert "Email address" not in rows
    assert rows["Your child's name"] == "Not given"


# ---------------------------------------------------------------- 3. withdrawal


def test_withdrawing_tells_the_parent_what_happens_now(client, db_session, settings):
    case, token = submitted(db_session, settings)
    confirm = client.get(f"/track/{token}/withdraw")
    response = client.post(
        f"/track/{token}/withdraw",
        data={"csrf_token": csrf_of(confirm), "reason": "We sorted it out."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    shown = client.get(response.headers["location"])
    words = text_of(shown)
    assert "You have withdrawn your complaint. We have stopped looking into it." in words
    assert "emailed it to you" in words
    assert "The parent withdrew" not in words

    message = db_session.scalars(
        select(ComplaintMessage).where(
            ComplaintMessage.complaint_id == case.id,
            ComplaintMessage.kind == MessageKind.withdrawal,
        )
    ).one()
    assert message.body.startswith("You withdrew your complaint on ")
    assert "What happens now\nWe have stopped looking into it" in message.body
    assert message.body.endswith("Your reason\nWe sorted it out.")
    card = page(shown).select_one(f"#message-{message.id}")
    assert card.select_one("h3").get_text(strip=True) == "You withdrew your complaint"
    assert "Our written confirmation" in card.get_text()

    [email] = [
        e
        for e in db_session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == EMAIL))
        if e.subject.startswith("You have withdrawn")
    ]
    assert f"Dear {PARENT_NAME}," in email.body_text
    assert "What happens now\nWe have stopped looking into it" in email.body_text
    assert "Check your concern or complaint" in email.body_text
    assert "The parent" not in email.body_text


def test_a_withdrawal_without_a_reason_says_so():
    body = services.withdrawal_confirmation("concern", "Tuesday 1 December 2026", "  ")
    assert body.startswith("You withdrew your concern on Tuesday 1 December 2026.")
    assert body.endswith("You did not give a reason.")


# ---------------------------------------------------------------- 4. the anonymous path


def test_the_anonymous_path_asks_about_the_childs_name(client):
    answer_up_to_contact(client)
    form = page(client.get("/complaints/new/contact"))
    legend = form.select_one("#anonymous_child").find_parent("fieldset").select_one("legend")
    assert legend.get_text(strip=True) == "If you stay anonymous, should we keep your child's name?"
    assert "can tell the school who your family is" in text_of(
        client.get("/complaints/new/contact")
    )

    response = answer(client, "contact", {"anonymous": "yes", "child_name": "Alex O'Brien"})
    assert response.status_code == 422
    assert errors_of(response) == {
        "#anonymous_child": "Select whether we should keep your child's name, or leave their "
        "name empty"
    }
    assert page(response).select_one("#child_name")["value"] == "Alex O'Brien"


@pytest.mark.parametrize(("choice", "kept"), [("keep", "Alex O'Brien"), ("remove", "")])
def test_the_parents_answer_decides_whether_the_childs_name_is_kept(
    client, db_session, choice, kept
):
    answer_up_to_contact(client)
    response = answer(
        client,
        "contact",
        {"anonymous": "yes", "child_name": "Alex O'Brien", "anonymous_child": choice},
    )
    assert response.status_code == 303
    check = client.get("/complaints/new/check")
    words = text_of(check)
    if kept:
        assert "We keep your child's name. It can tell the school who your family is." in words
    else:
        assert "Alex O'Brien" not in words and "Not kept" in words
    send = client.post(
        "/complaints/new/submit",
        data={"csrf_token": csrf_of(check), "website": ""},
        follow_redirects=False,
    )
    assert send.status_code == 303
    [complaint] = db_session.scalars(select(Complaint)).all()
    assert complaint.anonymous is True and complaint.child_name == kept


def test_no_question_about_the_child_when_not_anonymous_or_no_name(client):
    answer_up_to_contact(client)
    assert answer(client, "contact", CONTACT).status_code == 303
    assert answer(client, "contact", {"anonymous": "yes"}).status_code == 303


def test_a_draft_anonymous_with_a_childs_name_never_asked_goes_back_to_the_question(
    client, db_session
):
    """A draft saved before the question existed is sent back to the contact page."""
    answer_up_to_contact(client)
    answer(client, "contact", {"anonymous": "yes", "child_name": "Alex", "anonymous_child": "keep"})
    draft = db_session.scalars(select(ComplaintDraft)).one()
    saved = json.loads(draft.answers)
    del saved["anonymous_child"]
    draft.answers = json.dumps(saved)
    db_session.add(draft)
    db_session.commit()
    response = client.get("/complaints/new/check", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/complaints/new/contact"


# ---------------------------------------------------------------- 5. length limits said first


def character_count(html, field: str):  # type: ignore[no-untyped-def]
    textarea = html.select_one(f"textarea#{field}")
    group = textarea.find_parent(class_="govuk-character-count")
    assert group is not None, f"{field} has no character count"
    message = html.select_one(f"#{field}-info")
    assert message["id"] in textarea["aria-describedby"]
    return group, message


@pytest.mark.parametrize(
    ("step", "field", "what"),
    [
        ("what-happened", "what_happened", "What happened"),
        ("done-so-far", "done_so_far", "What you have done so far"),
        ("put-right", "put_right", "What would put it right"),
    ],
)
def test_each_form_textarea_counts_to_the_servers_limit(client, step, field, what):
    answer_up_to_contact(client)
    limit = form_views.LONG_TEXT_LIMIT
    group, message = character_count(page(client.get(f"/complaints/new/{step}")), field)
    assert group["data-maxlength"] == str(limit)
    assert message.get_text(strip=True) == f"You can enter up to {limit:,} characters"
    refused = answer(client, step, {field: "a" * (limit + 1)})
    assert errors_of(refused) == {f"#{field}": f"{what} must be {limit:,} characters or fewer"}
    # A line break counts once, as the character count counts it (the browser sends CR LF).
    accepted = answer(client, step, {field: "a" * (limit - 10) + "\r\n" * 10})
    assert accepted.status_code == 303


def test_the_tracking_textareas_count_to_the_servers_limits(client, db_session, settings, cast):
    case = make_case(db_session, settings, cast, "responded", parent_email=EMAIL)
    assert post_form(client, "/track", {"reference": case.reference, "email": EMAIL}).status_code
    html = page(client.get("/track/case"))
    for field in ("reasons", "body"):
        group, message = character_count(html, field)
        assert group["data-maxlength"] == str(PARENT_TEXT_LIMIT)
        assert (
            message.get_text(strip=True) == f"You can enter up to {PARENT_TEXT_LIMIT:,} characters"
        )
    group, _ = character_count(page(client.get("/track/case/withdraw")), "reason")
    assert group["data-maxlength"] == str(PARENT_TEXT_LIMIT)

    too_long = "a" * (PARENT_TEXT_LIMIT + 1)
    for path, field, from_page, what in (
        ("/track/case/escalate", "reasons", "/track/case", "Your reasons"),
        ("/track/case/reply", "body", "/track/case", "Your reply"),
        ("/track/case/withdraw", "reason", "/track/case/withdraw", "Your reason"),
    ):
        refused = post_form(client, path, {field: too_long}, from_page=from_page)
        assert refused.status_code == 422, path
        assert errors_of(refused) == {
            f"#{field}": f"{what} must be {PARENT_TEXT_LIMIT:,} characters or fewer"
        }
        assert page(refused).select_one(f"textarea#{field}").get_text() == too_long
    db_session.expire_all()
    assert db_session.get(Complaint, case.id).stage == "stage1"


# ---------------------------------------------------------------- 6. the start page


def test_the_start_page_puts_the_button_before_the_details(client):
    html = page(client.get("/complaints/new"))
    main = html.select_one("main")
    start = main.select_one("a.govuk-button--start")
    assert start["href"] == "/complaints/new/kind"
    assert len(main.select("a.govuk-button--start")) == 1
    before = [tag.name for tag in start.find_all_previous(["h2", "ul", "p"]) if main in tag.parents]
    assert "h2" not in before  # what you can use this for, then the button, then the details
    assert "ul" in before
    headings = [h2.get_text(strip=True) for h2 in main.select("h2")]
    assert headings[:2] == ["A concern or a complaint?", "Before you start"]
    assert "What happens next" in headings


# ---------------------------------------------------------------- 7. one name for tracking

TRACK_NAME = "Check your concern or complaint"


def test_tracking_has_one_name_everywhere(client):
    find = page(client.get("/track"))
    assert find.select_one("h1").get_text(strip=True) == TRACK_NAME
    assert find.title.get_text().startswith(TRACK_NAME + " –")
    menu = {a.get_text(strip=True): a["href"] for a in find.select("#navigation a")}
    assert menu[TRACK_NAME] == "/track"
    home = page(client.get("/"))
    assert home.select_one("main a[href='/track']").get_text(strip=True) == TRACK_NAME
    start = page(client.get("/complaints/new"))
    assert start.select_one("main a[href='/track']").get_text(strip=True) == TRACK_NAME


def test_no_page_or_email_uses_another_name_for_tracking():
    others = re.compile(r"check (on )?(a|your) (complaint|case)|check on (it|your)", re.IGNORECASE)
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)}"
        for path in Path(PROJECT_ROOT / "templates").rglob("*")
        if path.suffix in (".html", ".txt")
        for match in others.finditer(path.read_text())
    ]
    assert found == []


def test_every_parent_page_keeps_the_phase_banner_and_back_link_in_landmarks(client):
    answer_up_to_contact(client)
    for path in ("/", "/complaints/new", "/complaints/new/put-right", "/track"):
        html = page(client.get(path))
        assert html.select_one("header .govuk-phase-banner") is not None, path
        back = html.select_one(".govuk-back-link")
        assert back is None or back.find_parent("main") is not None, path
