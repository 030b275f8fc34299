"""Form classes (`portal.forms`): declared once, built by FastAPI from the cleaned form, every
value kept as typed, and `validate()` giving field errors, never an exception, for hostile input."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from portal.accounts.forms import NewAccountForm, SignInForm
from portal.complaints.forms import DeadlineUpdateForm, LetterForm, PanelForm
from portal.forms import Checked, PostedForm, Text, Ticked
from portal.inputs import MAX_ROW_ID, CleanInputRoute
from portal.school import profile
from portal.school.forms import ContactForm, NameForm, TermForm, TimescalesForm
from portal.text import clean_text
from tests.hostile import HOSTILE_TEXT, HUGE_NUMBERS

HOSTILE = [
    *HOSTILE_TEXT,
    "\u202eevil\u202c",  # a direction override
    "\u2066isolate\u2069",
    "a\r\nb\rc",
    "\x00" * 50,
    "9" * 5000,
    "x" * 100_000,
]


@dataclass(frozen=True)
class PetForm(PostedForm):
    name: Text = ""
    kind: Text = "cat"
    toys: Ticked = None

    def validate(self) -> Checked[str]:
        name = self.name.strip()
        return Checked(name, {} if name else {"name": "Enter your pet's name"})


def _app() -> FastAPI:
    router = APIRouter(route_class=CleanInputRoute)

    @router.post("/pets")
    def pets(form: Annotated[PetForm, Depends()]) -> dict[str, object]:
        checked = form.validate()
        return {"typed": form.typed(), "value": checked.value, "errors": checked.errors}

    app = FastAPI()
    app.include_router(router)
    return app


def test_a_form_class_is_built_from_the_cleaned_form_and_keeps_what_was_typed():
    with TestClient(_app()) as client:
        for raw in HOSTILE:
            sent = client.post("/pets", data={"name": raw, "toys": ["ball", raw]})
            assert sent.status_code == 200, repr(raw[:40])
            answer = sent.json()
            assert answer["typed"] == {
                "name": clean_text(raw),
                "kind": "cat",
                "toys": ["ball", clean_text(raw)],
            }
            if clean_text(raw).strip():
                assert answer["errors"] == {}
            else:
                assert answer["errors"] == {"name": "Enter your pet's name"}


def test_fields_not_sent_keep_their_defaults():
    with TestClient(_app()) as client:
        answer = client.post("/pets", data={}).json()
    assert answer["typed"] == {"name": "", "kind": "cat", "toys": None}
    assert answer["errors"] == {"name": "Enter your pet's name"}


def test_checked_is_ok_without_errors():
    assert Checked(1).ok
    assert not Checked(None, {"name": "Enter a name"}).ok


# ---------------------------------------------------------------- the domains' form classes


def test_the_timescales_form_has_one_input_per_timescale():
    names = [each.name for each in fields(TimescalesForm)]
    assert sorted(names) == sorted(["seen", *(scale.field for scale in profile.TIMESCALES)])


@pytest.mark.parametrize("number", [*HUGE_NUMBERS, "", " ", "5.5", "\x00"])
def test_timescales_refuse_what_is_not_a_small_whole_number(number):
    typed = {scale.field: number for scale in profile.TIMESCALES}
    checked = TimescalesForm(**typed).validate()
    digits = number.strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= 3:
        return  # a small whole number, in range or not: the profile's own tests check those
    assert set(checked.errors) == set(typed), number
    assert checked.value == {}


def test_the_settings_forms_give_field_errors_for_hostile_text():
    for raw in HOSTILE:
        value = clean_text(raw)
        name = NameForm(name=value).validate()
        assert name.ok == (0 < len(" ".join(value.split())) <= profile.NAME_MAX), repr(raw[:40])
        contact = ContactForm(
            contact_email=value, contact_phone=value, contact_address=value, website_url=value
        ).validate()
        assert "contact_email" in contact.errors  # no hostile value is one email address
        assert set(contact.errors) <= {f.name for f in fields(ContactForm)}
    long = NameForm(name="x" * 10_000, seen="abc")
    assert long.validate().errors == {"name": "The school's name must be 120 characters or fewer"}
    assert long.typed() == {"seen": "abc", "name": "x" * 10_000}


def test_term_dates_with_huge_numbers_are_field_errors():
    for number in HUGE_NUMBERS:
        form = TermForm(
            name="Autumn 1",
            start_day=number,
            start_month="9",
            start_year="2026",
            end_day="23",
            end_month="10",
            end_year=number,
        )
        checked = form.validate()
        assert checked.value is None, number
        assert checked.errors and set(checked.errors) <= {
            "start_day",
            "start_month",
            "start_year",
            "end_day",
            "end_month",
            "end_year",
        }
    good = TermForm("Autumn 1", "1", "9", "2026", "23", "10", "2026").validate()
    assert good.ok and good.value is not None and good.value.start == date(2026, 9, 1)


def test_a_deadline_update_reads_its_date_once():
    assert DeadlineUpdateForm().validate() == Checked(None)
    for number in HUGE_NUMBERS:
        checked = DeadlineUpdateForm(number, "11", number).validate()
        assert list(checked.errors) == ["new_date_day"], number
        assert checked.value is None
    assert DeadlineUpdateForm("20", "11", "2026").validate() == Checked(date(2026, 11, 20))


def test_panel_members_beyond_a_row_id_are_left_out():
    checked = PanelForm(member_1=str(MAX_ROW_ID + 1), member_2="7", member_3="9" * 40).validate()
    assert checked.ok and checked.value.member_ids == [7]


def test_a_letter_keeps_only_an_outcome_from_the_list():
    for raw in HOSTILE:
        form = LetterForm(outcome=clean_text(raw), draft_version=clean_text(raw), intent=raw)
        assert form.words().outcome == ""
        assert form.version() is None or form.version() >= 1
        assert form.paragraph_key() is None or raw.startswith("use:")
    assert LetterForm(outcome="upheld", draft_version="7").words().outcome == "upheld"
    assert LetterForm(draft_version="7").version() == 7


def test_sign_in_never_shows_the_password_again():
    form = SignInForm(email="ada@school.example", password="secret words")
    assert form.validate().ok
    assert form.shown_again() == {"email": "ada@school.example"}
    assert SignInForm().validate().errors == {
        "email": "Enter your email address",
        "password": "Enter your password",
    }


def test_roles_that_do_not_exist_are_not_chosen():
    form = NewAccountForm(name="x" * 201, roles=["admin", "owner", "\u202eadmin", "9" * 40])
    checked = form.validate()
    assert checked.value.roles == ["admin"]
    assert checked.errors == {"name": "The name must be 200 characters or fewer"}


# ---------------------------------------------------------------- the routes


def test_routes_read_their_forms_through_form_classes(app):
    """No route declares its own Form() parameters: a form's inputs are declared once, in a
    form class, so FastAPI (and the hostile-input fuzzer) still sees every field by name."""
    declared_in_routes = []
    through_classes = 0
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        own = [
            param.name
            for param in context.dependant.body_params
            if not isinstance(param.field_info, params.File)
        ]
        if own:
            declared_in_routes.append((context.path, own))
        for dependency in context.dependant.dependencies:
            call = dependency.call
            if isinstance(call, type) and issubclass(call, PostedForm):
                through_classes += 1
                names = {param.name for param in dependency.body_params}
                assert names == {each.name for each in fields(call)}, context.path
    assert declared_in_routes == []
    assert through_classes > 40
