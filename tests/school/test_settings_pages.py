"""The school settings pages: each renders for an admin, each form refuses bad input with a
clear message and keeps what was typed, each change is one history event, and the next request
shows it."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.school import profile as rules
from tests.conftest import page, text_of
from tests.factories import admin_client, make_user, school_now, sign_in
from tests.school.helpers import school_events, send

PAGES = [
    "/staff/settings",
    "/staff/settings/name",
    "/staff/settings/contact",
    "/staff/settings/official-channels",
    "/staff/settings/colour",
    "/staff/settings/crest",
    "/staff/settings/timescales",
    "/staff/settings/categories",
    "/staff/settings/other-procedures/new",
    "/staff/settings/other-procedures/admissions",
    "/staff/settings/letter-paragraphs/new",
    "/staff/settings/letter-paragraphs/1",
    "/staff/setup/school",
    "/staff/setup/timescales",
]


def test_every_settings_page_renders_for_an_admin_with_one_h1(client, db_session):
    admin_client(client, db_session)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        headings = page(response).select("h1")
        assert len(headings) == 1, url
        assert page(response).title.text.startswith(headings[0].text.strip()), url


@pytest.mark.parametrize("role", [r for r in Role if r != Role.admin])
def test_every_other_role_is_refused(client, db_session, role):
    user = make_user(db_session, role)
    sign_in(client, user)
    for url in [*PAGES, "/staff/setup"]:
        assert client.get(url, follow_redirects=False).status_code == 403, url


def test_the_overview_shows_every_setting_with_a_change_link(client, db_session, school):
    admin_client(client, db_session)
    response = client.get("/staff/settings")
    words = text_of(response)
    for expected in (
        school.name,
        school.contact_email,
        school.contact_phone,
        "The prospectus",
        school.brand_colour,
        "5 school days",
        "3 months",
        "Teaching and learning",
        "School admissions",
        "Meeting offered",
    ):
        assert expected in words, expected
    links = {a["href"] for a in page(response).select("a")}
    for href in ("/staff/settings/term-dates", "/staff/settings/wording", *PAGES[1:12]):
        assert href in links, href
    assert "School settings" in [a.text for a in page(response).select("nav a")]


def test_a_new_name_is_one_history_event_and_the_next_page_shows_it(client, db_session):
    admin = admin_client(client, db_session)
    before = len(school_events(db_session))
    response = send(client, "/staff/settings/name", {"name": "  Brookfield   Academy "})
    assert response.status_code == 303
    assert page(client.get("/")).select_one(".school-header__name").text == "Brookfield Academy"
    events = school_events(db_session)
    assert len(events) == before + 1
    event = events[-1]
    assert event.tag == rules.CHANGED_TAG
    assert event.actor_user_id == admin.id
    assert event.details == {
        "field": "name",
        "from": "Brookfield Primary School",
        "to": "Brookfield Academy",
    }
    overview = text_of(client.get("/staff/settings"))
    assert "From “Brookfield Primary School” to “Brookfield Academy”" in overview
    assert "Ada Admin" in overview


def test_an_empty_name_is_refused_with_what_to_do(app, client, db_session, school):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/name", {"name": "   "})
    assert response.status_code == 422
    assert "Enter the school's name" in text_of(response)
    assert page(response).title.text.startswith("Error: ")
    assert school_now(app).name == school.name


def test_contact_details_are_checked_and_kept_as_typed(app, client, db_session, school):
    admin_client(client, db_session)
    typed = {
        "contact_email": "office@a.example, head@b.example",
        "contact_phone": "call us",
        "contact_address": "",
        "website_url": "http://brookfield.example",
    }
    response = send(client, "/staff/settings/contact", typed)
    assert response.status_code == 422
    words = text_of(response)
    assert "Enter one email address in the right format" in words
    assert "Enter a phone number using digits and spaces" in words
    assert "Enter the school's postal address" in words
    assert "starting with https://" in words
    form = page(response)
    assert form.select_one("#contact_email")["value"] == typed["contact_email"]
    assert form.select_one("#website_url")["value"] == typed["website_url"]
    assert school_now(app).contact_email == school.contact_email


def test_contact_details_saved_are_one_event_each(app, client, db_session):
    admin_client(client, db_session)
    before = len(school_events(db_session))
    response = send(
        client,
        "/staff/settings/contact",
        {
            "contact_email": " Office@Brookfield.EXAMPLE ",
            "contact_phone": "01234 999999",
            "contact_address": "Brookfield Primary School, Mill Lane, Bedford MK40 1AA",
            "website_url": "https://brookfield-primary.example",
        },
    )
    assert response.status_code == 303
    school = school_now(app)
    assert school.contact_email == "Office@brookfield.example"
    assert school.contact_phone == "01234 999999"
    events = school_events(db_session)[before:]
    assert [e.details["field"] for e in events] == ["contact_email", "contact_phone"]
    assert "01234 999999" in text_of(client.get("/"))


def test_official_channels_one_per_line(app, client, db_session):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/official-channels", {"official_channels": " \n"})
    assert response.status_code == 422
    assert "Enter at least one official channel" in text_of(response)
    response = send(
        client,
        "/staff/settings/official-channels",
        {"official_channels": "The website\n\n  The newsletter  \nLetters home"},
    )
    assert response.status_code == 303
    channels = school_now(app).official_channels
    assert channels == ("The website", "The newsletter", "Letters home")
    event = school_events(db_session)[-1]
    assert event.details["to"] == list(channels)
    assert isinstance(event.details["from"], list)


def test_a_pale_colour_is_refused_with_its_contrast_and_a_preview(app, client, db_session, school):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/colour", {"brand_colour": "#f0c000"})
    assert response.status_code == 422
    assert (
        "White text on #f0c000 has a contrast of 1.7:1; choose a darker colour (at least 4.5:1)"
        in text_of(response)
    )
    assert page(response).select_one("#brand_colour")["value"] == "#f0c000"
    assert page(response).select_one("img.school-swatch")["src"].startswith("data:image/svg+xml,")
    assert school_now(app).brand_colour == school.brand_colour


def test_a_dark_colour_is_saved_and_brand_css_has_it_at_once(client, db_session):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/colour", {"brand_colour": "#0B3D2E"})
    assert response.status_code == 303
    assert "--govuk-brand-colour:#0b3d2e" in client.get("/brand.css").text
    assert school_events(db_session)[-1].details == {
        "field": "brand_colour",
        "from": "#5b2a86",
        "to": "#0b3d2e",
    }


@pytest.mark.parametrize("value", ["purple", "#12345", "#gggggg", "", "#5b2a86; x"])
def test_a_colour_that_is_not_hex_is_refused(client, db_session, value):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/colour", {"brand_colour": value})
    assert response.status_code == 422
    assert "Enter the colour as # and 6 hex digits" in text_of(response)


def test_contrast_ratio_follows_wcag():
    assert rules.contrast_with_white("#000000") == pytest.approx(21.0)
    assert rules.contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert rules.contrast_with_white("#1d70b8") >= 4.5  # GOV.UK blue passes
    assert rules.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert rules.contrast_with_white("#777777") < 4.5
    assert rules.read_colour("#767676")[1] == {}
    assert "4.4:1" in rules.read_colour("#777777")[1]["brand_colour"]  # never rounded up to 4.5


def test_timescales_have_bounds_and_say_what_the_guidance_suggests(app, client, db_session, school):
    admin_client(client, db_session)
    form = client.get("/staff/settings/timescales")
    words = text_of(form)
    for number in ("suggests 5", "suggests 10", "suggests 20", "suggests 3"):
        assert number in words
    typed = {
        "acknowledge_within_days": "0",
        "concern_response_days": "61",
        "stage1_response_days": "ten",
        "escalation_window_days": "",
        "stage2_outcome_days": "20",
        "late_after_months": "13",
        "reminder_days_before": "2",
    }
    response = send(client, "/staff/settings/timescales", typed)
    assert response.status_code == 422
    words = text_of(response)
    assert "Enter a number of school days from 1 to 60" in words
    assert "Enter a whole number of school days, like 10" in words
    assert "Enter a number of school days" in words
    assert "Enter a number of months from 1 to 12" in words
    assert page(response).select_one("#stage1_response_days")["value"] == "ten"
    assert school_now(app).acknowledge_within_days == 5


def test_timescales_saved_one_event_per_change(app, client, db_session):
    admin_client(client, db_session)
    before = len(school_events(db_session))
    values = {
        "acknowledge_within_days": "3",
        "concern_response_days": "10",
        "stage1_response_days": "15",
        "escalation_window_days": "10",
        "stage2_outcome_days": "20",
        "late_after_months": "6",
        "reminder_days_before": "2",
    }
    assert send(client, "/staff/settings/timescales", values).status_code == 303
    school = school_now(app)
    assert (school.acknowledge_within_days, school.stage1_response_days) == (3, 15)
    assert school.late_after_words == "6 months"
    fields = [e.details["field"] for e in school_events(db_session)[before:]]
    assert fields == ["acknowledge_within_days", "stage1_response_days", "late_after_months"]


def test_categories_add_rename_remove_reorder(app, client, db_session, school):
    admin_client(client, db_session)
    current = list(school.categories)
    new = ["Something else", "Teaching", *current[1:-1], "After-school clubs"]
    response = send(client, "/staff/settings/categories", {"categories": "\n".join(new)})
    assert response.status_code == 303
    assert list(school_now(app).categories) == new
    event = school_events(db_session)[-1]
    assert event.details["from"] == current
    assert event.details["to"] == new
    overview = text_of(client.get("/staff/settings"))
    assert "Added: Teaching; After-school clubs" in overview
    assert "Removed: Teaching and learning" in overview


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter at least one category"),
        ("Uniform\nuniform", "“uniform” is in the list twice"),
        ("x" * 81, "80 characters or fewer"),
    ],
)
def test_categories_refused(app, client, db_session, school, text, message):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/categories", {"categories": text})
    assert response.status_code == 422
    assert message in text_of(response)
    assert page(response).select_one("#categories").text.strip() == text.strip()
    assert school_now(app).categories == school.categories


def test_other_procedures_add_change_remove_keep_their_key(app, client, db_session):
    admin_client(client, db_session)
    response = send(
        client,
        "/staff/settings/other-procedures/new",
        {"name": "Data protection", "where": "Write to the data protection officer.", "url": ""},
    )
    assert response.status_code == 303
    procedure = school_now(app).procedure("data-protection")
    assert procedure is not None and procedure.name == "Data protection"

    response = send(
        client,
        "/staff/settings/other-procedures/data-protection",
        {
            "name": "Your personal data",
            "where": "Write to our data protection officer.",
            "url": "https://ico.org.uk/make-a-complaint/",
        },
    )
    assert response.status_code == 303
    procedure = school_now(app).procedure("data-protection")
    assert procedure.name == "Your personal data"
    assert procedure.url == "https://ico.org.uk/make-a-complaint/"

    response = send(
        client,
        "/staff/settings/other-procedures/admissions/remove",
        {},
        from_page="/staff/settings/other-procedures/admissions",
    )
    assert response.status_code == 303
    school = school_now(app)
    assert school.procedure("admissions") is None
    assert school.procedure("exclusions") is not None
    tags = [e.details["field"] for e in school_events(db_session)[-3:]]
    assert tags == ["out_of_scope"] * 3


def test_an_other_procedure_is_checked(client, db_session):
    admin_client(client, db_session)
    response = send(
        client,
        "/staff/settings/other-procedures/new",
        {"name": "school admissions", "where": "", "url": "javascript:alert(1)"},
    )
    assert response.status_code == 422
    words = text_of(response)
    assert "There is already a procedure called “school admissions”" in words
    assert "Say where parents should go instead" in words
    assert "starting with https://" in words
    assert client.get("/staff/settings/other-procedures/nothing-here").status_code == 404


def test_letter_paragraphs_add_change_remove(app, client, db_session):
    admin_client(client, db_session)
    response = send(
        client,
        "/staff/settings/letter-paragraphs/new",
        {"title": "Thank you", "text": "Thank you for raising this with us."},
    )
    assert response.status_code == 303
    titles = [p.title for p in school_now(app).letter_paragraphs]
    assert titles == ["Meeting offered", "Further support", "Thank you"]
    response = send(
        client,
        "/staff/settings/letter-paragraphs/1",
        {"title": "A meeting", "text": "Shall we meet?"},
    )
    assert response.status_code == 303
    response = send(
        client,
        "/staff/settings/letter-paragraphs/2/remove",
        {},
        from_page="/staff/settings/letter-paragraphs/2",
    )
    assert response.status_code == 303
    paragraphs = school_now(app).letter_paragraphs
    assert [(p.title, p.text) for p in paragraphs] == [
        ("A meeting", "Shall we meet?"),
        ("Thank you", "Thank you for raising this with us."),
    ]
    response = send(client, "/staff/settings/letter-paragraphs/new", {"title": "", "text": ""})
    assert response.status_code == 422
    assert "Enter a short title" in text_of(response)
    assert client.get("/staff/settings/letter-paragraphs/9").status_code == 404
    assert client.get("/staff/settings/letter-paragraphs/0").status_code == 404


def test_a_form_from_before_someone_elses_save_is_refused_not_lost(app, client, db_session):
    """Two admins open the name form; the second to save is told, and sees the first's name."""
    admin_client(client, db_session)
    stale = client.get("/staff/settings/name")
    stale_seen = page(stale).select_one("input[name=seen]")["value"]
    assert send(client, "/staff/settings/name", {"name": "First Name School"}).status_code == 303
    response = client.post(
        "/staff/settings/name",
        data={
            "name": "Second Name School",
            "seen": stale_seen,
            "csrf_token": page(stale).select_one("input[name=csrf_token]")["value"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 409
    words = text_of(response)
    assert "Another administrator changed this while you were editing" in words
    assert "First Name School" in words
    assert page(response).select_one("#name")["value"] == "Second Name School"
    assert school_now(app).name == "First Name School"
