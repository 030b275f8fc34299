"""Lapsed answers: parents are asked again by email, once per lapse, by the daily command; old
sign-in links are forgotten after 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from portal import cli as cli_module
from portal.cli import app as cli
from portal.clock import FixedClock
from portal.config import get_settings
from portal.consent.models import AnswerHow, ConsentRecord, ConsentSettings, ParentSignIn
from portal.consent.services.invitations import daily, send_invitations
from portal.consent.services.purposes import purposes
from portal.mail import OutboxMessage
from tests.clocks import TERM_DATES
from tests.consent.families import two_families

LAST_YEAR = datetime(2026, 6, 10, 9, 0)  # school year 2025-26; the test clock is in 2026-27


def _answer(db_session, family, pupil: str, email: str, at: datetime, yes: bool = True) -> None:
    purpose = next(p for p in purposes(db_session) if p.key == "displays")
    db_session.add(
        ConsentRecord(
            pupil_id=family.pupils[pupil].id,
            purpose_id=purpose.id,
            contact_id=family.contacts[email].id,
            answer=yes,
            given_at=at,
            how=AnswerHow.paper,
            wording_version=1,
        )
    )
    db_session.commit()


def _asked(db_session) -> list[tuple[str, str]]:
    db_session.expire_all()
    return [
        (m.to_address, m.body_text.split("\n")[0])
        for m in db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject.contains("Please tell us again"))
        )
    ]


@pytest.fixture
def family(db_session):
    return two_families(db_session)


def test_lapsed_answers_ask_each_parent_again_once_naming_the_children(
    db_session, family, settings
):
    _answer(db_session, family, "millie", "sarah@example.com", LAST_YEAR)
    _answer(db_session, family, "lily", "sarah@example.com", LAST_YEAR)
    _answer(db_session, family, "maya", "nisha@example.com", LAST_YEAR + timedelta(days=200))
    _answer(db_session, family, "jack", "tom@example.com", LAST_YEAR)  # left: not asked
    _answer(db_session, family, "millie", "ama@example.com", LAST_YEAR)  # no responsibility
    assert send_invitations(db_session, settings) == 1
    db_session.commit()
    [(to, _first)] = _asked(db_session)
    assert to == "sarah@example.com"
    message = db_session.scalars(select(OutboxMessage)).one()
    assert "Lily and Millie" in message.subject
    assert "http://127.0.0.1:8000/photos" in message.body_text
    # Daily runs send nothing more for the same lapse.
    assert send_invitations(db_session, settings) == 0
    # Answering again (a current answer) and lapsing next year asks again, once.
    _answer(db_session, family, "millie", "sarah@example.com", datetime(2026, 11, 1, 9, 0))
    assert send_invitations(db_session, settings) == 0


def test_answers_that_never_lapse_ask_nobody(db_session, family, settings):
    db_session.add(ConsentSettings(validity="while_at_school"))
    db_session.commit()
    _answer(db_session, family, "millie", "sarah@example.com", LAST_YEAR)
    assert send_invitations(db_session, settings) == 0


def test_old_sign_in_links_are_forgotten_after_30_days(db_session, family, settings, clock):
    now = clock.now()
    for days in (31, 29):
        db_session.add(
            ParentSignIn(
                token_hash=f"{days:064d}",
                contact_id=family.contacts["sarah@example.com"].id,
                created_at=now - timedelta(days=days),
                expires_at=now - timedelta(days=days) + timedelta(minutes=30),
            )
        )
    db_session.commit()
    report = daily(db_session, settings)
    db_session.commit()
    assert report.links_forgotten == 1
    assert db_session.scalar(select(func.count()).select_from(ParentSignIn)) == 1


@pytest.mark.committed
def test_the_daily_command(monkeypatch, database_url, tmp_path, app, db_session):
    family = two_families(db_session)
    _answer(db_session, family, "millie", "tom@example.com", LAST_YEAR)
    monkeypatch.setattr(cli_module, "CLOCK", FixedClock(datetime(2026, 11, 25, 10, 0)))
    monkeypatch.setenv("PORTAL_TERM_DATES_FILE", str(TERM_DATES))
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "cli-test-secret-" + "y" * 40)
    monkeypatch.setenv("PORTAL_SMTP_HOST", "")
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli, ["consent-invitations"])
        again = CliRunner().invoke(cli, ["consent-invitations"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "parents asked again 1" in first.output
    assert "parents asked again 0" in again.output
    assert [to for to, _ in _asked(db_session)] == ["tom@example.com"]


def test_a_leavers_answers_are_forgotten_a_year_after_they_left(db_session, family, settings):
    from datetime import date

    _answer(db_session, family, "jack", "sarah@example.com", LAST_YEAR)  # left 22 July 2026
    _answer(db_session, family, "millie", "sarah@example.com", LAST_YEAR)
    assert daily(db_session, settings).answers_forgotten == 0
    jack = family.pupils["jack"]
    jack.left_on = date(2025, 11, 1)
    db_session.add(jack)
    db_session.commit()
    assert daily(db_session, settings).answers_forgotten == 1
    db_session.commit()
    kept = db_session.scalars(select(ConsentRecord)).all()
    assert [r.pupil_id for r in kept] == [family.pupils["millie"].id]


def test_asking_again_from_a_new_wording_asks_each_parent_once_and_the_page_asks_again(
    db_session, family, settings
):
    """An admin changed the wording and ticked "ask parents again": answers to the old wording
    no longer count, the daily command asks those parents once, and their page shows the use
    as not answered."""
    from portal.consent.services.online import family_answers

    this_year = datetime(2026, 10, 1, 9, 0)  # inside the test clock's school year
    _answer(db_session, family, "millie", "sarah@example.com", this_year)
    displays = next(p for p in purposes(db_session) if p.key == "displays")
    mine = family_answers(
        db_session, family.contacts["sarah@example.com"], family.pupils["millie"], [displays]
    )
    assert mine[0].mine_current
    displays.version = 2
    displays.reask_from_version = 2
    db_session.add(displays)
    db_session.commit()
    mine = family_answers(
        db_session, family.contacts["sarah@example.com"], family.pupils["millie"], [displays]
    )
    assert not mine[0].mine_current
    assert send_invitations(db_session, settings) == 1
    assert send_invitations(db_session, settings) == 0  # once per asking
    db_session.commit()
    assert [to for to, _ in _asked(db_session)] == ["sarah@example.com"]
