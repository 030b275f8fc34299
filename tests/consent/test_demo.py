"""The demo school's register: `make run` shows pupils, a leaver and a restricted pupil."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.demo import load_demo_pupils
from portal.consent.models import Pupil
from portal.consent.services import flags
from tests.conftest import page
from tests.factories import make_user, sign_in


def test_the_demo_register_has_two_classes_a_leaver_and_a_restricted_pupil(client, db_session):
    make_user(db_session, Role.head, email="head@brookfield-primary.example")
    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    load_demo_pupils(db_session)
    load_demo_pupils(db_session)  # once only
    db_session.commit()
    pupils = db_session.scalars(select(Pupil)).all()
    assert len(pupils) == 11
    assert {p.class_name for p in pupils if p.on_roll} == {"3B", "4M"}
    assert [p.mis_id for p in pupils if not p.on_roll] == ["B4005"]
    assert len(flags.restricted(db_session, [p.id for p in pupils])) == 1
    sign_in(client, make_user(db_session, Role.office))
    amelia = next(p for p in pupils if p.mis_id == "B3001")
    shown = page(client.get(f"/staff/pupils/{amelia.id}"))
    assert [td.text for td in shown.select("#decisions tbody tr td")][:2] == [
        "Yes",
        "Consent given",
    ]
    listing = page(client.get("/staff/pupils", params={"class_name": "3B"}))
    assert len(listing.select("#pupils tbody tr")) == 6
    # The check made before Maya's parent withdrew is out of date.
    checks = page(client.get("/staff/photo-check"))
    check = client.get(checks.select_one("#recent-checks a")["href"])
    assert page(check).select_one("#out-of-date") is not None
    # The import waiting to be confirmed goes straight to its preview (its columns are known).
    imports = page(client.get("/staff/pupils/import"))
    preview = page(client.get(imports.select_one("#waiting-imports a")["href"]))
    assert "New pupils 1" in preview.get_text(" ")
    # Year 4 was asked two days ago: the reports page shows it, and Year 3 can be asked now.
    reports = page(client.get("/staff/consent-reports"))
    assert "Year 4" in reports.select_one("#sent tbody tr").get_text(" ")
    year3 = page(
        client.get(
            "/staff/consent-reports/request", params={"group": "year:Year 3", "purpose": "video"}
        )
    )
    assert year3.select_one("#send-button") is not None
    year4 = client.get(
        "/staff/consent-reports/request", params={"group": "year:Year 4", "purpose": "video"}
    )
    assert page(year4).select_one("#too-soon") is not None


def test_the_demo_shows_scans_notes_of_calls_and_a_changed_setting(client, db_session):
    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    admin = make_user(db_session, Role.admin, email="admin@brookfield-primary.example")
    load_demo_pupils(db_session)
    db_session.commit()
    sign_in(client, admin)
    amelia = db_session.scalar(select(Pupil).where(Pupil.mis_id == "B3001"))
    records = page(client.get(f"/staff/pupils/{amelia.id}")).select_one("#records")
    scan = records.select_one("a[href*='/scans/']")
    assert scan is not None and "Note of the call" in records.get_text(" ")
    assert client.get(scan["href"]).headers["content-type"] == "image/png"
    settings = page(client.get("/staff/consent-settings"))
    assert "School trips" in [h.text.strip() for h in settings.select("#active-purposes h3")]
    assert "Wording (version 2)" in settings.get_text(" ")
    assert len(settings.select("#changes + ol li")) == 2


def test_the_demo_parent_has_two_children_and_some_answers_were_given_online(db_session):
    from portal.consent.models import AnswerHow, ConsentRecord, Contact
    from portal.consent.services.sign_in import children_of, contact_for_email
    from portal.demo import DEMO_PARENT

    make_user(db_session, Role.office, email="office@brookfield-primary.example")
    load_demo_pupils(db_session)
    db_session.commit()
    parent = contact_for_email(db_session, DEMO_PARENT)
    assert isinstance(parent, Contact)
    assert [c.pupil.first_name for c in children_of(db_session, parent)] == ["Millie", "Lily"]
    online = db_session.scalars(
        select(ConsentRecord).where(ConsentRecord.how == AnswerHow.online)
    ).all()
    assert online and all(r.entered_by_user_id is None for r in online)
