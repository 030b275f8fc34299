"""Server time per request, measured in-process.

Each figure is the wall time of one request sent through Starlette's TestClient straight into
`create_app(settings)`: routing, dependencies, the queries, template rendering and the commit,
with no network and no HTTP server in between (the `/healthz` row shows the client's own cost).
Requests run one at a time, after a warm-up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import date

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from portal.app import create_app
from portal.clock import SystemClock, school_today
from portal.complaints import services
from portal.complaints.models import NO_DEADLINE, About, Complaint
from portal.config import Settings
from portal.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.bench import journey
from tests.bench.consent import measure_consent
from tests.bench.news import measure_news
from tests.bench.report import Timing

OFFICE_EMAIL = next(email for _, email, roles in DEMO_STAFF if "office" in roles)
OFFICE_ABOUTS = (About.school, About.staff)
COMMON_WORD = "swimming"  # in about 1 case in 20
RARE_WORD = "trampoline"  # in about 1 case in 1,000
VERY_COMMON_WORD = "son"  # in about 1 case in 3 (a prefix search, as the service does)
NO_SUCH_WORD = "xylophone"  # in no case: a typo, or something nobody wrote about
TRACKING = "parent tracking page /track/<token>"
SUBMIT_SERVICE = "submission (services.submit + commit)"
SUBMIT_HTTP = "submission, final POST /complaints/new/submit"
WHOLE_FORM = "whole form, one parent"


class Measure:
    """Times one kind of request after a warm-up; a missing route is reported, not fatal.

    A very slow page stops after `budget` seconds (with at least 20 timed requests), so one
    pathological query cannot hold up the whole run; the note says so. With `only`, rows whose
    name contains none of its texts are not timed (and left out of the table).
    """

    def __init__(
        self, requests: int, warmup: int, budget: float = 60.0, only: Iterable[str] = ()
    ) -> None:
        self.requests = requests
        self.warmup = warmup
        self.budget = budget
        self.only = [text.lower() for text in only]

    def wanted(self, name: str) -> bool:
        return not self.only or any(text in name.lower() for text in self.only)

    def run(
        self,
        name: str,
        send: Callable[[int], httpx.Response],
        expect: Iterable[int] = (200,),
        check: Callable[[httpx.Response], str | None] | None = None,
    ) -> Timing:
        timing = Timing(name)
        wanted = set(expect)
        began = time.perf_counter()
        for i in range(self.warmup + self.requests):
            started = time.perf_counter()
            response = send(i)
            elapsed = time.perf_counter() - started
            problem = None
            if response.status_code in (404, 405) and 404 not in wanted:
                problem = f"not available ({response.status_code})"
            elif response.status_code not in wanted:
                problem = f"error: status {response.status_code}"
            elif check is not None:
                problem = check(response)
            if problem:
                timing.samples = []
                timing.note = problem
                return timing
            if i >= self.warmup:
                timing.samples.append(elapsed)
            spent = time.perf_counter() - began
            if (
                len(timing.samples) >= 20
                and spent > self.budget
                and i + 1 < self.warmup + self.requests
            ):
                timing.note = f"stopped after {spent:.0f} s"
                break
        return timing


def sign_in(client: TestClient, email: str, password: str) -> str | None:
    """Returns a problem, or None once signed in."""
    page = client.get("/staff/login")
    token = journey.csrf_from(page.text)
    if page.status_code != 200 or token is None:
        return f"sign-in page not available ({page.status_code})"
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return None if response.status_code == 303 else f"sign-in failed ({response.status_code})"


def measure_in_process(
    settings: Settings,
    requests: int,
    warmup: int,
    rng: random.Random,
    only: Iterable[str] = (),
) -> list[Timing]:
    app = create_app(settings)
    engine = app.state.engine
    total = requests + warmup
    measure = Measure(requests, warmup, only=only)
    today = school_today(SystemClock().now())
    timings: list[Timing] = []
    with Session(engine, expire_on_commit=False) as session:
        plan = _plan(session, total, rng)
    with (
        TestClient(app, raise_server_exceptions=False) as staff,
        TestClient(app, raise_server_exceptions=False) as parent,
    ):
        timings.append(measure.run("/healthz (client overhead)", lambda i: staff.get("/healthz")))
        problem = sign_in(staff, OFFICE_EMAIL, DEMO_PASSWORD)
        timings.extend(_staff_pages(staff, measure, plan, problem))
        if problem is None:
            imports = max(3, requests // 20)
            timings.extend(measure_consent(settings, app, staff, measure, rng, imports))
        if measure.wanted(TRACKING):
            timings.append(
                measure.run(
                    TRACKING,
                    lambda i: parent.get(f"/track/{plan['tokens'][i % len(plan['tokens'])]}"),
                )
            )
        timings.extend(measure_news(settings, app, parent, measure))
        if measure.wanted(SUBMIT_SERVICE):
            timings.append(_submit_service(engine, settings, measure, today))
        if measure.wanted(SUBMIT_HTTP):
            timings.append(_submit_http(engine, settings, parent, measure, today))
        if measure.wanted(WHOLE_FORM):
            timings.append(
                _whole_form(
                    parent, journey.categories_of(engine), max(10, requests // 5), warmup, today
                )
            )
    engine.dispose()
    return timings


def _plan(session: Session, total: int, rng: random.Random) -> dict[str, list[str]]:
    """Real references, cursors, emails and tracking links to ask for, chosen at random."""
    visible = Complaint.about.in_(OFFICE_ABOUTS)
    references = list(
        session.scalars(
            select(Complaint.reference).where(visible).order_by(func.random()).limit(total)
        )
    )
    active = list(
        session.execute(
            select(Complaint.queue_date, Complaint.id)
            .where(visible, Complaint.is_active.is_(True))
            .order_by(Complaint.queue_date, Complaint.id)
        )
    )
    half = len(active) // 2
    deep = [active[rng.randrange(half, len(active))] for _ in range(total)] if active else []
    cursors = [f"{queue_date.isoformat()}_{case_id}" for queue_date, case_id in deep]
    closed_ids = list(
        session.scalars(
            select(Complaint.id)
            .where(visible, Complaint.is_active.is_(False))
            .order_by(func.random())
            .limit(total)
        )
    )
    closed_cursors = [f"{NO_DEADLINE.isoformat()}_{case_id}" for case_id in closed_ids]
    emails = list(
        session.scalars(
            select(Complaint.parent_email_normalised)
            .where(visible, Complaint.anonymous.is_(False))
            .order_by(func.random())
            .limit(total)
        )
    )
    ids = list(session.scalars(select(Complaint.id).order_by(func.random()).limit(total)))
    tokens = [f"bench-{rng.getrandbits(128):032x}" for _ in ids]
    session.execute(
        update(Complaint.__table__)  # type: ignore[attr-defined]
        .where(Complaint.__table__.c.id == bindparam("case_id"))  # type: ignore[attr-defined]
        .values(access_token_hash=bindparam("digest")),
        [
            {"case_id": case_id, "digest": services.token_digest(token)}
            for case_id, token in zip(ids, tokens, strict=True)
        ],
    )
    session.commit()
    return {
        "references": references,
        "cursors": cursors,
        "closed_cursors": closed_cursors,
        "emails": emails,
        "tokens": tokens,
    }


def _staff_pages(
    staff: TestClient, measure: Measure, plan: dict[str, list[str]], problem: str | None
) -> list[Timing]:
    names = [
        "staff queue, first page",
        "staff queue, deep page (cursor in 2nd half)",
        "staff queue, all cases incl. closed, first page",
        "staff queue, all cases incl. closed, deep page",
        f"staff queue, search '{COMMON_WORD}' (open cases)",
        f"staff queue, search '{COMMON_WORD}' (all cases)",
        f"staff queue, search '{RARE_WORD}' (all cases)",
        f"staff queue, search '{VERY_COMMON_WORD}' (all cases)",
        f"staff queue, search '{NO_SUCH_WORD}', in no case (all cases)",
        "staff queue, search by email (all cases)",
        "staff case page /staff/complaints/<ref>",
        "staff home /staff (your move, waiting for others)",
        "week view /staff/complaints/week",
    ]
    if problem:
        return [Timing(name, note=problem) for name in names if measure.wanted(name)]

    def pick(key: str, i: int) -> str:
        values = plan[key]
        return values[i % len(values)] if values else ""

    def no_login(response: httpx.Response) -> str | None:
        return "redirected to sign-in" if "/staff/login" in str(response.url) else None

    sends: list[Callable[[int], httpx.Response]] = [
        lambda i: staff.get("/staff/complaints"),
        lambda i: staff.get("/staff/complaints", params={"after": pick("cursors", i)}),
        lambda i: staff.get("/staff/complaints", params={"closed": "1"}),
        lambda i: staff.get(
            "/staff/complaints", params={"closed": "1", "after": pick("closed_cursors", i)}
        ),
        lambda i: staff.get("/staff/complaints", params={"q": COMMON_WORD}),
        lambda i: staff.get("/staff/complaints", params={"q": COMMON_WORD, "closed": "1"}),
        lambda i: staff.get("/staff/complaints", params={"q": RARE_WORD, "closed": "1"}),
        lambda i: staff.get("/staff/complaints", params={"q": VERY_COMMON_WORD, "closed": "1"}),
        lambda i: staff.get("/staff/complaints", params={"q": NO_SUCH_WORD, "closed": "1"}),
        lambda i: staff.get("/staff/complaints", params={"q": pick("emails", i), "closed": "1"}),
        lambda i: staff.get(f"/staff/complaints/{pick('references', i)}"),
        lambda i: staff.get("/staff"),
        lambda i: staff.get("/staff/complaints/week"),
    ]
    return [
        measure.run(name, send, check=no_login)
        for name, send in zip(names, sends, strict=True)
        if measure.wanted(name)
    ]


def _submit_service(engine, settings: Settings, measure: Measure, today: date) -> Timing:  # type: ignore[no-untyped-def]
    """services.submit and the commit, without HTTP: the procedure's own cost."""
    timing = Timing(SUBMIT_SERVICE)
    categories = journey.categories_of(engine)
    with Session(engine, expire_on_commit=False) as session:
        for i in range(measure.warmup + measure.requests):
            new = journey.new_complaint(1_000_000 + i, categories, today)
            started = time.perf_counter()
            services.submit(session, settings, new)
            session.commit()
            if i >= measure.warmup:
                timing.samples.append(time.perf_counter() - started)
    return timing


def _submit_http(  # type: ignore[no-untyped-def]
    engine, settings: Settings, parent: TestClient, measure: Measure, today: date
) -> Timing:
    """The form's last step: POST /complaints/new/submit with a finished draft and CSRF."""
    name = SUBMIT_HTTP
    first = parent.get(journey.FIRST_PAGE)
    token = journey.csrf_from(first.text)
    csrf_cookie = parent.cookies.get("portal_csrf")
    if first.status_code != 200 or not token or not csrf_cookie:
        return Timing(name, note=f"not available ({first.status_code})")
    total = measure.warmup + measure.requests
    draft_tokens = journey.insert_drafts(
        engine, total, journey.categories_of(engine), today, 2_000_000
    )

    def send(i: int) -> httpx.Response:
        return parent.post(
            journey.SUBMIT_PATH,
            data={"csrf_token": token, "website": ""},
            headers={"Cookie": f"portal_csrf={csrf_cookie}; portal_draft={draft_tokens[i]}"},
            follow_redirects=False,
        )

    def landed(response: httpx.Response) -> str | None:
        where = response.headers.get("location", "")
        return None if where.endswith(journey.DONE_PATH) else f"went to {where or '?'}"

    return measure.run(name, send, expect=(303,), check=landed)


def _whole_form(
    parent: TestClient, categories: list[str], journeys: int, warmup: int, today: date
) -> Timing:
    """Every page as a browser does it: GET each question, POST each answer, the done page."""
    requests = 2 * len(journey.form_posts(journey.answers(0, ["x"], today))) + 1
    timing = Timing(f"{WHOLE_FORM} ({requests} requests)")
    for i in range(min(warmup, 5) + journeys):
        parent.cookies.clear()
        started = time.perf_counter()
        page = parent.get(journey.FIRST_PAGE)
        token = journey.csrf_from(page.text)
        if page.status_code != 200 or not token:
            timing.note = f"not available ({page.status_code})"
            timing.samples = []
            return timing
        given = journey.answers(3_000_000 + i, categories, today)
        for path, data in journey.form_posts(given):
            response = parent.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
            where = response.headers.get("location", "")
            if response.status_code != 303 or not where:
                timing.note = f"{path} answered {response.status_code}"
                timing.samples = []
                return timing
            page = parent.get(where)
        if not str(page.url).endswith(journey.DONE_PATH) or page.status_code != 200:
            timing.note = f"ended at {page.url} ({page.status_code})"
            timing.samples = []
            return timing
        if i >= min(warmup, 5):
            timing.samples.append(time.perf_counter() - started)
    return timing
