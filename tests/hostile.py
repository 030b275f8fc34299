"""Hostile requests for every route, and the checks that nothing was half-written.

Shared by the property test (`tests/test_hostile_input.py`, hypothesis picks the values) and the
fuzz benchmark (`python -m tests.bench.fuzz`, a seeded `random.Random` picks them). Both go through
`Draw`, so the same plans run either way.

- `portal_routes(app)` lists every GET and POST route from the router itself (so a new route is
  fuzzed without anyone adding it here) with its path, query, form and file fields.
- `build_world(...)` makes a school: staff in every role, cases in every state, files with names
  in other scripts, private links. `World.clients` are signed in as nobody, an admin, office and
  the chair, each with its own CSRF token read from a page.
- `plan_request(...)` fills a route with hostile values: numbers beyond 64 bits, negative numbers,
  other scripts, NUL, direction overrides, 10,000-character strings, lists of emails, CR/LF, and
  now and then a real value so the request gets past the first check.
- `problems(...)` lists anything half-written: complaints without their "received" event, messages
  without their history event, status counters that disagree with the table, acknowledgements
  missing from the outbox, files on disk without a row or rows without a file.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from portal import mail
from portal.accounts.models import Role, StaffUser
from portal.complaints import form_views, services
from portal.complaints.models import (
    About,
    Attachment,
    Complaint,
    ComplaintMessage,
    Outcome,
    StatusCount,
)
from portal.config import Settings
from portal.history import HistoryEvent
from portal.school.demo import create_demo_school
from portal.school.services import DEFAULT_OUT_OF_SCOPE
from tests.factories import PASSWORD, PDF_BYTES, make_case, make_cast, make_user, sign_in

T = TypeVar("T")

HUGE_NUMBERS = [
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 40,
    "-" + "9" * 30,
    "-1",
    "0",
    "-0",
    "1e9",
    "1_000",
    " 7",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: isdigit() is true
    "\u00b2",  # SUPERSCRIPT TWO: isdigit() is true, int() refuses it
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\u0662\u0660\u0662\u0666",  # 2026 in Arabic-Indic digits
    "0000",
    "9999",
]
HOSTILE_TEXT = [
    *HUGE_NUMBERS,
    "",
    " ",
    "\x00",
    "a\x00b",
    "%00",
    "\u202eevil.pdf\u202c",
    "\u2067\u05e9\u05dc\u05d5\u05dd\u2069 hello",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0645\u0631\u062d\u0628\u0627 \u202e123\u202c",
    "\u0416\u0430\u043b\u043e\u0431\u0430 \u5831\u544a",
    "\U0001f642" * 300,
    "a@x.com, b@y.com",
    "a@x.com; b@y.com",
    "a@x.com\r\nBcc: c@z.com",
    "a@x.com\nb@y.com",
    "Alex <a@x.com>",
    "line one\rline two\r\nline three\n",
    "\x1b[31mred\x1b[0m\x07\x08\x7f\x85",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE complaint; --",
    "{{ 7 * 7 }}",
    "../../../etc/passwd",
    "C-AAAA-AAA",
    "2026-11-25_" + str(2**70),
    "9999-99-99_1",
]
CONTROL_ALPHABET = (
    [chr(c) for c in range(0x20)]
    + ["\x7f", "\x85", "\u200e", "\u200f", "\u061c", "\u2028", "\ufeff", "\ufffd"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + list("aZ09 @.,;-_/\\'\"<>&%+\u00e9\u05d0\u0627\u4e2d\U0001f600")
)
HOSTILE_FILENAMES = [
    "\u043e\u0442\u0447\u0451\u0442.pdf",
    "\u5831\u544a\u66f8.pdf",
    "\u0645\u0644\u0641.png",
    "evil\u202efdp.exe",
    "a\r\nb.pdf",
    "x" * 5000 + ".pdf",
    "../../etc/passwd.pdf",
    'quote"semi;colon.pdf',
    "\U0001f642.pdf",
    "",
    "plain.pdf",
]
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
FILE_CONTENTS = [PDF_BYTES, PNG_BYTES, b"", b"MZ\x90\x00 not a picture", b"%PDF-" + b"\x00" * 64]

# Query parameters tried on every GET, on top of those the route declares.
EXTRA_QUERY = ("after", "page", "before", "from", "done", "template", "next", "q", "handler")
# Routes that read `request.form()` themselves: their field names are not in the signature.
FORM_VIEW_FIELDS = (
    *form_views.FIELD_STEPS,
    *(f"happened_on-{part}" for part in form_views.DATE_PARTS),
    "from",
    "action",
    form_views.HONEYPOT_FIELD,
)
FILE_FIELDS = ("attachment", "file")

ROLES = ("nobody", "admin", "office", "head", "chair")


class Draw(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def chance(self, probability: float) -> bool: ...

    def free_text(self) -> str: ...


class RandomDraw:
    """Values from a seeded `random.Random` (the fuzz benchmark)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return self.random.choice(options)

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def free_text(self) -> str:
        size = self.random.choice((1, 3, 8, 40, 300))
        return "".join(self.random.choice(CONTROL_ALPHABET) for _ in range(size))


# ---------------------------------------------------------------- the routes


@dataclass(frozen=True)
class RouteShape:
    method: str
    path: str
    url_format: str
    path_params: tuple[str, ...]
    query: tuple[str, ...]
    form: tuple[str, ...]
    files: tuple[str, ...]
    list_fields: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _all_params(dependant: Any, kind: str) -> list[Any]:
    """`dependant`'s own parameters of one kind, and those of everything it depends on."""
    found = list(getattr(dependant, kind))
    for child in dependant.dependencies:
        found += _all_params(child, kind)
    return found


def portal_routes(app: FastAPI) -> list[RouteShape]:
    """Every GET and POST route the app answers, read from its router."""
    shapes: list[RouteShape] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        body = _all_params(context.dependant, "body_params")
        query_params = _all_params(context.dependant, "query_params")
        form = [p.name for p in body if not isinstance(p.field_info, params.File)]
        files = [p.name for p in body if isinstance(p.field_info, params.File)]
        lists = [p.name for p in body if "list" in str(p.field_info.annotation).lower()]
        reads_form = route.endpoint.__module__ == form_views.__name__
        for method in sorted(context.methods or ()):
            if method not in ("GET", "POST"):
                continue
            shapes.append(
                RouteShape(
                    method=method,
                    path=context.path,
                    url_format=context.path_format,
                    path_params=tuple(context.param_convertors),
                    query=tuple(dict.fromkeys([p.name for p in query_params] + list(EXTRA_QUERY))),
                    form=tuple(
                        dict.fromkeys(form + (list(FORM_VIEW_FIELDS) if reads_form else []))
                    ),
                    files=tuple(files or (FILE_FIELDS if reads_form else ())),
                    list_fields=tuple(lists),
                )
            )
    # One route per page of the complaint form as well: each page reads different fields.
    for shape in [shape for shape in shapes if "step" in shape.path_params]:
        for step in form_views.STEPS:
            shapes.append(
                RouteShape(
                    method=shape.method,
                    path=shape.path.replace("{step}", step),
                    url_format=shape.url_format.replace("{step}", step),
                    path_params=tuple(name for name in shape.path_params if name != "step"),
                    query=shape.query,
                    form=shape.form,
                    files=shape.files,
                    list_fields=shape.list_fields,
                )
            )
    # Starlette's static files are a route too.
    shapes.append(RouteShape("GET", "/static/{name}", "/static/{name}", ("name",), (), (), (), ()))
    return shapes


# ---------------------------------------------------------------- the school


class World:
    """The school the fuzz runs against (a plain class: hypothesis prints dataclasses in full)."""

    def __init__(
        self,
        *,
        app: FastAPI,
        settings: Settings,
        users: dict[str, StaffUser],
        clients: dict[str, TestClient],
        csrf: dict[str, str],
        references: list[str],
        tokens: list[str],
        ids: dict[str, list[str]],
    ) -> None:
        self.app = app
        self.settings = settings
        self.users = users
        self.clients = clients
        self.csrf = csrf
        self.references = references
        self.tokens = tokens
        self.ids = ids
        self.requests = 0

    def __repr__(self) -> str:
        return f"<World: {len(self.references)} cases, {self.requests} requests so far>"

    def pool(self, name: str) -> list[str]:
        """Real values for a path parameter or field, so some requests get past the first check."""
        if name == "reference" or name == "lead_reference":
            return self.references
        if name == "token":
            return [*self.tokens, "case"]
        if name == "step":
            return list(form_views.STEPS)
        if name in ("user_id", "handler_id", "about_user_id", "handler") or name.startswith(
            "member_"
        ):
            return self.ids["staff"]
        if name in self.ids:
            return self.ids[name]
        return FIELD_VALUES.get(name, [])

    def sign_in_again(self, role: str) -> None:
        """After POST /staff/logout: a new session and a new CSRF token for that client."""
        self.app.state.limiter.storage.reset()
        client = self.clients[role]
        if role != "nobody":
            sign_in(client, self.users[role])
        self.csrf[role] = _csrf_from(client)

    def fill_in_the_form(self, role: str) -> None:
        """Give this browser a complete complaint draft, so every page of the form (not just the
        first) takes the fuzzer's answers, and submit has something to send."""
        client = self.clients[role]
        for step, answer in COMPLETE_FORM:
            client.post(
                f"/complaints/new/{step}",
                data={**answer, "csrf_token": self.csrf[role]},
                follow_redirects=False,
            )

    def open_a_case(self, role: str) -> None:
        """Sign this browser in to a case with its reference and email (the /track/case pages)."""
        self.app.state.limiter.storage.reset()
        self.clients[role].post(
            "/track",
            data={
                "reference": self.references[2],
                "email": CASE_EMAIL,
                "csrf_token": self.csrf[role],
            },
            follow_redirects=False,
        )


CASE_EMAIL = "alex.parent@example.com"  # the factories' parent
COMPLETE_FORM = (
    ("kind", {"kind": "complaint"}),
    ("about", {"about": "school"}),
    ("category", {"category": "Behaviour and bullying"}),
    ("what-happened", {"what_happened": "My son was pushed over in the playground."}),
    ("done-so-far", {"done_so_far": "I spoke to his teacher."}),
    ("put-right", {"put_right": "Tell me what happened."}),
    ("contact", {"parent_name": "Alex Parent", "parent_email": "alex.parent@example.com"}),
)

FIELD_VALUES: dict[str, list[str]] = {
    "kind": ["concern", "complaint"],
    "about": [about.value for about in About],
    "category": ["Behaviour and bullying", "Teaching and learning"],
    "stage": ["concern", "stage1"],
    "anonymous": ["yes", "no"],
    "action": ["add", "continue"],
    "from": ["check"],
    "outcome": [outcome.value for outcome in Outcome],
    "procedure": [entry["key"] for entry in DEFAULT_OUT_OF_SCOPE],
    "late_decision": ["investigate", "decline"],
    "anonymous_decision": ["investigate", "decline"],
    "active": ["yes", "no"],
    "roles": [role.value for role in Role],
    "status": ["new", "open", "queued", "failed"],
    "parent_email": ["alex.parent@example.com"],
    "email": ["alex.parent@example.com", "staff1@school.example"],
    "happened_on-day": ["3"],
    "happened_on-month": ["11"],
    "happened_on-year": ["2026"],
    "new_date_day": ["14"],
    "new_date_month": ["1"],
    "new_date_year": ["2027"],
    "hearing_on_day": ["12"],
    "hearing_on_month": ["1"],
    "hearing_on_year": ["2027"],
    "start_day": ["7"],
    "start_month": ["9"],
    "start_year": ["2028"],
    "end_day": ["20"],
    "end_month": ["10"],
    "end_year": ["2028"],
    "day_day": ["27"],
    "day_month": ["11"],
    "day_year": ["2026"],
    "reason": ["INSET"],
}


def _csrf_from(client: TestClient) -> str:
    from tests.conftest import csrf_of

    return csrf_of(client.get("/track"))


def build_world(app: FastAPI, session: Session, settings: Settings) -> World:
    """The demo school, staff in every role, cases in every state (some with files), private
    links, and clients."""
    create_demo_school(session, settings.term_dates_file)
    session.commit()
    cast = make_cast(session)
    admin = make_user(session, Role.admin, name="Ann Admin")
    spare = [make_user(session, Role.office, name=f"Spare Person {n}") for n in range(2)]
    cases: list[Complaint] = []
    specs: list[tuple[str, dict[str, Any]]] = [
        ("new", {}),
        ("new", {"anonymous": True, "parent_name": "", "parent_email": "", "parent_phone": ""}),
        ("open", {}),
        ("open", {"about": About.head}),
        ("open", {"about": About.staff, "about_name": "Mr Jones"}),
        ("responded", {}),
        ("stage2", {}),
        ("panel", {}),
        ("closed", {}),
        ("new", {"formal": False, "what_happened": "\u05e9\u05dc\u05d5\u05dd " * 5}),
    ]
    for state, overrides in specs:
        stored = _draft_file(session, settings, secrets.choice(HOSTILE_FILENAMES[:3]))
        cases.append(
            make_case(session, settings, cast, state, attachment_ids=[stored], **overrides)
        )
    tokens = []
    for case in cases[:4]:
        token = secrets.token_urlsafe(24)
        case.access_token_hash = services.token_digest(token)
        session.add(case)
        tokens.append(token)
    session.commit()
    services.parent_reply(
        session,
        settings,
        cases[2],
        "A reply with a file.",
        [_draft_file(session, settings, HOSTILE_FILENAMES[1])],
    )
    session.commit()

    users = {"admin": admin, "office": cast.office, "head": cast.head, "chair": cast.chair}
    clients = {role: TestClient(app, raise_server_exceptions=False) for role in ROLES}
    for role, client in clients.items():
        client.__enter__()
        if role != "nobody":
            sign_in(client, users[role])
    csrf = {role: _csrf_from(client) for role, client in clients.items()}
    ids = {
        "staff": [str(user.id) for user in (*spare, *cast.governors)],
        "attachment_id": [str(i) for i in session.scalars(select(Attachment.id))],
        "message_id": [str(i) for i in session.scalars(select(ComplaintMessage.id))],
        "version": ["1"],
        "name": ["build/portal.css", "js/init.js"],
    }
    world = World(
        app=app,
        settings=settings,
        users=users,
        clients=clients,
        csrf=csrf,
        references=[case.reference for case in cases],
        tokens=tokens,
        ids=ids,
    )
    for role in ROLES:
        world.fill_in_the_form(role)
        world.open_a_case(role)
    return world


def _draft_file(session: Session, settings: Settings, filename: str) -> int:
    from portal.complaints import attachments

    stored = attachments.store(
        session, settings, filename=filename, content=PDF_BYTES, draft_id="world-draft"
    )
    session.commit()
    assert stored.id is not None
    return stored.id


def close_world(world: World) -> None:
    for client in world.clients.values():
        client.__exit__(None, None, None)


# ---------------------------------------------------------------- one hostile request


@dataclass
class Plan:
    role: str
    method: str
    url: str
    data: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] | None


def hostile_value(draw: Draw, name: str, world: World) -> str:
    real = world.pool(name)
    if real and draw.chance(0.35):
        return draw.choice(real)
    if real and all(value.isdigit() for value in real) and draw.chance(0.5):
        return draw.choice(HUGE_NUMBERS)  # a number field: mostly numbers that do not fit
    roll = draw.choice(("list", "list", "free", "mixed"))
    if roll == "list":
        return draw.choice(HOSTILE_TEXT)
    if roll == "free":
        return draw.free_text()
    base = draw.choice(real) if real else "ok"
    return base + draw.choice(HOSTILE_TEXT[:40]) + draw.free_text()


def plan_request(draw: Draw, shape: RouteShape, world: World, role: str) -> Plan:
    url = shape.url_format
    for name in shape.path_params:
        value = hostile_value(draw, name, world)
        url = url.replace("{" + name + "}", quote(value, safe="") or "x")
    query = [(name, hostile_value(draw, name, world)) for name in shape.query if draw.chance(0.4)]
    if query:
        url += "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query)
    data: dict[str, Any] = {}
    files = None
    if shape.method == "POST":
        for name in shape.form:
            if not draw.chance(0.8):
                continue
            if name in shape.list_fields:
                data[name] = [hostile_value(draw, name, world) for _ in range(draw.choice((1, 2)))]
            else:
                data[name] = hostile_value(draw, name, world)
        # A valid CSRF token almost always, or every request would stop at the CSRF check.
        # (ASCII only: a non-ASCII token is another engineer's fix, see docs/security.md.)
        data["csrf_token"] = (
            world.csrf[role] if draw.chance(0.9) else draw.choice(["", "abc", "0" * 64])
        )
        if shape.files and draw.chance(0.5):
            files = {
                draw.choice(shape.files): (
                    draw.choice(HOSTILE_FILENAMES),
                    draw.choice(FILE_CONTENTS),
                    draw.choice(["application/pdf", "image/png", "text/plain"]),
                )
            }
    return Plan(role, shape.method, url, data, files)


def send(world: World, plan: Plan):  # type: ignore[no-untyped-def]
    client = world.clients[plan.role]
    world.requests += 1
    if plan.method == "GET":
        response = client.get(plan.url, follow_redirects=False)
    else:
        response = client.post(plan.url, data=plan.data, files=plan.files, follow_redirects=False)
    if plan.method == "POST" and plan.url.startswith("/staff/logout"):
        world.sign_in_again(plan.role)
    if plan.method == "POST" and plan.url.startswith("/complaints/new/submit"):
        world.fill_in_the_form(plan.role)
    if plan.method == "POST" and plan.url.startswith("/track/case/leave"):
        world.open_a_case(plan.role)
    return response


def response_problem(plan: Plan, response) -> str | None:  # type: ignore[no-untyped-def]
    if response.status_code >= 500:
        return f"{response.status_code} for {plan.role}: {plan.method} {plan.url[:300]!r}"
    if response.status_code == 422 and "text/html" not in response.headers.get("content-type", ""):
        return f"422 without a page for {plan.role}: {plan.method} {plan.url[:300]!r}"
    return None


# ---------------------------------------------------------------- half-written rows


def problems(world: World) -> list[str]:
    """Everything that shows a change was half-written."""
    found: list[str] = []
    with world.app.state.sessions() as session:
        complaints = list(
            session.execute(
                select(
                    Complaint.id,
                    Complaint.status,
                    Complaint.about,
                    Complaint.parent_email,
                    Complaint.anonymous,
                )
            )
        )
        received = Counter(
            session.scalars(
                select(HistoryEvent.subject_id).where(HistoryEvent.tag == "complaint:receive")
            )
        )
        for row in complaints:
            if received[str(row.id)] != 1:
                found.append(f"complaint {row.id} has {received[str(row.id)]} 'received' events")
        logged = {
            json.loads(detail or "{}").get("message_id")
            for detail in session.scalars(
                select(HistoryEvent.detail).where(HistoryEvent.tag.like("complaint:message:%"))
            )
        }
        for message_id in session.scalars(select(ComplaintMessage.id)):
            if message_id not in logged:
                found.append(f"message {message_id} has no history event")
        actual = Counter(f"{row.status}:{row.about}" for row in complaints)
        counted = {row.status: row.count for row in session.scalars(select(StatusCount))}
        for key in set(actual) | set(counted):
            if actual.get(key, 0) != counted.get(key, 0):
                found.append(
                    f"status count {key}: counter {counted.get(key, 0)}, rows {actual[key]}"
                )
        mailed = set(
            session.scalars(
                select(mail.OutboxMessage.related_id).where(
                    mail.OutboxMessage.related_type == "complaint"
                )
            )
        )
        for row in complaints:
            if row.parent_email and not row.anonymous and str(row.id) not in mailed:
                found.append(f"complaint {row.id} has an email address but no email")
        keys = set(session.scalars(select(Attachment.storage_key)))
        total = session.scalar(select(func.count()).select_from(Attachment))
    folder = Path(world.settings.attachments_dir)
    on_disk = {path.name for path in folder.iterdir()} if folder.exists() else set()
    found += [f"file without a row: {name}" for name in sorted(on_disk - keys)]
    found += [f"row without a file: {key}" for key in sorted(keys - on_disk)]
    if total != len(keys):
        found.append("two attachment rows share a stored file")
    return found


def signed_in_roles(world: World) -> list[str]:
    """The staff clients that still have a session (a coverage check for the fuzz run)."""
    return [
        role
        for role, client in world.clients.items()
        if role != "nobody" and client.get("/staff", follow_redirects=False).status_code == 200
    ]


__all__ = [
    "PASSWORD",
    "ROLES",
    "Draw",
    "Plan",
    "RandomDraw",
    "RouteShape",
    "World",
    "build_world",
    "close_world",
    "plan_request",
    "portal_routes",
    "problems",
    "response_problem",
    "send",
    "signed_in_roles",
]
