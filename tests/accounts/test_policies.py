"""Password policy (a shipped list, checked offline) and who is told when someone can read cases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts import passwords
from portal.accounts.models import Role, StaffUser
from portal.accounts.services import AccountError, create_user, validate_password
from portal.complaints import services as complaint_services
from portal.complaints.services import NewComplaint
from portal.history import Actor, history_of
from portal.mail import OutboxMessage
from tests.conftest import page, post_form
from tests.factories import PASSWORD, make_user, sign_in, submit

WEAK = [
    "password1234",
    "Password123!",
    "P@ssw0rd2024!",
    "qwertyuiop12",
    "iloveyou2026",
    "1234567890123",
    "aaaaaaaaaaaa",
    "abababababab",
    "monkeymonkey",
    "football-2026",
    "Sunshine!!!!",
    "asdfghjkl;'#",
    "zyxwvutsrqpo",
    "trustno1trustno1",
]
STRONG = ["violet-canal-teapot", "correct-horse-battery", "Lantern 7 orchard quilt", "b8#Kq2!vR9wz"]


# ---------------------------------------------------------------- the list


def test_the_list_is_shipped_with_the_code_and_read_offline():
    assert passwords.COMMON_PASSWORDS_FILE.is_file()
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"password", "123456", "qwerty", "iloveyou", "monkey"} <= common
    assert passwords.COMMON_PASSWORDS_FILE.with_name("common-passwords.NOTICE").is_file()


@pytest.mark.parametrize("password", WEAK)
def test_common_and_trivial_passwords_are_refused(password):
    with pytest.raises(AccountError) as refused:
        validate_password(password)
    assert refused.value.field == "password"
    assert refused.value.message == passwords.TOO_COMMON


@pytest.mark.parametrize("password", STRONG)
def test_passwords_that_are_hard_to_guess_are_accepted(password):
    validate_password(password)


@pytest.mark.parametrize(
    "password", ["Brookfield2026!", "brookfield-primary", "JanetOkafor99", "janet.okafor!!"]
)
def test_the_persons_name_email_and_the_schools_name_are_refused(password):
    with pytest.raises(AccountError) as refused:
        validate_password(
            password, personal=["Janet Okafor", "janet.okafor@school.example", "Brookfield Primary"]
        )
    assert refused.value.message == passwords.TOO_PERSONAL


def test_a_very_long_password_is_refused_politely():
    with pytest.raises(AccountError, match="256 characters or fewer"):
        validate_password("x7#" * 200)


def test_the_admin_page_refuses_a_common_password_and_keeps_what_was_typed(client, db_session):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "Tom Baxter",
            "email": "tom@school.example",
            "password": "Password123!",
            "roles": ["clerk"],
        },
    )
    assert response.status_code == 422
    html = page(response)
    assert passwords.TOO_COMMON in html.select_one(".govuk-error-summary").text
    assert html.select_one(".govuk-error-summary a")["href"] == "#password"
    assert html.select_one("#name")["value"] == "Tom Baxter"
    assert (
        db_session.scalars(select(StaffUser).where(StaffUser.name == "Tom Baxter")).first() is None
    )


def test_setting_a_new_password_refuses_the_schools_name(client, db_session, school):
    admin = make_user(db_session, Role.admin)
    user = make_user(db_session, Role.office)
    sign_in(client, admin)
    first_word = school.name.split()[0]
    response = post_form(
        client,
        f"/staff/users/{user.id}/password",
        {"new_password": f"{first_word}2026!!"},
        from_page=f"/staff/users/{user.id}",
    )
    assert response.status_code == 422
    assert passwords.TOO_PERSONAL in page(response).select_one(".govuk-error-summary").text


# ---------------------------------------------------------------- who is told about access to cases


def _mail(db_session) -> list[OutboxMessage]:
    db_session.expire_all()
    return list(db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _told(db_session) -> set[str]:
    return {message.to_address for message in _mail(db_session)}


@pytest.fixture
def staff_of_school(db_session):  # type: ignore[no-untyped-def]
    """A head, a chair and an admin, made by the portal's own set-up (which tells no one)."""
    people = {
        "head": make_user(db_session, Role.head, name="Helen Head"),
        "chair": make_user(db_session, Role.chair, Role.governor, name="Charles Chair"),
        "admin": make_user(db_session, Role.admin, name="Priya Shah"),
    }
    assert _mail(db_session) == []
    return people


def _add_user(client, roles: list[str]):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        "/staff/users/new",
        {
            "name": "Janet Okafor",
            "email": "janet@school.example",
            "password": "violet-canal-teapot",
            "roles": roles,
        },
    )


def _set_roles(client, user: StaffUser, roles: list[str]):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        f"/staff/users/{user.id}",
        {"name": user.name, "roles": roles},
        from_page=f"/staff/users/{user.id}",
    )


def test_a_new_account_that_reads_cases_is_reported_to_the_head_and_the_chair(
    client, db_session, staff_of_school
):
    sign_in(client, staff_of_school["admin"])
    assert _add_user(client, ["office"]).status_code == 303
    messages = _mail(db_session)
    assert {m.to_address for m in messages} == {
        staff_of_school["head"].email,
        staff_of_school["chair"].email,
    }
    body = messages[0].body_text
    assert "Janet Okafor (janet@school.example) can now read complaints" in body
    assert "Role given: Office staff" in body
    assert "Given by: Priya Shah" in body
    janet = db_session.scalars(select(StaffUser).where(StaffUser.name == "Janet Okafor")).one()
    notice = [e for e in history_of(db_session, "staff_user", janet.id) if e.tag.endswith("notice")]
    assert notice[0].to_value == "2 told"


def test_an_admin_giving_themselves_a_case_role_is_reported(client, db_session, staff_of_school):
    admin = staff_of_school["admin"]
    sign_in(client, admin)
    assert _set_roles(client, admin, ["admin", "office"]).status_code == 303
    messages = _mail(db_session)
    assert {m.to_address for m in messages} == {
        staff_of_school["head"].email,
        staff_of_school["chair"].email,
    }
    assert "Given by: themselves" in messages[0].body_text


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.admin])
def test_every_role_that_reads_cases_is_reported(client, db_session, staff_of_school, role):
    sign_in(client, staff_of_school["admin"])
    assert _add_user(client, [role]).status_code == 303
    assert _told(db_session) == {staff_of_school["head"].email, staff_of_school["chair"].email}


def test_admin_only_and_name_changes_tell_no_one(client, db_session, staff_of_school):
    sign_in(client, staff_of_school["admin"])
    assert _add_user(client, ["admin"]).status_code == 303
    office = make_user(db_session, Role.office, name="Olive Office")
    assert _set_roles(client, office, ["office"]).status_code == 303  # nothing new given
    assert _mail(db_session) == []


def test_a_head_or_chair_given_a_role_is_not_the_one_told(client, db_session, staff_of_school):
    sign_in(client, staff_of_school["admin"])
    assert (
        _set_roles(client, staff_of_school["chair"], ["chair", "governor", "clerk"]).status_code
        == 303
    )
    assert _told(db_session) == {staff_of_school["head"].email}


def _case_about(db_session, settings, about: str, user: StaffUser | None = None):  # type: ignore[no-untyped-def]
    """A case about the head or a governor (naming `user`); the emails it sent are cleared."""
    complaint = submit(db_session, settings, about=about)
    if user is not None:
        complaint.about_user_id = user.id
        db_session.add(complaint)
    db_session.commit()
    db_session.execute(OutboxMessage.__table__.delete())
    db_session.commit()
    return complaint


def test_the_person_a_case_is_about_is_never_told(client, db_session, settings, staff_of_school):
    _case_about(db_session, settings, "head")
    sign_in(client, staff_of_school["admin"])
    assert _add_user(client, ["office"]).status_code == 303
    assert _told(db_session) == {staff_of_school["chair"].email}
    messages = _mail(db_session)
    assert all("playground" not in m.body_text for m in messages)


def test_when_neither_head_nor_chair_can_be_told_the_other_admins_are(
    client, db_session, settings, staff_of_school
):
    _case_about(db_session, settings, "head")
    _case_about(db_session, settings, "governor", staff_of_school["chair"])
    other_admin = make_user(db_session, Role.admin, name="Second Admin")
    sign_in(client, staff_of_school["admin"])
    assert _add_user(client, ["clerk"]).status_code == 303
    assert _told(db_session) == {staff_of_school["admin"].email, other_admin.email}


def test_switching_an_account_back_on_is_reported(client, db_session, staff_of_school):
    office = make_user(db_session, Role.office, name="Olive Office")
    office.is_active = False
    db_session.add(office)
    db_session.commit()
    sign_in(client, staff_of_school["admin"])
    response = post_form(
        client,
        f"/staff/users/{office.id}/active",
        {"active": "yes"},
        from_page=f"/staff/users/{office.id}",
    )
    assert response.status_code == 303
    assert _told(db_session) == {staff_of_school["head"].email, staff_of_school["chair"].email}


def test_the_command_line_is_no_way_round_the_notice(db_session, staff_of_school):
    create_user(
        db_session,
        email="cli@school.example",
        name="Added At The Console",
        password=PASSWORD,
        roles=[Role.office],
        actor=Actor("cli", "The portal create-user command"),
    )
    db_session.commit()
    assert _told(db_session) == {staff_of_school["head"].email, staff_of_school["chair"].email}


def test_someone_named_only_in_the_parents_words_is_not_told(
    client, db_session, settings, staff_of_school
):
    received = complaint_services.submit(
        db_session,
        settings,
        NewComplaint(
            formal=True,
            about="staff",
            about_name="Charles Chair",
            category="Behaviour and bullying",
            what_happened="Something happened at the governors' meeting and nobody told me.",
            happened_on=date(2026, 11, 20),
            done_so_far="",
            put_right="",
            anonymous=False,
            parent_name="Pat Parent",
            parent_email="pat.parent@example.com",
        ),
    )
    db_session.commit()
    assert received.complaint.about_user_id is None  # not sorted yet: the words alone name him
    sign_in(client, staff_of_school["admin"])
    before = _told(db_session)
    assert _add_user(client, ["office"]).status_code == 303
    assert _told(db_session) - before == {staff_of_school["head"].email}
