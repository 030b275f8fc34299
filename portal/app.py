"""create_app(): the routers, templating, middleware and friendly error pages."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.clock import Clock, SystemClock
from portal.config import PROJECT_ROOT, Settings, get_settings
from portal.db import AdmittedRequests, make_engine, make_sessions
from portal.domains import INSTALLED_DOMAINS, installed
from portal.inputs import CleanInputRoute
from portal.school.services import NOT_SET_UP, School
from portal.school.web import (
    SchoolDep,
    add_first_run_pages,
    last_known_school,
    portal_gate,
    school_for_request,
)
from portal.security import (
    CONTENT_SECURITY_POLICY,
    CsrfError,
    Forbidden,
    NotSignedIn,
    SecurityHeaders,
    TrustedProxyHeaders,
    install_private_link_filter,
    verify_csrf,
)
from portal.static_files import Compression, HashedStaticFiles, StaticAssets
from portal.templating import make_templates, render
from portal.throttle import ResilientLimiter

log = logging.getLogger("portal")


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    domains: Iterable[str] = INSTALLED_DOMAINS,
) -> FastAPI:
    """The portal. `clock` tells it the time (the real one unless a test gives its own);
    `domains` are the packages whose pages, menu entries and home panels it has."""
    settings = settings or get_settings()
    clock = clock or SystemClock()
    assembled = installed(domains)
    app = FastAPI(
        title="School parent portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(verify_csrf), Depends(portal_gate)],
    )
    app.router.route_class = CleanInputRoute
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = make_engine(settings.database_url, clock)
    app.state.sessions = make_sessions(app.state.engine)
    app.state.static_assets = StaticAssets(PROJECT_ROOT / "static")
    app.state.domains = assembled
    app.state.templates = make_templates(
        settings, app.state.static_assets, staff_navigation=assembled.staff_navigation
    )
    app.state.school_for = school_for_request  # where a request's school profile comes from
    app.state.limiter = ResilientLimiter(settings.rate_limit_storage, clock.monotonic)

    # Innermost: waits holding nothing.
    app.add_middleware(AdmittedRequests, limit=settings.requests_at_once)
    app.add_middleware(Compression)
    app.add_middleware(HeadAnsweredAsGet)
    app.add_middleware(SecurityHeaders, hsts=settings.uses_https)
    app.add_middleware(TrustedProxyHeaders, settings=settings)  # outermost: first to see a request
    install_private_link_filter()
    app.mount("/static", HashedStaticFiles(app.state.static_assets), name="static")

    for router in assembled.routers:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(deep: str = "") -> Response:
        """For load balancers and monitoring; see docs/operations.md, "Health checks"."""
        return health_report(app, deep=deep not in ("", "0"))

    @app.get("/brand.css", include_in_schema=False)
    def brand_css(school: SchoolDep) -> Response:
        colour = school.brand_colour
        css = f":root{{--govuk-brand-colour:{colour};--school-brand-colour:{colour}}}\n"
        return PlainTextResponse(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"}
        )

    @app.get("/crest.svg", include_in_schema=False)
    def crest() -> Response:
        return Response(
            (PROJECT_ROOT / "static" / "images" / "crest.svg").read_bytes(),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    _add_error_pages(app)
    add_first_run_pages(app)
    return app


MAIL_OVERDUE_AFTER = timedelta(minutes=15)


def health_report(app: FastAPI, *, deep: bool) -> Response:
    """200 while the database answers, 503 when it does not. `status` is `ok`, or `degraded`
    when the portal works but less well (rate limits counted per process because the shared
    store failed; with `deep`, also Redis not answering or emails waiting too long).

    Only states and counts: never an address, a URL, a name, an error message or a setting."""
    limiter: ResilientLimiter = app.state.limiter
    body: dict[str, object] = {"status": "ok"}
    database = "ok"
    try:
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            if deep:
                body["mail"] = _mail_backlog(connection, app.state.clock.now())
    except Exception:
        log.exception("health check: database unreachable")
        database = "unreachable"
    limits = limiter.kind
    if deep:
        body["database"] = database
        body["redis"] = (
            ("ok" if limiter.check() else "unreachable") if limiter.shared else "not used"
        )
        if body["redis"] == "unreachable":
            limits = "degraded"
    if deep or limits == "degraded":
        body["rate_limits"] = limits
    mail = body.get("mail")
    if limits == "degraded" or (isinstance(mail, dict) and mail["overdue"]):
        body["status"] = "degraded"
    if database != "ok":
        body["status"] = "database unreachable"
        return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _mail_backlog(connection: Connection, now: datetime) -> dict[str, int]:
    """Emails waiting to go, those due more than 15 minutes ago (the sender is stopped or the
    SMTP server refuses), and those given up on in the last day."""
    row = connection.execute(
        text(
            "SELECT"
            " SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'queued' AND next_attempt_at < :overdue THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'failed' AND created_at >= :day THEN 1 ELSE 0 END)"
            " FROM outbox_message WHERE status IN ('queued', 'failed')"
        ),
        {"overdue": now - MAIL_OVERDUE_AFTER, "day": now - timedelta(days=1)},
    ).one()
    return {
        "waiting": int(row[0] or 0),
        "overdue": int(row[1] or 0),
        "failed_last_day": int(row[2] or 0),
    }


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(CsrfError)
    async def csrf_refused(request: Request, _exc: CsrfError) -> Response:
        return render(request, "errors/csrf.html", status_code=403)

    @app.exception_handler(NotSignedIn)
    async def sign_in_first(request: Request, _exc: NotSignedIn) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/staff/login?next={target}", status_code=303)

    @app.exception_handler(StaleDataError)
    async def already_done(request: Request, _exc: StaleDataError) -> Response:
        """Two requests acted on one case at once: the other won, and this one changed nothing."""
        back = request.url.path.rsplit("/", 1)[0] if request.method == "POST" else None
        return render(request, "errors/already-done.html", {"back": back}, status_code=409)

    @app.exception_handler(IntegrityError)
    async def already_there(request: Request, exc: IntegrityError) -> Response:
        """A row another request has just written (a panel recorded twice at once): the
        transaction was rolled back whole, so this is the same calm answer, logged to check."""
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        back = request.url.path.rsplit("/", 1)[0] if request.method == "POST" else None
        return render(request, "errors/already-done.html", {"back": back}, status_code=409)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return render(request, "errors/403.html", status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        """A path that cannot name anything (an id out of range) is not found; anything else
        a browser could not have sent is a plain 422 page, never a 500 or a JSON dump."""
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return render(request, "errors/404.html", status_code=404)
        return render(request, "errors/bad-request.html", status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        location = (exc.headers or {}).get("Location", "")
        if exc.status_code == 303 and location.startswith("/") and not location.startswith("//"):
            # A dependency sending the visitor elsewhere (a parent not signed in: to /photos).
            return RedirectResponse(location, status_code=303)
        if exc.status_code == 404:
            return render(request, "errors/404.html", status_code=404)
        if exc.status_code == 403:
            return render(request, "errors/403.html", status_code=403)
        if exc.status_code == 405:
            return render(request, "errors/404.html", status_code=405)
        return render(
            request, "errors/generic.html", {"status": exc.status_code}, status_code=exc.status_code
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, exc: Exception) -> Response:
        return _try_again_page(request, exc)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OperationalError | InterfaceError):
            return _try_again_page(request, exc)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _page_without_database(request, "errors/500.html", {}, 500)


def _try_again_page(request: Request, exc: Exception) -> Response:
    """The database went away (restarted, failed over, locked): nothing was committed, so the
    calm answer is "try again", with what the person typed on the page to send again. The next
    request gets a fresh connection (the pool pings each one before use)."""
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        " ".join(str(getattr(exc, "orig", exc)).split())[:300],
    )
    form = getattr(request.state, "submitted_form", None)  # kept by the CSRF check
    fields: list[tuple[str, str]] | None = None
    had_file = False
    if request.method == "POST" and form is not None:
        fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        had_file = any(
            isinstance(value, UploadFile) and value.filename for _, value in form.multi_items()
        )
    response = _page_without_database(
        request,
        "errors/try-again.html",
        {"fields": fields, "had_file": had_file, "action": request.url.path},
        503,
    )
    response.headers["Retry-After"] = "30"
    return response


def _page_without_database(
    request: Request, template: str, context: dict[str, object], status_code: int
) -> Response:
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"request": request, "errors": {}, "school": _school_or_plain(request), **context},
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _school_or_plain(request: Request) -> School:
    """The 500 page touches no database: the trouble may be the database itself."""
    return getattr(request.state, "school", None) or last_known_school(request) or NOT_SET_UP


class HeadAnsweredAsGet:
    """`HEAD` (uptime checkers, link checkers) gets the headers a `GET` would, and no body.
    FastAPI's routes answer GET only, so a HEAD would otherwise be 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                if sent_end[0]:
                    return
                sent_end[0] = True
            await send(message)

        sent_end = [False]
        await self.app({**scope, "method": "GET"}, receive, headers_only)
