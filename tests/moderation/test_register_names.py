"""register_names(session): the demo school's pupils on roll and active staff."""

from __future__ import annotations

from portal.accounts.models import Role
from portal.consent.demo import load_demo_pupils
from portal.moderation.screening import RegisterName, Rule, Screener, register_names
from tests.factories import make_user


def test_the_demo_register_gives_pupils_on_roll_and_active_staff(db_session):
    load_demo_pupils(db_session)
    make_user(db_session, Role.head, name="Mr David Morgan")
    make_user(db_session, Role.office, Role.admin, name="Janet Okafor")
    gone = make_user(db_session, Role.office, name="Gone Away")
    gone.is_active = False
    db_session.commit()

    names = register_names(db_session)

    pupils = [n for n in names if n.kind == "pupil"]
    staff = [n for n in names if n.kind == "staff"]
    assert RegisterName("Millie", "Jones", "pupil", "Year 3, class 3B") in pupils
    assert RegisterName("Amelia", "Jones", "pupil", "Year 3, class 3B") in pupils
    assert not any(n.first == "Jack" and n.last == "Taylor" for n in pupils)  # the leaver
    assert RegisterName("David", "Morgan", "staff", "Head teacher") in staff
    assert RegisterName("Janet", "Okafor", "staff", "Office staff, Portal administrator") in staff
    assert not any(n.first == "Gone" for n in staff)

    screener = Screener(names)
    result = screener.screen("Millie Jones and Mr Morgan were great, and so was Zoe O'Neill")
    assert [(f.rule, f.matched) for f in result.flags] == [
        (Rule.pupil_name, "Millie Jones"),
        (Rule.staff_name, "Mr Morgan"),
        (Rule.pupil_name, "Zoe O'Neill"),
    ]
