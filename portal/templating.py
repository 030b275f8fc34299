"""Server-rendered pages: the Jinja environment and the one function views use to render."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

from portal.calendar import format_date
from portal.config import PROJECT_ROOT, Settings
from portal.security import csrf_token, set_browser_cookies
from portal.static_files import StaticAssets

StaffNavigation = Callable[..., list[dict[str, str]]]


def make_templates(
    settings: Settings,
    assets: StaticAssets | None = None,
    *,
    staff_navigation: StaffNavigation | None = None,
) -> Jinja2Templates:
    """A school's own templates folder, when set, is searched first (like FixMyStreet cobrands).

    `staff_navigation(user, setting_up)` gives the staff menu for a signed-in person (while the
    portal is being set up, only what works then): the app builds it from the installed domains
    (`portal.domains`), so templating knows no domain.
    """
    folders = [str(PROJECT_ROOT / "templates")]
    if settings.templates_override_dir:
        folders.insert(0, str(settings.templates_override_dir))
    loader = ChoiceLoader(
        [
            FileSystemLoader(folders),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    env = PageEnvironment(
        loader=loader,
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=COMPILED_PAGES,
    )
    env.filters["long_date"] = _long_date
    env.filters["date_time"] = _date_time
    env.filters["bdi"] = bdi
    env.filters["pre_text"] = pre_text
    env.globals["staff_navigation"] = staff_navigation or _no_staff_navigation
    env.globals["static_url"] = (assets or StaticAssets(PROJECT_ROOT / "static")).url
    return Jinja2Templates(env=env)


class CompiledTemplates(BytecodeCache):
    """Compiled page templates kept for the life of the process, shared by every app it makes.

    Jinja compiles a template the first time an environment loads it (about 80 ms for a page
    with the GOV.UK macros). A worker makes one app, but the test suite makes one per test and
    so compiled every page again for every test. Jinja checks each entry against the template's
    source, so an edited template is compiled again. Only page environments (all built alike
    by `make_templates`) use this cache: the key names that environment's class.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{PageEnvironment.__qualname__}:{name}", filename)

    def load_bytecode(self, bucket: Any) -> None:
        code = self._compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Any) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_PAGES = CompiledTemplates()

SCHOOL_TIME = ZoneInfo("Europe/London")
# What a page template may not reach through `request`: the app (its state holds the deployment
# Settings), the raw ASGI scope and the receive channel.
_REQUEST_REFUSED = frozenset({"app", "state", "scope", "receive", "_receive", "_send"})
_ALWAYS_REFUSED = frozenset({"app", "scope", "receive"})


class PageEnvironment(SandboxedEnvironment):
    """The page templates' environment: sandboxed, because a school's own templates folder
    (`templates_override_dir`) is searched first and every page gets `request`.

    Besides the sandbox's own rules (no `__class__`, no `__globals__`...), a template may not
    read `app`, `scope` or `receive` on anything, `state` on a request, nor any deployment
    `Settings` (an instance, or an attribute whose value is one): a school's template can never
    print the secret key or the SMTP password.
    """

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, Settings) or isinstance(value, Settings):
            return False
        if attr in _ALWAYS_REFUSED:
            return False
        if isinstance(obj, HTTPConnection) and attr in _REQUEST_REFUSED:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getitem(self, obj: Any, argument: Any) -> Any:
        # `request["app"]` reads the ASGI scope: refused like `request.scope`.
        if isinstance(obj, (Settings, HTTPConnection)):
            return self.unsafe_undefined(obj, str(argument))
        value = super().getitem(obj, argument)
        if isinstance(value, Settings):
            return self.unsafe_undefined(obj, str(argument))
        return value


def _no_staff_navigation(_user: object, setting_up: bool = False) -> list[dict[str, str]]:
    return []


def bdi(value: object) -> Markup:
    """Someone's own words inside a line of the page, isolated (`<bdi>`): a name or a right-to-left
    phrase keeps its own direction and cannot reorder the text around it. Escaped as usual."""
    return Markup("<bdi>{}</bdi>").format("" if value is None else value)


def pre_text(value: object) -> Markup:
    """Someone's own paragraphs, line breaks kept, direction worked out from the text itself.

    Each line break is written as the character reference `&#10;`: the GOV.UK macros indent
    the HTML they are given (`indent(6)` in the summary list), which would put spaces at the
    start of every line after the first, and `white-space: pre-wrap` would show them.
    """
    text = escape("" if value is None else value)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", Markup("&#10;"))
    return Markup('<span class="school-pre" dir="auto">{}</span>').format(lines)


def _long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value)


def _date_time(value: datetime | None) -> str:
    """Stored times are naive UTC; people read them in the school's time (GMT or BST)."""
    if value is None:
        return ""
    local = value.replace(tzinfo=UTC).astimezone(SCHOOL_TIME)
    return f"{format_date(local.date())} at {local:%H:%M}"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with what every page needs: CSRF token, the signed-in user, form errors."""
    values: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "current_user": getattr(request.state, "user", None),
        "school": request.app.state.school_for(request),
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    response = request.app.state.templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    set_browser_cookies(request, response)
    return response
