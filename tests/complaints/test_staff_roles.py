"""Every role against every staff complaint route, on cases about the school, about the person
themself, about the head, about a governor, and stage 2 cases with the person on or off the panel.

Expected answers: 403 for a role that may not open complaints at all (admin); 404 for a case the
person may not see (so nobody learns it exists); 403 for an action they may not take on a case
they can see; otherwise the action is let through (303 for a valid note or message, 422 for the
deliberately empty forms, which proves the permission check passed without changing the case).
"""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.complaints import services
from portal.complaints.models import About, Attachment, ComplaintMessage, MessageKind
from tests.complaints.test_staff_pages import queue_references
from tests.conftest import csrf_of
from tests.factories import add_file, make_case, make_cast, make_user, sign_in
from tests.routes import api_routes

ACTIONS = (
    "triage",
    "release",
    "clear-exclusion",
    "redirect",
    "link",
    "unlink",
    "close-same-matter",
    "letter",
    "respond",
    "delegate",
    "take-back",
    "update",
    "message",
    "note",
    "panel",
    "outcome",
    "persistent",
    "papers",
    "send-bundle",
)
# Off the panel differs from on it only for a governor: a few actions suffice there, keeping the
# matrix quick.
OFF_PANEL_ACTIONS = ("note", "message", "panel", "letter", "outcome")
VALID_FORMS = {
    "note": {"note": "Checked by the role matrix."},
    "message": {"message_body": "A message from the role matrix."},
}
# The senior leader goes before the head, whose bare "take back" really takes the case back.
USERS = ("office", "senior_leader", "head", "other_head", "chair", "clerk", "governor", "admin")
HEADS = {"head", "other_head"}
TRIAGERS = {"office", "chair", "clerk"}

# Who sees each shared case: office not the head's or governors' cases, the head never the case
# about the head, the chair and clerk everything, a governor only a panel they sit on, a senior
# leader only the case given to them.
SEES = {
    "school": {"office", *HEADS, "chair", "clerk"},
    "head": {"chair", "clerk"},
    "governor": {*HEADS, "chair", "clerk"},
    "stage2_on_panel": {"office", *HEADS, "chair", "clerk", "governor"},
    "stage2_off_panel": {"office", *HEADS, "chair", "clerk"},
    "delegated": {"office", *HEADS, "chair", "clerk", "senior_leader"},
}
# Requests that really change the case with no form at all: the head takes the case back.
SUCCEEDS = {("delegated", "take-back")}

# Who may use each action on a case they can see. Stage 1: only the handler answers (the head
# for the school, the chair for the head, the clerk for a governor); stage 2: the clerk or chair.
STAGE2 = {
    "triage": TRIAGERS,
    "release": TRIAGERS,
    "clear-exclusion": TRIAGERS,
    "redirect": TRIAGERS,
    "link": TRIAGERS,
    "unlink": TRIAGERS,
    "close-same-matter": {*TRIAGERS, *HEADS},
    "letter": {"chair", "clerk"},
    "respond": {"chair", "clerk"},
    "delegate": set(),
    "take-back": set(),
    "update": {"chair", "clerk"},
    "message": TRIAGERS,
    "panel": {"chair", "clerk"},
    "outcome": {"chair", "clerk"},
    "persistent": {*HEADS, "chair"},
    "papers": {"chair", "clerk"},
    "send-bundle": {"chair", "clerk"},
}
MAY = {
    "school": {
        "triage": TRIAGERS,
        "release": TRIAGERS,
        "clear-exclusion": TRIAGERS,
        "redirect": TRIAGERS,
        "link": {*TRIAGERS, "head"},
        "unlink": {*TRIAGERS, "head"},
        "close-same-matter": {*TRIAGERS, *HEADS},
        "letter": {"head"},
        "respond": {"head"},
        "delegate": {"head"},
        "take-back": {"head"},
        "update": {"head"},
        "message": {*TRIAGERS, "head"},
        "panel": {"head"},
        "outcome": {"head"},
        "persistent": {*HEADS, "chair"},
        "papers": {"head"},
        "send-bundle": {"head"},
    },
    "head": {
        "triage": {"chair", "clerk"},
        "release": {"chair", "clerk"},
        "clear-exclusion": {"chair", "clerk"},
        "redirect": {"chair", "clerk"},
        "link": {"chair", "clerk"},
        "unlink": {"chair", "clerk"},
        "close-same-matter": {"chair", "clerk"},
        "letter": {"chair"},
        "respond": {"chair"},
        "delegate": {"chair"},
        "take-back": {"chair"},
        "update": {"chair"},
        "message": {"chair", "clerk"},
        "panel": {"chair"},
        "outcome": {"chair"},
        "persistent": {"chair"},
        "papers": {"chair"},
        "send-bundle": {"chair"},
    },
    "governor": {
        "triage": {"chair", "clerk"},
        "release": {"chair", "clerk"},
        "clear-exclusion": {"chair", "clerk"},
        "redirect": {"chair", "clerk"},
        "link": {"chair", "clerk"},
        "unlink": {"chair", "clerk"},
        "close-same-matter": {"chair", "clerk", *HEADS},
        "letter": {"clerk"},
        "respond": {"clerk"},
        "delegate": {"clerk"},
        "take-back": {"clerk"},
        "update": {"clerk"},
        "message": {"chair", "clerk"},
        "panel": {"clerk"},
        "outcome": {"clerk"},
        "persistent": {*HEADS, "chair"},
        "papers": {"clerk"},
        "send-bundle": {"clerk"},
    },
    "stage2_on_panel": STAGE2,
    "stage2_off_panel": STAGE2,
    # Given by the head to a senior leader, who may do what the handler does at stage 1, but
    # not give it away again; marking persistent stays with the head and chair.
    "delegated": {
        "triage": TRIAGERS,
        "release": TRIAGERS,
        "clear-exclusion": TRIAGERS,
        "redirect": TRIAGERS,
        "link": {*TRIAGERS, "head", "senior_leader"},
        "unlink": {*TRIAGERS, "head", "senior_leader"},
        "close-same-matter": {*TRIAGERS, *HEADS},
        "letter": {"head", "senior_leader"},
        "respond": {"head", "senior_leader"},
        "delegate": {"head"},
        "take-back": {"head"},
        "update": {"head", "senior_leader"},
        "message": {*TRIAGERS, "head", "senior_leader"},
        "panel": {"head", "senior_leader"},
        "outcome": {"head", "senior_leader"},
        "persistent": {*HEADS, "chair"},
        "papers": {"head", "senior_leader"},
        "send-bundle": {"head", "senior_leader"},
    },
}


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.attachments_dir = tmp_path / "attachments"


@pytest.fixture
def world(db_session, settings):
    """The people and the cases, built once for the whole matrix."""
    cast = make_cast(db_session)
    spare_governor = make_user(db_session, Role.governor, name="Spare Governor")
    users = {
        "office": cast.office,
        "head": cast.head,
        "other_head": make_user(db_session, Role.head, name="Deputy Head"),
        "chair": cast.chair,
        "clerk": cast.clerk,
        "governor": cast.governors[0],
        "admin": make_user(db_session, Role.admin, name="Priya Shah"),
        "senior_leader": make_user(db_session, Role.senior_leader, name="Daniel Mensah"),
    }
    users = {key: users[key] for key in USERS}  # the order the matrix signs in

    def case(state, **kwargs):
        return make_case(
            db_session,
            settings,
            cast,
            state,
            attachment_ids=[add_file(db_session, settings)],
            **kwargs,
        )

    cases = {
        "school": case("open"),
        "head": case("open", about=About.head, about_user=cast.head),
        "governor": case("open", about=About.governor, about_user=cast.governors[1]),
        "stage2_on_panel": case("panel"),
        "stage2_off_panel": case(
            "panel", panel=[cast.governors[1], cast.governors[2], spare_governor]
        ),
        "delegated": case("open"),
    }
    services.delegate(
        db_session, settings, cases["delegated"], cast.head, users["senior_leader"].id, ""
    )
    db_session.commit()
    about_themselves = {
        key: case(
            "open",
            about=About.staff,
            about_user=user,
            handler=users["other_head"] if key == "head" else cast.head,
        )
        for key, user in users.items()
    }
    return users, cases, about_themselves


def _expected(user_key: str, case_key: str | None, action: str | None) -> set[int]:
    """The status codes allowed for this person, case (None: about themselves) and action."""
    if user_key == "admin":
        return {403}
    if case_key is None or user_key not in SEES[case_key]:
        return {404}
    if action is None:
        return {200}
    if action == "note" or user_key in MAY[case_key][action]:
        return {303} if action in VALID_FORMS or (case_key, action) in SUCCEEDS else {422}
    return {403}


@pytest.mark.long
def test_every_role_against_every_complaint_route(client, db_session, world):
    users, cases, about_themselves = world
    assert {Role.office, Role.head, Role.chair, Role.clerk, Role.governor, Role.admin} <= {
        role for user in users.values() for role in user.roles
    }
    letters = importlib.util.find_spec("portal.complaints.letters") is not None
    attachment_of = {
        case.id: db_session.scalars(
            select(Attachment.id).where(Attachment.complaint_id == case.id)
        ).one()
        for case in [*cases.values(), *about_themselves.values()]
    }
    # One case with a letter is enough to prove the PDF route follows the same visibility.
    with_letter = cases["stage2_on_panel"]
    letter_of = {
        with_letter.id: db_session.scalars(
            select(ComplaintMessage.id).where(
                ComplaintMessage.complaint_id == with_letter.id,
                ComplaintMessage.kind == MessageKind.stage1_letter,
            )
        ).one()
    }
    wrong: list[str] = []

    def check(user_key, case_key, action, response):
        allowed = _expected(user_key, case_key, action)
        if response.status_code not in allowed:
            label = case_key or "about themselves"
            wrong.append(
                f"{user_key} {action or 'GET'} on {label}: "
                f"{response.status_code}, expected {sorted(allowed)}"
            )

    for user_key, user in users.items():
        client.cookies.clear()
        sign_in(client, user)
        token = csrf_of(client.get("/staff"))
        queue = client.get("/staff/complaints", params={"closed": "1"}, follow_redirects=False)
        if user_key == "admin":
            assert queue.status_code == 403
        else:
            assert queue.status_code == 200, user_key
            listed = set(queue_references(queue))
            for case_key, case in cases.items():
                if (case.reference in listed) != (user_key in SEES[case_key]):
                    wrong.append(f"{user_key} queue listing of {case_key} is wrong")
            if about_themselves[user_key].reference in listed:
                wrong.append(f"{user_key} sees the case about themselves in the queue")

        targets = [*cases.items(), (None, about_themselves[user_key])]
        for case_key, case in targets:
            base = f"/staff/complaints/{case.reference}"
            check(user_key, case_key, None, client.get(base, follow_redirects=False))
            check(
                user_key,
                case_key,
                None,
                client.get(f"{base}/attachments/{attachment_of[case.id]}", follow_redirects=False),
            )
            if letters and letter_of.get(case.id):
                check(
                    user_key,
                    case_key,
                    None,
                    client.get(f"{base}/letters/{letter_of[case.id]}.pdf", follow_redirects=False),
                )
            for action in ACTIONS if case_key != "stage2_off_panel" else OFF_PANEL_ACTIONS:
                response = client.post(
                    f"{base}/{action}",
                    data={**VALID_FORMS.get(action, {}), "csrf_token": token},
                    follow_redirects=False,
                )
                check(user_key, case_key, action, response)

    assert not wrong, "\n".join(wrong)


def test_only_the_handler_can_write_and_send_the_response(client, db_session, settings):
    cast = make_cast(db_session)
    deputy = make_user(db_session, Role.head, name="Deputy Head")
    case = make_case(db_session, settings, cast, "open")
    form = {
        "outcome": "upheld",
        "investigated": "We looked at the records for that week.",
        "decision": "You were right and we are sorry.",
        "intent": "save",
    }
    for person, expected in ((deputy, 403), (cast.chair, 403), (cast.head, 303)):
        client.cookies.clear()
        sign_in(client, person)
        token = csrf_of(client.get("/staff"))
        saved = client.post(
            f"/staff/complaints/{case.reference}/letter",
            data={**form, "csrf_token": token},
            follow_redirects=False,
        )
        assert saved.status_code == expected, person.name
        sent = client.post(
            f"/staff/complaints/{case.reference}/respond",
            data={"draft_version": "1", "csrf_token": token},
            follow_redirects=False,
        )
        assert sent.status_code == expected, person.name


def test_the_matrix_tries_every_action_route_the_router_has(app):
    """A new action on the case page is refused here until the matrix says who may use it."""
    prefix = "/staff/complaints/{reference}/"
    routed = {
        route.path.removeprefix(prefix)
        for route in api_routes(app)
        if route.path.startswith(prefix) and "POST" in route.methods
    }
    assert routed == set(ACTIONS)
    for table in MAY.values():
        assert set(table) == set(ACTIONS) - {"note"}
