"""Photo consent tells the other domains (`portal.domains.pupil_consent_changed`) about exactly
the pupils whose photo check a change can alter: pupils leaving, coming back or changed in a way
the rules read in a register import; every pupil on the register for a setting the rules read;
every pupil once a day, as answers lapse with time. Told through a stand-in domain, so these
tests need no news channel."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal import domains
from portal.accounts.models import Role
from portal.consent.models import Pupil
from portal.consent.services import register
from portal.consent.services import settings as rules
from portal.consent.services.answers import Validity
from portal.consent.services.flags import settings_of
from portal.consent.services.invitations import daily
from portal.consent.services.purposes import purposes
from portal.db import now_of
from tests.consent.families import Family, add_pupil, link
from tests.consent.helpers import MAPPING, pupil_file
from tests.factories import make_user


class Told:
    """What the stand-in domain was told: one list of mis ids per call, and when."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], datetime]] = []

    def __call__(self, session, pupil_ids, at) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((list(pupil_ids), at))

    def mis_ids(self, session) -> list[set[str]]:  # type: ignore[no-untyped-def]
        found = []
        for ids, _at in self.calls:
            rows = session.scalars(select(Pupil.mis_id).where(Pupil.id.in_(ids)))  # type: ignore[union-attr]
            found.append(set(rows))
        return found


@pytest.fixture
def told(monkeypatch) -> Told:  # type: ignore[no-untyped-def]
    spy = Told()
    stand_in = domains.Installed((domains.Domain(name="spy", on_pupil_consent_changed=spy),))
    monkeypatch.setattr(domains, "installed", lambda *args: stand_in)
    return spy


@pytest.fixture
def office(db_session):  # type: ignore[no-untyped-def]
    return make_user(db_session, Role.office, name="Janet Okafor")


@pytest.fixture
def admin(db_session):  # type: ignore[no-untyped-def]
    return make_user(db_session, Role.admin, name="Priya Shah")


@pytest.fixture
def pupils(db_session):  # type: ignore[no-untyped-def]
    family = Family()
    for key, first in (("A", "Amelia"), ("B", "Kwame"), ("C", "Zoe"), ("D", "Sam")):
        add_pupil(db_session, family, key, first, "Jones")
        link(db_session, family, key, "Sarah Jones", "sarah@example.com")
    add_pupil(db_session, family, "L", "Jack", "Jones", on_roll=False)
    purposes(db_session)
    db_session.commit()
    return family


def row(key: str, *, born: str = "21/03/2017", cls: str = "3B", pr: str = "Yes") -> str:
    names = {"A": "Amelia", "B": "Kwame", "C": "Zoe", "D": "Sam", "L": "Jack", "N": "Nia"}
    return (
        f"T-{key},{names[key]},Jones,,Year 3,{cls},{born},"
        f"Sarah Jones,sarah@example.com,Mother,{pr},,,,"
    )


def import_rows(session, user, *rows: str) -> None:  # type: ignore[no-untyped-def]
    pupil_import, _header = register.start_import(
        session, user, "pupils.csv", pupil_file(*rows), full=True
    )
    register.confirm_import(session, user, pupil_import, MAPPING)
    session.flush()


def test_an_import_tells_of_leavers_returners_and_changes_the_check_reads(
    db_session, told, office, pupils
):
    import_rows(
        db_session,
        office,
        row("A", cls="4M"),  # a new class: no answer changes
        row("B", born="21/03/2015"),  # another date of birth: key stage, age 12
        row("C", pr="No"),  # the only parent loses parental responsibility
        row("L"),  # comes back
        row("N"),  # new to the register: in nothing yet
    )  # D is left out of a full import: leaves
    assert told.mis_ids(db_session) == [{"T-B", "T-C", "T-D", "T-L"}]
    assert told.calls[0][1] == now_of(db_session)


def test_an_import_that_changes_nothing_the_check_reads_tells_of_nobody(
    db_session, told, office, pupils
):
    import_rows(db_session, office, row("A"), row("B"), row("C"), row("D"))
    assert told.calls == []


def on_roll(session) -> set[str]:  # type: ignore[no-untyped-def]
    return set(session.scalars(select(Pupil.mis_id).where(Pupil.on_roll)))


def website(session):  # type: ignore[no-untyped-def]
    return next(p for p in purposes(session, include_retired=True) if p.key == "website")


def test_settings_the_check_reads_tell_of_every_pupil_on_the_register(
    db_session, told, admin, pupils
):
    everyone = on_roll(db_session)
    assert everyone == {"T-A", "T-B", "T-C", "T-D"}
    rules.save_validity(
        db_session, admin, Validity.key_stage, seen_revision=settings_of(db_session).revision
    )
    row_now = settings_of(db_session)
    rules.save_asking(
        db_session,
        admin,
        rules.Asking(True, row_now.request_interval_days, row_now.confirmation_reminder_days),
        seen_revision=row_now.revision,
    )
    purpose = website(db_session)
    rules.change_purpose(
        db_session,
        admin,
        purpose.id,
        rules.PurposeChange(purpose.name, "New words.", purpose.asks_naming, True),
        seen_revision=purpose.revision,
    )
    rules.change_purpose(
        db_session,
        admin,
        purpose.id,
        rules.PurposeChange(purpose.name, purpose.wording, False, False),
        seen_revision=purpose.revision,
    )
    rules.set_active(db_session, admin, purpose.id, False, seen_revision=purpose.revision)
    assert told.mis_ids(db_session) == [everyone] * 5


def test_settings_the_check_does_not_read_tell_of_nobody(db_session, told, admin, pupils):
    rules.save_flag_roles(
        db_session,
        admin,
        [Role.head],
        seen_revision=settings_of(db_session).revision,
    )
    row_now = settings_of(db_session)
    rules.save_asking(
        db_session,
        admin,
        rules.Asking(False, 14, row_now.confirmation_reminder_days),
        seen_revision=row_now.revision,
    )
    purpose = website(db_session)
    rules.change_purpose(  # renamed, and a new wording parents are not asked again about
        db_session,
        admin,
        purpose.id,
        rules.PurposeChange("Our website", "Fixed a typo.", purpose.asks_naming, False),
        seen_revision=purpose.revision,
    )
    rules.add_purpose(db_session, admin, "Yearbook", "Photos in the yearbook.", False)
    assert told.calls == []


def test_the_daily_run_tells_of_every_pupil_as_answers_lapse_with_time(
    db_session, told, settings, pupils, clock
):
    clock.set(datetime(2027, 9, 2, 6, 0))
    report = daily(db_session, settings)
    assert told.mis_ids(db_session) == [{"T-A", "T-B", "T-C", "T-D", "T-L"}]
    assert told.calls[0][1] == datetime(2027, 9, 2, 6, 0)
    assert report.pupils_checked == 5
    assert pupils.pupils["A"].date_of_birth == date(2017, 3, 21)
