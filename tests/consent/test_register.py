"""The pupil register: importing the school's export (preview, errors, re-import, leavers,
hostile files), the column mapping remembered, and the register's pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.consent.models import Contact, Pupil, PupilContact, PupilImport
from portal.consent.services import register
from portal.consent.services.purposes import purposes
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import HEADER, MAPPING, ROWS, import_file, pupil_file, upload
from tests.factories import make_user, sign_in


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office, name="Janet Okafor")
    sign_in(client, user)
    return user


def pupils_by_id(db_session) -> dict[str, Pupil]:
    db_session.expire_all()
    return {p.mis_id: p for p in db_session.scalars(select(Pupil))}


# ---------------------------------------------------------------- the journey


def test_first_import_asks_which_column_is_which_then_previews_then_writes(
    client, db_session, office
):
    response = upload(client, pupil_file(*ROWS))
    assert response.status_code == 303
    columns = response.headers["location"]
    assert columns.endswith("/columns")
    form = page(client.get(columns))
    assert form.select_one("h1").text == "Which column is which"
    # The usual names are guessed already.
    assert form.select_one("#pupil_id option[selected]")["value"] == "UPN"
    assert form.select_one("#date_of_birth option[selected]")["value"] == "DOB"
    token = csrf_of(client.get(columns))
    response = client.post(columns, data={"csrf_token": token, **MAPPING}, follow_redirects=False)
    preview_url = response.headers["location"]
    preview = client.get(preview_url)
    assert page(preview).select_one("h1").text == "Check the pupil file"
    assert "New pupils 3" in text_of(preview)
    assert pupils_by_id(db_session) == {}  # nothing written before confirming

    response = client.post(
        preview_url + "/confirm", data={"csrf_token": csrf_of(preview)}, follow_redirects=False
    )
    assert response.status_code == 303
    done = client.get(response.headers["location"])
    assert page(done).select_one("h1").text.strip() == "The register is updated"
    assert "3 new, 0 changed, 0 unchanged, 0 marked as left" in text_of(done)

    pupils = pupils_by_id(db_session)
    assert sorted(pupils) == ["A001", "A002", "A003"]
    amelia = pupils["A001"]
    assert (amelia.preferred_name, amelia.class_name, amelia.date_of_birth) == (
        "Millie",
        "3B",
        date(2017, 3, 21),
    )
    assert pupils["A003"].date_of_birth == date(2015, 7, 9)
    emails = set(db_session.scalars(select(Contact.email)))
    assert emails == {
        "sarah@example.com",
        "tom@example.com",
        "roisin@example.com",
        "ama@example.com",
    }
    grandmother = db_session.scalar(
        select(PupilContact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .where(Contact.email == "ama@example.com")
    )
    assert grandmother.parental_responsibility is False
    event = db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == register.IMPORTED_TAG))
    assert event.actor_user_id == office.id
    assert event.details["new"] == 3


def test_the_mapping_is_remembered_so_the_next_file_goes_straight_to_its_preview(
    client, db_session, office
):
    import_file(client, pupil_file(*ROWS))
    response = upload(client, pupil_file(*ROWS))
    assert not response.headers["location"].endswith("/columns")
    assert "Pupils with no changes 3" in text_of(client.get(response.headers["location"]))


def test_a_mapping_missing_a_required_column_is_refused_with_what_to_do(client, office):
    response = upload(client, pupil_file(*ROWS))
    columns = response.headers["location"]
    token = csrf_of(client.get(columns))
    response = client.post(
        columns,
        data={"csrf_token": token, **MAPPING, "date_of_birth": "", "year_group": "UPN"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "Choose the column that holds the date of birth" in text_of(response)
    assert "The column UPN is already used for another field" in text_of(response)
    assert page(response).select_one("title").text.startswith("Error:")


def test_reimport_updates_by_pupil_id_never_duplicates_and_full_import_marks_leavers(
    client, db_session, office, clock
):
    import_file(client, pupil_file(*ROWS))
    moved = ROWS[0].replace(",3B,", ",4B,").replace("Year 3", "Year 4")
    new = "A004,Ben,Smith,,Year 4,4B,01/01/2015,,,,,,,,"
    response = upload(client, pupil_file(moved, ROWS[1], new))
    preview = client.get(response.headers["location"])
    text = text_of(preview)
    assert "New pupils 1" in text
    assert "Pupils with changes 1" in text
    assert "Pupils to mark as left 1" in text
    assert "Kwame Mensah" in page(preview).select_one("#leaving").text
    response = client.post(
        response.headers["location"] + "/confirm",
        data={"csrf_token": csrf_of(preview)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    pupils = pupils_by_id(db_session)
    assert len(pupils) == 4
    assert db_session.scalar(select(func.count()).select_from(Pupil)) == 4
    assert pupils["A001"].class_name == "4B"
    assert pupils["A003"].on_roll is False
    assert pupils["A003"].left_on is not None
    assert pupils["A002"].on_roll is True

    # A partial import marks nobody as left; a pupil back in a file is on roll again.
    import_file(client, pupil_file(ROWS[2]), full="no")
    pupils = pupils_by_id(db_session)
    assert pupils["A003"].on_roll is True and pupils["A003"].left_on is None
    assert pupils["A004"].on_roll is True


def test_a_second_confirmation_writes_nothing_twice(client, db_session, office):
    response = upload(client, pupil_file(*ROWS))
    columns = response.headers["location"]
    token = csrf_of(client.get(columns))
    preview_url = client.post(
        columns, data={"csrf_token": token, **MAPPING}, follow_redirects=False
    ).headers["location"]
    token = csrf_of(client.get(preview_url))
    for _ in range(2):
        response = client.post(
            preview_url + "/confirm", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Pupil)) == 3
    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == register.IMPORTED_TAG)
    ).all()
    assert len(events) == 1


def test_a_contact_of_two_pupils_is_one_contact(client, db_session, office):
    sibling = "A005,Lily,Jones,,Year 1,1A,05/05/2019,Sarah Jones,Sarah@Example.com,Mother,yes,,,,"
    import_file(client, pupil_file(ROWS[0], sibling))
    db_session.expire_all()
    sarah = db_session.scalars(select(Contact).where(Contact.email == "sarah@example.com")).all()
    assert len(sarah) == 1
    links = db_session.scalars(select(PupilContact).where(PupilContact.contact_id == sarah[0].id))
    assert len(links.all()) == 2


def test_a_contact_no_longer_in_the_file_is_no_longer_shown(client, db_session, office):
    import_file(client, pupil_file(ROWS[0]))
    without_dad = ROWS[0].split(",Tom Jones")[0] + ",,,,"
    import_file(client, pupil_file(without_dad))
    pupil = pupils_by_id(db_session)["A001"]
    shown = text_of(client.get(f"/staff/pupils/{pupil.id}"))
    assert "Sarah Jones" in shown
    assert "Tom Jones" not in shown


# ---------------------------------------------------------------- row errors


def test_the_preview_lists_each_rows_problems_and_nothing_can_be_written(
    client, db_session, office
):
    rows = [
        ROWS[0],
        ",Nobody,Noid,,Year 3,3B,21/03/2017,,,,,,,,",  # no pupil id
        "A001,Dup,Licate,,Year 3,3B,21/03/2017,,,,,,,,",  # duplicate id
        "A007,Bad,Date,,Year 3,3B,31/02/2017,,,,,,,,",
        "A008,Bad,Email,,Year 3,3B,01/02/2017,Pat,not-an-email,Mother,Yes,,,,",
        "A009,Bad,Responsibility,,Year 3,3B,01/02/2017,Pat,pat@example.com,Mother,Maybe,,,,",
    ]
    import_file(client, pupil_file(*rows))  # maps the columns; the confirm is refused
    response = upload(client, pupil_file(*rows))
    preview = client.get(response.headers["location"])
    table = page(preview).select_one("#row-errors").get_text(" ")
    assert "5 rows have problems" in text_of(preview)
    assert "The pupil id is missing" in table
    assert "The pupil id A001 is also on line 2" in table
    assert "The date of birth 31/02/2017 is not a date like 21/03/2017" in table
    assert "Contact 1's email not-an-email is not an email address" in table
    assert "parental responsibility must be yes or no" in table
    assert page(preview).select_one("form[action$=confirm]") is None
    token = csrf_of(client.get("/staff/pupils/import"))
    response = client.post(
        response.headers["location"] + "/confirm",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "Fix the rows with problems" in text_of(response)
    assert pupils_by_id(db_session) == {}


# ---------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("cp1252"),
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252"],
)
def test_every_usual_encoding_reads_the_same_names(client, db_session, office, encode):
    text = "\r\n".join([HEADER, ROWS[1]]) + "\r\n"
    import_file(client, encode(text))
    pupil = pupils_by_id(db_session)["A002"]
    assert (pupil.legal_first_name, pupil.legal_last_name) == ("Zoë", "O'Neill")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        ("A,B\r\n".encode("utf-16"), "Save the file as CSV UTF-8"),
        (b"\x00\x01\x02PNG", "This is not a CSV file"),
        (HEADER.encode(), "The file has column names but no pupils"),
    ],
    ids=["empty", "utf-16", "binary", "header only"],
)
def test_files_that_cannot_be_read_get_a_clear_message(
    client, db_session, office, content, message
):
    response = upload(client, content)
    assert response.status_code == 422
    assert message in text_of(response)
    assert db_session.scalar(select(func.count()).select_from(PupilImport)) == 0


def test_fifty_thousand_rows_are_refused_with_the_limit(client, db_session, office):
    row = "X{n},Ann,Lee,,Year 1,1A,01/01/2019,,,,,,,,"
    content = pupil_file(*(row.format(n=n) for n in range(50_000)))
    response = upload(client, content)
    assert response.status_code == 422
    assert "more than 10,000 pupils" in text_of(response)


def test_control_and_direction_characters_and_long_cells_never_break_the_import(
    client, db_session, office
):
    sly = "A010,\u202eAnn\x1b,Lee\x07,,Year 1,1A,01/01/2019,,,,,,,,"
    long = "A011," + "N" * 5000 + ",Lee,,Year 1,1A,01/01/2019,,,,,,,,"
    huge = "A012,Ann,Lee,,Year 1,1A,99/99/99999999999999999999,,,,,,,,"
    import_file(client, pupil_file(sly))
    assert pupils_by_id(db_session)["A010"].legal_first_name == "Ann"
    response = upload(client, pupil_file(long, huge))
    preview = client.get(response.headers["location"])
    assert preview.status_code == 200
    text = text_of(preview)
    assert "The legal first name is longer than 100 characters" in text
    assert "is not a date like 21/03/2017" in text


# ---------------------------------------------------------------- the register's pages


def test_search_by_name_and_class_and_a_pupils_page(client, db_session, office):
    import_file(client, pupil_file(*ROWS))
    listing = page(client.get("/staff/pupils", params={"name": "mil"}))
    assert [a.text for a in listing.select("#pupils a")] == ["Millie Jones"]
    listing = page(client.get("/staff/pupils", params={"class_name": "3B"}))
    assert len(listing.select("#pupils tbody tr")) == 2
    listing = page(client.get("/staff/pupils", params={"name": "100%_\\"}))
    assert listing.select_one("#found").text.strip() == "No pupils found."
    pupil = pupils_by_id(db_session)["A001"]
    shown = client.get(f"/staff/pupils/{pupil.id}")
    assert page(shown).select_one("h1").text == "Millie Jones"
    contacts = page(shown).select_one("#contacts").get_text(" ")
    assert "Sarah Jones" in contacts and "Father" in contacts
    assert client.get("/staff/pupils/999999").status_code == 404


def test_only_office_and_admin_keep_the_register_and_the_head_may_read_it(client, db_session):
    for role in (Role.chair, Role.governor, Role.senior_leader, Role.clerk):
        client.cookies.clear()
        sign_in(client, make_user(db_session, role))
        assert client.get("/staff/pupils").status_code == 403
        assert client.get("/staff/pupils/import").status_code == 403
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.head))
    listing = client.get("/staff/pupils")
    assert listing.status_code == 200
    assert page(listing).select_one("#import-link") is None
    assert client.get("/staff/pupils/import").status_code == 403
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.admin))
    assert client.get("/staff/pupils").status_code == 200
    home = page(client.get("/staff"))
    assert home.select_one("a[href='/staff/pupils']") is not None


# ---------------------------------------------------------------- purposes


def test_the_six_default_purposes_are_there_on_first_use(db_session):
    names = [p.name for p in purposes(db_session)]
    assert names == [
        "Displays in school",
        "School website",
        "School social media",
        "Newsletter and prospectus",
        "Local press",
        "Video",
    ]
    assert [p.version for p in purposes(db_session)] == [1] * 6
    assert {p.key for p in purposes(db_session) if p.asks_naming} == {
        "website",
        "social_media",
        "newsletter",
        "local_press",
    }


def test_every_mapped_field_is_a_form_input():
    from dataclasses import fields

    from portal.consent.forms import ColumnsForm

    assert {f.name for f in fields(ColumnsForm)} == {key for key, _l, _r in register.all_fields()}
