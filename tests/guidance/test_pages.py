"""Parents' guidance pages and the policy with its versions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from portal.accounts.models import Role
from portal.guidance.models import PolicyVersion
from portal.guidance.services import PolicyError, publish_policy, render_markdown
from tests.conftest import page, post_form, text_of
from tests.factories import make_user, sign_in

POLICY = "# Parents\n\n- Only share photos of your own children.\n- Complain to the school.\n"
PUBLIC_PAGES = [
    "/",
    "/parents/online",
    "/policy",
    "/accessibility",
    "/privacy",
    "/news",
    "/photos",
    "/staff/login",
]


@pytest.fixture
def published(db_session):
    publish_policy(
        db_session,
        version="1",
        effective_on=date(2025, 9, 1),
        body_markdown=POLICY * 2,
        summary_of_changes="First version.",
        user=None,
    )
    publish_policy(
        db_session,
        version="2",
        effective_on=date(2026, 9, 1),
        body_markdown=POLICY + "\nNew words.\n" * 3,
        summary_of_changes="Adds the portal.",
        user=None,
    )
    db_session.commit()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_has_one_h1_and_a_title_that_starts_with_it(client, path, school):
    response = client.get(path)
    assert response.status_code == 200
    html = page(response)
    headings = html.select("h1")
    assert len(headings) == 1
    assert html.title.text == f"{headings[0].text.strip()} – {school.name}"
    assert html.html["lang"] == "en-GB"
    assert html.select_one("a.govuk-skip-link")["href"] == "#main-content"
    assert "GOV.UK" not in html.select_one("header").text
    assert school.name in html.select_one("header").text
    footer = html.select_one("footer").text
    assert "Accessibility statement" in footer and "Privacy notice" in footer
    assert school.contact_email in footer


def test_home_offers_the_four_routes(client):
    links = {a.text.strip(): a["href"] for a in page(client.get("/")).select("main a")}
    assert links["Raise a concern or complaint"] == "/complaints/new"
    assert links["Comment on school news"] == "/news"
    assert links["Photos and consent"] == "/photos"
    assert links["Check your concern or complaint"] == "/track"


def test_online_guidance_covers_the_three_expectations_and_the_channels(client, published):
    text = text_of(client.get("/parents/online"))
    assert "Only share photos of your own children" in text
    assert "Bring complaints to us, not to social media" in text
    assert "Do not post unkind or untrue things" in text
    for channel in ["website", "newsletters", "letters", "prospectus"]:
        assert channel in text
    assert "version 2" in text


def test_policy_shows_the_current_version_and_keeps_older_ones(client, published):
    current = client.get("/policy")
    assert "Version 2, in use from Tuesday 1 September 2026" in text_of(current)
    assert page(current).select_one("a[href='/policy/versions/1']") is not None
    older = client.get("/policy/versions/1")
    assert "This is an older version" in text_of(older)
    assert client.get("/policy/versions/7").status_code == 404


def test_policy_markdown_is_rendered_safely():
    html = str(
        render_markdown("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**")
    )
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert '<h2 class="govuk-heading-m">Title</h2>' in html
    assert "<strong>bold</strong>" in html


def test_admin_publishes_a_new_version_which_becomes_current(client, db_session, published):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    form = page(client.get("/staff/policy/new"))
    assert form.select_one("#version")["value"] == "3"
    response = post_form(
        client,
        "/staff/policy/new",
        {
            "version": "3",
            "effective_on": "2026-11-01",
            "body_markdown": POLICY * 3,
            "summary_of_changes": "Tidied",
        },
    )
    assert response.status_code == 303
    assert "Version 3" in text_of(client.get("/policy"))
    assert len(db_session.exec(select(PolicyVersion)).all()) == 3


def test_publishing_with_mistakes_keeps_the_text(client, db_session, published):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    response = post_form(
        client,
        "/staff/policy/new",
        {"version": "2", "effective_on": "next week", "body_markdown": POLICY * 3},
    )
    assert response.status_code == 422
    html = page(response)
    assert "Version 2 already exists" in html.select_one(".govuk-error-summary").text
    assert html.select_one("#body_markdown").text.strip() == (POLICY * 3).strip()


def test_a_version_needs_a_date(db_session):
    with pytest.raises(PolicyError) as error:
        publish_policy(
            db_session,
            version="5",
            effective_on=None,
            body_markdown=POLICY * 3,
            summary_of_changes="",
            user=None,
        )
    assert error.value.field == "effective_on"
