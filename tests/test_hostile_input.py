"""Hostile input: no route answers 5xx, nothing is half-written, and text is kept clean and shown
isolated. The property test fuzzes every route the router has; the rest pin each fix.

The long run is `python -m tests.bench.fuzz` (figures in docs/security.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from bs4 import BeautifulSoup
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.accounts.models import Role
from portal.app import create_app
from portal.complaints import attachments, services
from portal.complaints.models import About, Attachment, Complaint, ComplaintMessage
from portal.config import Settings
from portal.inputs import MAX_ROW_ID, CleanInputRoute, row_id_or_none
from portal.text import clean_text, is_clean
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.conftest import TEST_SECRET, csrf_of, page, post_form
from tests.databases import migrated_database
from tests.factories import PDF_BYTES, add_file, answers, make_case, make_cast, make_user, sign_in
from tests.hostile import (
    CONTROL_ALPHABET,
    HOSTILE_FILENAMES,
    HOSTILE_TEXT,
    ROLES,
    RouteShape,
    World,
    build_world,
    close_world,
    plan_request,
    portal_routes,
    problems,
    response_problem,
    send,
    signed_in_roles,
)

T = TypeVar("T")
EXAMPLES = int(os.environ.get("PORTAL_HOSTILE_EXAMPLES", "2"))
HUGE = str(2**64 + 5)


def _route_shapes() -> list[RouteShape]:
    settings = Settings(
        environment="test", database_url="sqlite://", secret_key=TEST_SECRET, _env_file=None
    )
    return portal_routes(create_app(settings, fixed_test_clock()))


ROUTES = _route_shapes()


class HypothesisDraw:
    """The fuzz plans' choices, made by hypothesis (so a failure shrinks to a small example)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options: list[T] | tuple[T, ...]) -> T:  # type: ignore[override]
        return self.data.draw(st.sampled_from(list(options)))

    def chance(self, probability: float) -> bool:
        return self.data.draw(st.floats(0, 1)) < probability

    def free_text(self) -> str:
        return self.data.draw(
            st.text(st.sampled_from(CONTROL_ALPHABET) | st.characters(codec="utf-8"), max_size=40)
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A school of its own (own database and files), kept for the whole module: the tests that
    use the usual `app` fixture empty the shared database after each test."""
    folder = tmp_path_factory.mktemp("hostile")
    with migrated_database("portal_hostile", folder) as url:
        yield from _world(url, folder)


def _world(database_url: str, folder: Path) -> Iterator[World]:
    settings = Settings(
        environment="test",
        database_url=database_url,
        attachments_dir=folder / "attachments",
        secret_key=TEST_SECRET,
        smtp_host="",
        rate_limit_storage="memory://",
        term_dates_file=TERM_DATES,
        _env_file=None,
    )
    app = create_app(settings, fixed_test_clock())
    with app.state.sessions() as session:
        built = build_world(app, session, settings)
    yield built
    close_world(built)
    app.state.engine.dispose()


# ---------------------------------------------------------------- the property test


def test_the_fuzzer_sees_every_route():
    labels = {shape.label for shape in ROUTES}
    for expected in (
        "GET /staff/complaints/{reference}/attachments/{attachment_id}",
        "POST /track/{token}/reply",
        "POST /complaints/new/{step}",
        "GET /staff/outbox",
        "POST /staff/users/{user_id}/password",
        "GET /healthz",
    ):
        assert expected in labels
    assert len(ROUTES) > 50


@pytest.mark.parametrize("shape", ROUTES, ids=lambda shape: shape.label)
def test_no_route_fails_or_half_writes_on_hostile_input(world: World, shape: RouteShape):
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def attack(data: st.DataObject) -> None:
        draw = HypothesisDraw(data)
        for role in ROLES:
            plan = plan_request(draw, shape, world, role)
            response = send(world, plan)
            problem = response_problem(plan, response)
            assert problem is None, problem
        assert problems(world) == [], f"after {shape.label}"

    attack()


def test_the_fuzzed_staff_are_still_signed_in(world: World):
    """Runs after the property test: its requests went in as the staff they claimed to be."""
    assert signed_in_roles(world) == ["admin", "office", "head", "chair"]


def test_every_route_reads_its_input_through_the_cleaning_route():
    app = create_app(
        Settings(
            environment="test", database_url="sqlite://", secret_key=TEST_SECRET, _env_file=None
        ),
        fixed_test_clock(),
    )
    routes = [c.original_route for c in iter_route_contexts(app.routes)]
    api_routes = [route for route in routes if isinstance(route, APIRoute)]
    assert len(api_routes) > 40
    for route in api_routes:
        assert isinstance(route, CleanInputRoute), f"{route.path} is a plain APIRoute"


# ---------------------------------------------------------------- the central cleaning


@given(st.text(st.sampled_from(CONTROL_ALPHABET) | st.characters(codec="utf-8"), max_size=200))
def test_clean_text_leaves_no_control_or_direction_character(value: str):
    cleaned = clean_text(value)
    assert is_clean(cleaned)
    for char in cleaned:
        code = ord(char)
        assert char in "\t\n" or not (code < 0x20 or 0x7F <= code <= 0x9F), repr(char)
        assert not (0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069), repr(char)
    assert "\r" not in cleaned


def test_clean_text_keeps_what_people_write():
    text = "Bonjour Zoë,\n\tשלום עולם — مرحبا 🙂 \u200f(RLM kept)"
    assert clean_text(text) == text
    assert clean_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert clean_text("a\x00b\u202ec\u2066d\u2069\x1b") == "abcd"


def test_row_ids_outside_the_database_range_are_refused():
    assert row_id_or_none("42") == 42
    assert row_id_or_none(str(MAX_ROW_ID)) == MAX_ROW_ID
    for bad in (str(MAX_ROW_ID + 1), HUGE, "-1", "0", "\u0663", "\u00b2", "1e3", "", " ", "1_0"):
        assert row_id_or_none(bad) is None, bad


def test_nul_and_controls_are_stripped_before_they_are_stored(cast, client, db_session, settings):
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    response = post_form(
        client,
        f"/staff/complaints/{case.reference}/note",
        {"note": "Spoke\x00 to \u202eDad\u202c on the\r\nphone\x1b."},
        from_page=f"/staff/complaints/{case.reference}",
    )
    assert response.status_code == 303
    note = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.complaint_id == case.id)
    ).all()[-1]
    assert note.body == "Spoke to Dad on the\nphone."


def test_nul_in_a_search_or_a_path_is_not_a_server_error(cast, client, db_session, settings):
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.office)
    assert client.get("/staff/complaints?q=a%00b").status_code == 200
    assert client.get(f"/staff/complaints/{case.reference}%00").status_code == 200
    assert client.get("/policy/versions/1%00x").status_code == 404


# ---------------------------------------------------------------- numbers beyond 64 bits


@pytest.mark.parametrize("number", [HUGE, str(2**40), str(MAX_ROW_ID + 1)])
def test_ids_beyond_the_database_range_answer_not_found(cast, client, db_session, settings, number):
    case = make_case(db_session, settings, cast, "open")
    admin = make_user(db_session, Role.admin, Role.chair)
    sign_in(client, admin)
    for path in (
        f"/staff/users/{number}",
        f"/staff/outbox/{number}",
        f"/staff/complaints/{case.reference}/attachments/{number}",
        f"/staff/complaints/{case.reference}/letters/{number}.pdf",
        f"/track/case/attachments/{number}",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (303, 404), path
        assert "text/html" in response.headers["content-type"] or response.status_code == 303
    csrf = csrf_of(client.get("/track"))
    posted = client.post(f"/staff/outbox/{number}/retry", data={"csrf_token": csrf})
    assert posted.status_code == 404


def test_numbers_beyond_range_in_query_strings_are_a_clear_answer(
    cast, client, db_session, settings
):
    make_case(db_session, settings, cast, "open")
    admin = make_user(db_session, Role.admin, Role.office)
    sign_in(client, admin)
    assert client.get(f"/staff/complaints?after=2026-11-25_{HUGE}").status_code == 200
    assert client.get(f"/staff/complaints?handler={HUGE}").status_code == 200
    assert client.get(f"/staff/complaints?page={HUGE}").status_code == 200
    refused = client.get(f"/staff/outbox?before={HUGE}")
    assert refused.status_code == 422
    assert "There is a problem with the web address" in refused.text


def test_a_huge_staff_id_in_a_form_is_an_error_message_not_a_crash(client, db_session, settings):
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "new")
    sign_in(client, cast.office)
    response = post_form(
        client,
        f"/staff/complaints/{case.reference}/triage",
        {"stage": "stage1", "category": case.category, "handler_id": HUGE},
        from_page=f"/staff/complaints/{case.reference}",
    )
    assert response.status_code in (303, 422)


# ---------------------------------------------------------------- emails with CR/LF


@pytest.mark.parametrize(
    "email", ["a@x.com\r\nBcc: evil@y.com", "a@x.com, b@y.com", "a@x.com; b@y.com", "A <a@x.com>"]
)
def test_a_parent_email_must_be_one_address(client, email):
    for step, data in (
        ("kind", {"kind": "complaint"}),
        ("about", {"about": "school"}),
        ("category", {"category": "Behaviour and bullying"}),
        ("what-happened", {"what_happened": "He was pushed over in the playground."}),
    ):
        assert post_form(client, f"/complaints/new/{step}", data).status_code == 303
    response = post_form(
        client, "/complaints/new/contact", {"parent_name": "Alex", "parent_email": email}
    )
    assert response.status_code == 422
    assert "Enter one email address" in response.text


def test_a_staff_email_must_be_one_address(client, db_session):
    admin = make_user(db_session, Role.admin)
    sign_in(client, admin)
    response = post_form(
        client,
        "/staff/users/new",
        {
            "name": "New Person",
            "email": "new@school.example\r\nBcc: evil@example.com",
            "password": "a long enough password 123",
            "roles": ["office"],
        },
    )
    assert response.status_code == 422
    assert "Enter one email address" in response.text


# ---------------------------------------------------------------- downloads with any file name


@pytest.mark.parametrize(
    "name", ["\u043e\u0442\u0447\u0451\u0442.pdf", "\u5831\u544a.pdf", "\u0645\u0644\u0641.pdf"]
)
def test_a_file_named_in_any_script_downloads(client, db_session, settings, name):
    cast = make_cast(db_session)
    stored = add_file(db_session, settings, filename=name)
    case = make_case(db_session, settings, cast, "responded", attachment_ids=[stored])
    sign_in(client, cast.head)
    response = client.get(f"/staff/complaints/{case.reference}/attachments/{stored}")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"file.pdf\"; filename*=UTF-8''")
    assert disposition.encode("latin-1")  # a header must be Latin-1 (it is ASCII here)
    from urllib.parse import unquote

    assert unquote(disposition.split("''", 1)[1]) == name
    letter = next(
        m
        for m in db_session.scalars(
            select(ComplaintMessage).where(ComplaintMessage.complaint_id == case.id)
        )
        if m.kind_enum.is_letter
    )
    pdf = client.get(f"/staff/complaints/{case.reference}/letters/{letter.id}.pdf")
    assert pdf.status_code == 200


def test_content_disposition_keeps_plain_names_plain():
    assert attachments.content_disposition("evidence.pdf") == 'attachment; filename="evidence.pdf"'
    tricky = attachments.content_disposition('a"b;c\r\n.pdf')
    assert "\r" not in tricky and "\n" not in tricky
    assert tricky.startswith('attachment; filename="a_b_c.pdf"; filename*=')


# ---------------------------------------------------------------- no orphan files


def _files(settings: Settings) -> list[Path]:
    folder = Path(settings.attachments_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_refused_reply_leaves_no_file_behind(client, db_session, settings):
    cast = make_cast(db_session)
    received = services.submit(db_session, settings, answers())
    db_session.commit()
    before = _files(settings)
    token = received.access_token
    form = client.get(f"/track/{token}")
    response = client.post(
        f"/track/{token}/reply",
        data={"body": "", "csrf_token": csrf_of(form)},
        files={"attachment": ("evidence.pdf", PDF_BYTES, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert _files(settings) == before
    assert cast  # the school exists; the reply was refused for its empty text


def test_a_file_written_in_a_transaction_that_fails_is_removed(db_session, settings):
    stored = attachments.store(
        db_session, settings, filename="x.pdf", content=PDF_BYTES, draft_id="d"
    )
    assert (Path(settings.attachments_dir) / stored.storage_key).exists()
    db_session.rollback()
    assert _files(settings) == []
    kept = attachments.store(
        db_session, settings, filename="y.pdf", content=PDF_BYTES, draft_id="d"
    )
    db_session.commit()
    attachments.remove(db_session, settings, kept)
    db_session.rollback()
    assert [path.name for path in _files(settings)] == [kept.storage_key]
    row = db_session.get(Attachment, kept.id)
    attachments.remove(db_session, settings, row)
    db_session.commit()
    assert _files(settings) == []


# ---------------------------------------------------------------- text shown isolated


RTL = "\u05d0\u05de\u05d0 \u05e9\u05dc \u05e0\u05d5\u05e2\u05dd"  # Hebrew: "Noam's mum"
RTL_STORY = (  # Arabic: "my son was pushed in the playground"
    "\u0627\u0628\u0646\u064a \u062f\u064f\u0641\u0639 \u0641\u064a "
    "\u0627\u0644\u0645\u0644\u0639\u0628"
)


def _isolated(soup: BeautifulSoup, text: str) -> list[str]:
    """Where `text` appears without a dir="auto" or <bdi> around it."""
    bare = []
    for node in soup.find_all(string=lambda s: s and text in s):
        if node.find_parent("textarea") or node.find_parent("title") or node.find_parent("input"):
            continue
        if not any(parent.name == "bdi" or parent.get("dir") == "auto" for parent in node.parents):
            bare.append(str(node.parent)[:120])
    return bare


def test_parent_text_is_isolated_on_every_page_that_shows_it(client, db_session, settings):
    cast = make_cast(db_session)
    received = services.submit(
        db_session,
        settings,
        answers(
            parent_name=RTL,
            what_happened=RTL_STORY,
            done_so_far=RTL_STORY + " 1",
            put_right=RTL_STORY + " 2",
            child_name=RTL + " 3",
            about=About.staff,
            about_name=RTL + " 4",
            attachment_ids=[
                add_file(db_session, settings, filename="\u05de\u05e1\u05de\u05da.pdf")
            ],
        ),
    )
    db_session.commit()
    case = received.complaint
    services.parent_reply(db_session, settings, case, RTL_STORY + " reply")
    db_session.commit()

    tracking = page(client.get(f"/track/{received.access_token}"))
    for text in (RTL_STORY + " reply", "\u05de\u05e1\u05de\u05da.pdf"):
        assert tracking.find(string=lambda s, t=text: s and t in s), text
        assert _isolated(tracking, text) == [], text

    sign_in(client, cast.head)
    case_page = page(client.get(f"/staff/complaints/{case.reference}"))
    for text in (RTL, RTL_STORY, RTL_STORY + " 1", RTL_STORY + " 2", RTL + " 3", RTL + " 4"):
        assert case_page.find(string=lambda s, t=text: s and t in s), text
        assert _isolated(case_page, text) == [], text
    queue = page(client.get("/staff/complaints"))
    assert queue.find(string=lambda s: s and RTL in s)
    assert _isolated(queue, RTL) == []


def test_check_your_answers_isolates_what_the_parent_typed(client):
    steps = [
        ("kind", {"kind": "complaint"}),
        ("about", {"about": "staff", "about_name": RTL + " 4"}),
        ("category", {"category": "Behaviour and bullying"}),
        ("what-happened", {"what_happened": RTL_STORY}),
        ("done-so-far", {"done_so_far": RTL_STORY + " 1"}),
        ("put-right", {"put_right": RTL_STORY + " 2"}),
        (
            "contact",
            {"parent_name": RTL, "parent_email": "a@example.com", "child_name": RTL + " 3"},
        ),
    ]
    for step, data in steps:
        assert post_form(client, f"/complaints/new/{step}", data).status_code == 303, step
    check = page(client.get("/complaints/new/check"))
    for text in (RTL, RTL_STORY, RTL_STORY + " 1", RTL_STORY + " 2", RTL + " 3", RTL + " 4"):
        assert check.find(string=lambda s, t=text: s and t in s), text
        assert _isolated(check, text) == [], text


def test_an_override_typed_by_a_parent_never_reaches_the_page(client):
    for step, data in (
        ("kind", {"kind": "complaint"}),
        ("about", {"about": "school"}),
        ("category", {"category": "Behaviour and bullying"}),
        ("what-happened", {"what_happened": "Paid \u202e05\u202c pounds\x00 for the trip."}),
    ):
        assert post_form(client, f"/complaints/new/{step}", data).status_code == 303
    shown = client.get("/complaints/new/what-happened")
    assert "Paid 05 pounds for the trip." in shown.text
    assert "\u202e" not in shown.text and "\x00" not in shown.text


# ---------------------------------------------------------------- the whole form, sent


JOURNEY = (
    ("kind", {"kind": "complaint"}),
    ("about", {"about": "staff", "about_name": "Mr Jones"}),
    ("category", {"category": "Behaviour and bullying"}),
    (
        "what-happened",
        {
            "what_happened": "My son was pushed over in the playground.",
            "happened_on-day": "",
            "happened_on-month": "",
            "happened_on-year": "",
        },
    ),
    ("done-so-far", {"done_so_far": "I spoke to his teacher."}),
    ("put-right", {"put_right": "Tell me what happened."}),
    (
        "contact",
        {
            "parent_name": "Alex Parent",
            "parent_email": "alex.parent@example.com",
            "parent_phone": "",
            "child_name": "Sam",
        },
    ),
)
JOURNEY_FIELDS = sorted(name for _, fields in JOURNEY for name in fields if name != "kind")
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(st.sampled_from(CONTROL_ALPHABET) | st.characters(codec="utf-8"), max_size=60),
)


@hypothesis_settings(
    max_examples=max(EXAMPLES * 3, 6),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.dictionaries(st.sampled_from(JOURNEY_FIELDS), HOSTILE, min_size=1, max_size=4),
    st.sampled_from(HOSTILE_FILENAMES),
)
def test_a_parent_sending_anything_never_sees_a_server_error(world: World, hostile, filename):
    """The form from start to finish with hostile answers (fixed when refused, as a parent
    would), a file with a hostile name, then the confirmation, the tracking page and the queue."""
    world.app.state.limiter.storage.reset()
    with TestClient(world.app, raise_server_exceptions=False) as parent:
        csrf = csrf_of(parent.get("/complaints/new/kind"))
        for step, fields in JOURNEY:
            answer = {**fields, **{k: v for k, v in hostile.items() if k in fields}}
            response = parent.post(f"/complaints/new/{step}", data={**answer, "csrf_token": csrf})
            assert response.status_code < 500, (step, answer)
            if response.status_code == 422:
                fixed = parent.post(
                    f"/complaints/new/{step}",
                    data={**fields, "csrf_token": csrf},
                    follow_redirects=False,
                )
                assert fixed.status_code == 303, (step, fixed.text[:300])
        uploaded = parent.post(
            "/complaints/new/attachments",
            data={"csrf_token": csrf, "action": "add"},
            files={"file": (filename, PDF_BYTES, "application/pdf")},
        )
        assert uploaded.status_code < 500
        assert parent.get("/complaints/new/check").status_code == 200
        sent = parent.post("/complaints/new/submit", data={"csrf_token": csrf})
        assert sent.status_code == 200, sent.text[:300]
        link = page(sent).select_one("a[href*='/track/']")
        if link is not None:
            tracking = parent.get(str(link["href"]).replace(world.settings.base_url, ""))
            assert tracking.status_code == 200
            for file_link in page(tracking).select("a[href*='/attachments/']"):
                assert parent.get(str(file_link["href"])).status_code == 200
    for role in ("office", "chair"):
        staff = world.clients[role]
        assert staff.get("/staff/complaints").status_code == 200
        assert staff.get("/staff/complaints?closed=1&q=" + "Alex").status_code == 200
    newest = _newest_reference(world)
    assert world.clients["chair"].get(f"/staff/complaints/{newest}").status_code in (200, 404)
    assert problems(world) == []


def _newest_reference(world: World) -> str:
    with world.app.state.sessions() as session:
        return session.scalars(select(Complaint.reference).order_by(Complaint.id.desc())).first()


def test_a_date_too_big_for_the_calendar_is_an_error_message(client, db_session, settings):
    for step, data in (
        ("kind", {"kind": "complaint"}),
        ("about", {"about": "school"}),
        ("category", {"category": "Behaviour and bullying"}),
    ):
        assert post_form(client, f"/complaints/new/{step}", data).status_code == 303
    response = post_form(
        client,
        "/complaints/new/what-happened",
        {
            "what_happened": "He was pushed over in the playground.",
            "happened_on-day": "9" * 40,
            "happened_on-month": "1",
            "happened_on-year": "2026",
        },
    )
    assert response.status_code == 422
    assert "Enter a real date" in response.text
    cast = make_cast(db_session)
    case = make_case(db_session, settings, cast, "open")
    sign_in(client, cast.head)
    update = post_form(
        client,
        f"/staff/complaints/{case.reference}/update",
        {
            "new_date_day": "1",
            "new_date_month": str(2**64),
            "new_date_year": "2027",
            "update_reason": "We need more time.",
        },
        from_page=f"/staff/complaints/{case.reference}",
    )
    assert update.status_code == 422
    assert "Enter a real date" in update.text


def test_a_track_cookie_with_a_huge_or_odd_case_number_is_ignored(client, db_session, settings):
    make_case(db_session, settings, make_cast(db_session), "open")
    for value in (f"{HUGE}.9999999999.abc", "\u00b2.9999999999.abc", "1.\u00b2.abc"):
        cookie = f"portal_track={value}".encode("latin-1")
        response = client.get("/track/case", headers={"cookie": cookie}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/track"


def test_staff_names_and_addresses_longer_than_their_columns_are_refused(client, db_session):
    admin = make_user(db_session, Role.admin)
    other = make_user(db_session, Role.office)
    sign_in(client, admin)
    for data in (
        {"name": "N" * 201, "email": "new@school.example"},
        {"name": "New Person", "email": "n" * 320 + "@school.example"},
    ):
        response = post_form(
            client,
            "/staff/users/new",
            {**data, "password": "a long enough password 123", "roles": ["office"]},
        )
        assert response.status_code == 422
        assert "characters or fewer" in response.text
    renamed = post_form(
        client, f"/staff/users/{other.id}", {"name": "N" * 201, "roles": ["office"]}
    )
    assert renamed.status_code == 422
    assert "characters or fewer" in renamed.text
