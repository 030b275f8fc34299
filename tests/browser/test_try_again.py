"""The "try again" page a parent sees when the database goes away mid-request: in a real
browser, with and without JavaScript, accessible, and its button sends what they typed again."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy.exc import OperationalError

from portal.complaints import drafts
from portal.config import PROJECT_ROOT
from tests.browser.conftest import TITLE_SUFFIX, PageMaker, assert_accessible

HEADING = "Sorry, that did not go through"


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_try_again_page_keeps_the_answer_and_sends_it_again(
    new_page: PageMaker, js: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = new_page(js=js)
    page.goto("/complaints/new/kind")
    page.check("input[name=kind][value=complaint]")
    page.get_by_role("button", name="Continue").click()
    page.check("input[name=about][value=school]")

    def database_gone(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE complaint_draft", {}, Exception("server closed"))

    # The live server runs in this process: its next save finds the database gone.
    monkeypatch.setattr(drafts, "save", database_gone)
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("h1")).to_have_text(HEADING)
    expect(page).to_have_title(HEADING + TITLE_SUFFIX)
    assert page.locator("input[type=hidden][name=about]").get_attribute("value") == "school"
    assert_accessible(page)
    if js and os.environ.get("PORTAL_SCREENSHOTS") == "1":
        page.evaluate("document.fonts.ready.then(() => true)")
        page.screenshot(
            path=PROJECT_ROOT / "docs" / "screenshots" / "try-again-1280.png",
            full_page=True,
            animations="disabled",
        )

    monkeypatch.undo()
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("h1")).not_to_have_text(HEADING)
    assert page.url.endswith("/complaints/new/category")
