"""Rules about the code's shape that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.routing import APIRoute

from portal.accounts.access import current_user, optional_user
from tests.routes import api_routes

PORTAL = Path(__file__).resolve().parent.parent / "portal"
PUBLIC_STAFF_ROUTES = {"/staff/login", "/staff/logout"}


def _dependency_calls(route: APIRoute) -> set:
    calls = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        calls.add(dependant.call)
        stack.extend(dependant.dependencies)
    return calls


def test_the_route_walk_finds_the_routers_pages(app):
    paths = {route.path for route in api_routes(app)}
    assert {"/staff", "/staff/complaints/{reference}", "/complaints/new", "/track"} <= paths


def test_every_staff_route_checks_who_is_signed_in(app):
    for route in api_routes(app):
        if not isinstance(route, APIRoute) or not route.path.startswith("/staff"):
            continue
        if route.path in PUBLIC_STAFF_ROUTES:
            continue
        calls = _dependency_calls(route)
        assert current_user in calls, f"{route.path} has no sign-in or role check"


def test_every_admin_page_names_its_roles(app):
    for route in api_routes(app):
        if isinstance(route, APIRoute) and route.path.startswith(
            ("/staff/users", "/staff/outbox", "/staff/policy")
        ):
            assert any(hasattr(call, "required_roles") for call in _dependency_calls(route)), (
                route.path
            )


def test_optional_user_is_only_used_where_anyone_may_look(app):
    for route in api_routes(app):
        if isinstance(route, APIRoute) and optional_user in _dependency_calls(route):
            assert route.path in PUBLIC_STAFF_ROUTES or current_user in _dependency_calls(route)


def test_every_form_post_is_csrf_checked(app):
    from portal.security import verify_csrf

    assert any(dependency.dependency is verify_csrf for dependency in app.router.dependencies)


def test_services_never_import_views_or_templates():
    rules = [*PORTAL.rglob("services.py"), *PORTAL.glob("*/services/*.py")]
    assert any(path.parent.name == "services" for path in rules)
    for path in rules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.endswith(".views"), f"{path} imports {node.module}"
                assert node.module != "portal.templating", f"{path} imports templating"


# Reads of the system clock. Only portal/clock.py may make them; everything else asks the clock.
_CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def _clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in _CLOCK_READS
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        if isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}:
            for alias in node.names:
                if (node.module, alias.name) in _CLOCK_READS:
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    return found


def test_nothing_but_the_clock_reads_the_system_time():
    offenders = []
    for path in sorted(PORTAL.rglob("*.py")):
        if path == PORTAL / "clock.py":
            continue
        for line, what in _clock_reads(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(PORTAL.parent)}:{line} {what}")
    assert offenders == [], "read the time from portal.clock instead:\n" + "\n".join(offenders)


def test_the_clock_check_catches_a_direct_read():
    sample = "import time\nfrom datetime import date\nx = time.time()\ny = date.today()\n"
    assert [what for _line, what in _clock_reads(ast.parse(sample))] == ["time.time", "date.today"]


def test_tests_never_read_the_schools_own_term_dates(settings):
    assert "config" not in settings.term_dates_file.parts
