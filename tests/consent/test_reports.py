"""Consent reports: per class and purpose, who may appear and who may not (on screen, printed
one page per class, and as CSV that a spreadsheet opens safely); who has not answered; who may
open each report; and a restricted pupil who is only "Restricted" to roles the settings do not
name."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import AnswerHow, ConsentSettings, Contact, FlagKind, Pupil
from portal.consent.report_views import REPORT_ROLES, REQUEST_ROLES
from portal.consent.report_views import router as report_router
from portal.consent.services import answers, flags
from portal.consent.services.answers import Answer
from portal.consent.services.purposes import purposes
from portal.consent.services.reports import FORMULA_STARTS, neutralised
from tests.conftest import page, text_of
from tests.consent.helpers import ROWS, evidence_kwargs, import_file, pupil_file
from tests.factories import make_user, sign_in
from tests.routes import api_routes

REASON = "Secret reason about a family"
SECOND_IN_4M = (
    "A004,Sofia,Nowak,,Year 4,4N,2015-10-23,Agnieszka Nowak,agnieszka@example.com,Mother,Yes,,,,"
)


@pytest.fixture
def office(client, db_session):
    user = make_user(db_session, Role.office)
    sign_in(client, user)
    return user


@pytest.fixture
def register(client, db_session, office) -> dict[str, Pupil]:
    """3B: Millie (website yes, may be named), Zoë (website no). Year 4: Kwame in 4M
    (restricted, at risk) and Sofia in 4N (no answers)."""
    import_file(client, pupil_file(*ROWS, SECOND_IN_4M))
    db_session.expire_all()
    pupils = {p.mis_id: p for p in db_session.scalars(select(Pupil))}
    website = next(p for p in purposes(db_session) if p.key == "website")

    def say(mis_id: str, email: str, yes: bool, naming: bool | None = None) -> None:
        contact = db_session.scalar(select(Contact.id).where(Contact.email == email))
        answers.record_answers(
            db_session,
            office,
            pupils[mis_id],
            contact,
            AnswerHow.paper,
            [Answer(website, yes, naming)],
            **evidence_kwargs(db_session, office, pupils[mis_id], AnswerHow.paper),
        )

    say("A001", "sarah@example.com", True, True)
    say("A002", "roisin@example.com", False)
    flags.set_flag(db_session, office, pupils["A003"], FlagKind.at_risk, REASON)
    db_session.commit()
    return pupils


def _rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [
        [cell.get_text(" ", strip=True) for cell in tr.select("th, td")]
        for tr in table.select("tbody tr")
    ]


def test_the_report_says_per_class_who_may_appear_and_who_may_not(client, register):
    response = client.get(
        "/staff/consent-reports", params={"group": "class:3B", "purpose": "website"}
    )
    assert response.status_code == 200
    shown = page(response)
    assert shown.select_one("h1").text == "Photo consent reports"
    sections = shown.select("section.school-report-class")
    assert [s["data-class"] for s in sections] == ["3B"]
    assert _rows(sections[0].select_one("table.may-appear")) == [["Millie Jones", "Yes"]]
    assert _rows(sections[0].select_one("table.may-not")) == [["Zoë O'Neill", "Refused"]]
    waiting = {row[0]: row for row in _rows(shown.select_one("#waiting"))}
    assert set(waiting) == {"Millie Jones", "Zoë O'Neill"}
    assert waiting["Millie Jones"][2] == "No answer yet"
    assert "School website" not in waiting["Millie Jones"][3]
    assert shown.select_one("#print-link")["href"].startswith("/staff/consent-reports/print?")
    assert shown.select_one("#ask-link") is not None  # office may ask the families


def test_a_year_group_report_has_one_part_per_class(client, register):
    response = client.get(
        "/staff/consent-reports", params={"group": "year:Year 4", "purpose": "displays"}
    )
    sections = page(response).select("section.school-report-class")
    assert [s["data-class"] for s in sections] == ["4M", "4N"]
    assert _rows(sections[1].select_one("table.may-not")) == [["Sofia Nowak", "No answer yet"]]


@pytest.mark.parametrize("role", [Role.senior_leader, Role.admin])
def test_a_restricted_pupil_is_only_restricted_to_roles_the_settings_do_not_name(
    client, db_session, register, role
):
    client.cookies.clear()
    sign_in(client, make_user(db_session, role))
    query = {"group": "year:Year 4", "purpose": "website"}
    for path in ("/staff/consent-reports", "/staff/consent-reports/print"):
        response = client.get(path, params=query)
        assert response.status_code == 200
        row = next(r for r in _rows(page(response).select_one("table.may-not")) if "Kwame" in r[0])
        assert row == ["Kwame Mensah", "Restricted"]
        assert "at risk" not in response.text.lower()
        assert REASON not in response.text
    exported = client.get("/staff/consent-reports/report.csv", params=query)
    assert "Restricted" in exported.text
    assert "risk" not in exported.text.lower() and REASON not in exported.text


def test_the_roles_the_settings_name_read_the_kind_on_screen_but_never_on_paper(
    client, db_session, register
):
    query = {"group": "year:Year 4", "purpose": "website"}
    shown = client.get("/staff/consent-reports", params=query)  # office: named by default
    row = next(r for r in _rows(page(shown).select_one("table.may-not")) if "Kwame" in r[0])
    assert row == ["Kwame Mensah", "Restricted: at risk"]
    assert REASON not in shown.text
    printed = client.get("/staff/consent-reports/print", params=query)
    assert "at risk" not in printed.text.lower()
    assert "risk" not in client.get("/staff/consent-reports/report.csv", params=query).text.lower()

    db_session.add(ConsentSettings(flag_roles="senior_leader"))
    db_session.commit()
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.senior_leader))
    shown = client.get("/staff/consent-reports", params=query)
    assert "Restricted: at risk" in text_of(shown)
    client.cookies.clear()
    sign_in(client, make_user(db_session, Role.office))
    shown = client.get("/staff/consent-reports", params=query)
    assert "at risk" not in shown.text.lower()


def test_the_printable_report_has_no_navigation_and_one_page_per_class(client, register):
    response = client.get(
        "/staff/consent-reports/print", params={"group": "year:Year 4", "purpose": "website"}
    )
    shown = page(response)
    assert shown.select_one("h1").text == "Who may appear in photos: School website"
    assert shown.select_one("nav") is None
    assert shown.select_one(".govuk-service-navigation__list") is None
    assert [s["data-class"] for s in shown.select("section.school-print-page")] == ["4M", "4N"]


HOSTILE_NAMES = [
    "=cmd|' /C calc'!A0",
    "+SUM(1)",
    "-2",
    "@x",
    "\tTabbed",
    "\rReturned",
    '=HYPERLINK("http://evil.example","click")',
]


def test_hostile_names_come_out_of_the_csv_neutralised_and_other_scripts_survive(
    client, db_session, register
):
    for number, name in enumerate([*HOSTILE_NAMES, "Zoë", "Łucja", "山田", "محمد"], 1):
        db_session.add(
            Pupil(
                mis_id=f"H{number:03d}",
                legal_first_name=name,
                legal_last_name="Ñúñez",
                year_group="Year 5",
                class_name="5H",
                date_of_birth=date(2014, 5, 1),
            )
        )
    db_session.commit()
    response = client.get(
        "/staff/consent-reports/report.csv", params={"group": "class:5H", "purpose": "website"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="photo-consent-class-5h-website.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["Class", "Pupil", "Year", "Where", "May appear", "Why", "May be named"]
    names = [row[1] for row in rows[1:]]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), repr(cell)
    for name in HOSTILE_NAMES:
        assert "'" + name + " Ñúñez" in names
    for name in ("Zoë", "Łucja", "山田", "محمد"):
        assert f"{name} Ñúñez" in names
    # Every cell quoted: a comma or a quote inside a name cannot start a new cell.
    for line in text.split("\r\n")[1:-1]:
        assert line.startswith('"') and line.endswith('"'), repr(line)


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_each_formula_start_gets_an_apostrophe(value):
    assert neutralised(value) == "'" + value
    assert neutralised("Amelia " + value) == "Amelia " + value


@pytest.mark.parametrize(
    "query",
    [
        {"group": "class:NOPE", "purpose": "website"},
        {"group": "x" * 10_000, "purpose": "\u202eevil"},
        {"group": "class:3B", "purpose": ""},
        {"group": "", "purpose": "website"},
        {"group": "year:\x00", "purpose": "website"},
    ],
)
def test_a_report_for_something_that_does_not_exist_says_what_to_choose(client, register, query):
    for path in ("", "/print", "/report.csv"):
        response = client.get("/staff/consent-reports" + path, params=query)
        assert response.status_code == 422, path
        assert "There is a problem" in text_of(response)
        assert page(response).select_one("h1").text == "Photo consent reports"


# ---------------------------------------------------------------- who may open what


def _expected(roles: tuple[Role, ...], role: Role) -> bool:
    return role in roles


def test_every_role_against_every_report_route(app, client, db_session, register):
    """The access matrix for the new routes, read from their router: the report routes for
    office, head, senior leaders and admins; the request routes for office and admins."""
    routes = [
        (method, route.path, route)
        for route in api_routes(report_router)
        for method in sorted(route.methods - {"HEAD"})
    ]
    assert len(routes) == 7
    request_paths = {"/staff/consent-reports/request", "/staff/consent-reports/request/letters"}
    query = {"group": "class:3B", "purpose": "website"}
    wrong = []
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role, name=f"Someone {role.value}"))
        token = page(client.get("/staff")).select_one("input[name=csrf_token]")
        csrf = token["value"] if token else ""
        for method, path, _route in routes:
            roles = REQUEST_ROLES if path in request_paths else REPORT_ROLES
            url = path.replace("{request_id}", "999999")
            if method == "GET":
                response = client.get(url, params=query, follow_redirects=False)
            else:
                response = client.post(
                    url,
                    data={"csrf_token": csrf, "group": "class:NOPE"},
                    follow_redirects=False,
                )
            allowed = _expected(roles, role)
            code = response.status_code
            if code >= 500 or (allowed and code == 403) or (not allowed and code != 403):
                wrong.append(f"{role.value} {method} {url}: {code}")
    client.cookies.clear()
    for method, path, _route in routes:
        if method == "GET":
            response = client.get(path.replace("{request_id}", "1"), follow_redirects=False)
            assert response.status_code == 303 and "/staff/login" in response.headers["location"]
    assert wrong == []


def test_the_menu_shows_consent_reports_to_those_who_may_read_them(client, db_session, register):
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role, name=f"Menu {role.value}"))
        links = [a["href"] for a in page(client.get("/staff")).select("#navigation a")]
        assert ("/staff/consent-reports" in links) == (role in REPORT_ROLES), role
