"""Who sees what, for every staff route the router has: a new route is in this matrix at once.

The routes are read from the app, not listed here. Every staff route, GET and POST, is tried by
every role against every kind of case: about the school, naming a member of staff in the parent's
own words, naming one at triage, about the head, about a governor, linked to a lead, and at
stage 2 with the person on and off the panel. The oracle below says who may see each case,
written from the procedure, not from the code under test:

- a case route for a case the person may not see answers 404 (nobody learns it exists), and a
  refused request leaves the case exactly as it was (its version does not move);
- a route guarded by roles answers 403 to anyone without one of them;
- nothing ever answers 5xx.

Action-level permissions (who may sort, answer, record a panel) are in
tests/complaints/test_staff_roles.py, whose action list is also read from the router.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from portal.accounts.access import current_user
from portal.accounts.models import Role
from portal.complaints import services
from portal.complaints.models import About, Complaint, ComplaintMessage, MessageKind
from portal.mail import OutboxMessage
from tests.conftest import csrf_of
from tests.factories import add_file, answers, make_case, make_cast, make_user, sign_in
from tests.routes import api_routes

PUBLIC = {"/staff/login", "/staff/logout"}
HEADS = {"head", "other_head"}
EVERY_COMPLAINT_ROLE = {"office", *HEADS, "chair", "clerk"}

# Who may see each case, from the procedure: office not cases about the head or a governor; the
# head never a case about the head; chair and clerk everything; a governor only their panel;
# nobody a case that names them, by the parent's words or at triage; a senior leader only the
# case the head gave them.
SEES = {
    "school": EVERY_COMPLAINT_ROLE,
    "named_by_parent": EVERY_COMPLAINT_ROLE - {"office"},
    "named_at_triage": EVERY_COMPLAINT_ROLE - {"head"},
    "head": {"chair", "clerk"},
    "governor": {*HEADS, "chair", "clerk"},
    "linked": EVERY_COMPLAINT_ROLE,
    "stage2_on_panel": {*EVERY_COMPLAINT_ROLE, "governor"},
    "stage2_off_panel": EVERY_COMPLAINT_ROLE,
    "delegated": {*EVERY_COMPLAINT_ROLE, "senior_leader"},
}
# The senior leader goes before the head, whose bare "take back" really takes the case back.
USERS = ("office", "senior_leader", "head", "other_head", "chair", "clerk", "governor", "admin")


def staff_routes(app) -> list[tuple[str, str, APIRoute]]:
    found = []
    for route in api_routes(app):
        if not isinstance(route, APIRoute) or not route.path.startswith("/staff"):
            continue
        if route.path in PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, route))
    return found


def required_roles(route: APIRoute) -> set[Role] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "required_roles", None)
        if roles is not None:
            return set(roles)
        stack.extend(dependant.dependencies)
    return None


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


@pytest.fixture
def world(db_session, settings):
    cast = make_cast(db_session)
    other_head = make_user(db_session, Role.head, name="Deputy Head")
    spare = make_user(db_session, Role.governor, name="Spare Governor")
    users = {
        "office": cast.office,
        "head": cast.head,
        "other_head": other_head,
        "chair": cast.chair,
        "clerk": cast.clerk,
        "governor": cast.governors[0],
        "admin": make_user(db_session, Role.admin, name="Priya Shah"),
        "senior_leader": make_user(db_session, Role.senior_leader, name="Daniel Mensah"),
    }

    def case(state, **kwargs):
        return make_case(
            db_session,
            settings,
            cast,
            state,
            attachment_ids=[add_file(db_session, settings)],
            **kwargs,
        )

    delegated = case("open")
    services.delegate(db_session, settings, delegated, cast.head, users["senior_leader"].id, "")
    db_session.commit()
    school = case("open")
    named_by_parent = case("new", about=About.staff, about_name="Mrs Okafor")
    linked = case("new")
    linked.lead_complaint_id = school.id
    db_session.add(linked)
    db_session.commit()
    cases = {
        "school": school,
        "named_by_parent": named_by_parent,
        "named_at_triage": case(
            "open", about=About.staff, about_user=cast.head, handler=other_head
        ),
        "head": case("open", about=About.head),
        "governor": case("open", about=About.governor, about_user=cast.governors[1]),
        "linked": linked,
        "stage2_on_panel": case("panel"),
        "stage2_off_panel": case("panel", panel=[cast.governors[1], cast.governors[2], spare]),
        "delegated": delegated,
    }
    assert named_by_parent.about_user_id is None  # excluded by the parent's words alone
    return users, cases


def _fill(path: str, case: Complaint | None, ids: dict[str, int]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "reference":
            return case.reference if case is not None else "C-0000-000"
        return str(ids.get(name, 1))

    return re.sub(r"\{(\w+)\}", value, path)


@pytest.mark.long
def test_every_staff_route_every_role_every_case(app, client, db_session, world):
    users, cases = world
    routes = staff_routes(app)
    assert any("{reference}" in path for _m, path, _r in routes)
    for _method, path, route in routes:
        assert current_user in {d.call for d in _walk(route)}, f"{path} has no sign-in check"

    letter_ids = {
        case.id: db_session.scalars(
            select(ComplaintMessage.id).where(
                ComplaintMessage.complaint_id == case.id,
                ComplaintMessage.kind == MessageKind.stage1_letter,
            )
        ).first()
        for case in cases.values()
    }
    attachment_ids = {
        case.id: services.attachments_for(db_session, case)[0].id for case in cases.values()
    }
    outbox_id = db_session.scalars(select(OutboxMessage.id)).first()
    wrong: list[str] = []

    for user_key in USERS:
        user = users[user_key]
        client.cookies.clear()
        sign_in(client, user)
        token = csrf_of(client.get("/staff/login"))
        token = (
            csrf_of(client.get("/staff")) if "csrf_token" in client.get("/staff").text else token
        )
        for method, path, route in routes:
            roles = required_roles(route)
            role_ok = roles is None or user.has_role(*roles)
            targets = list(cases.items()) if "{reference}" in path else [(None, None)]
            for case_key, case in targets:
                ids = {
                    "attachment_id": attachment_ids[case.id] if case else 1,
                    "message_id": (letter_ids.get(case.id) or 1) if case else (outbox_id or 1),
                    "user_id": users["office"].id,
                }
                url = _fill(path, case, ids)
                # The case's version before the request, for a request refused because the
                # person may not see the case (the only one whose version is compared below).
                version = None
                if case is not None and role_ok and user_key not in SEES[case_key]:
                    db_session.expire_all()
                    version = db_session.get(Complaint, case.id).version
                if method == "GET":
                    response = client.get(url, follow_redirects=False)
                else:
                    if case is None and role_ok:
                        continue  # admin forms that change accounts: tested in their own files
                    response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
                code = response.status_code
                label = f"{user_key} {method} {url} ({case_key})"
                if code >= 500:
                    wrong.append(f"{label}: {code}")
                    continue
                if not role_ok:
                    if code != 403:
                        wrong.append(f"{label}: {code}, expected 403 for the role")
                    continue
                if case is not None:
                    sees = user_key in SEES[case_key]
                    if not sees and code != 404:
                        wrong.append(f"{label}: {code}, expected 404 (may not see the case)")
                    if sees and code == 404 and not path.endswith((".pdf", "{attachment_id}")):
                        wrong.append(f"{label}: 404, but may see the case")
                    if not sees:
                        db_session.expire_all()
                        if db_session.get(Complaint, case.id).version != version:
                            wrong.append(f"{label}: a refused request changed the case")
    assert wrong == [], "\n".join(wrong)


def _walk(route: APIRoute):
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        yield dependant
        stack.extend(dependant.dependencies)


def test_the_oracle_covers_every_case_shape(world):
    _users, cases = world
    assert set(cases) == set(SEES)


def test_a_signed_out_visitor_is_sent_to_sign_in_from_every_staff_page(app, client):
    for method, path, _route in staff_routes(app):
        if method != "GET":
            continue
        url = _fill(path, None, {})
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/staff/login"), url


def test_answers_factory_is_the_parents_words(db_session, settings):
    # The matrix's "named by the parent" case relies on the parent's words alone.
    assert answers(about_name="Mrs Okafor").about_name == "Mrs Okafor"
