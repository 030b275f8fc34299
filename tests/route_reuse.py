"""The suite makes a new app for every test; this lets those apps share what FastAPI works out
from each endpoint's signature, which the portal itself works out once per process.

FastAPI builds a route's "dependant" (its parameters, its dependencies, pydantic fields for each
form value) and its body field when the app first routes a request, by inspecting the endpoint.
For the portal's 230 routes that took 0.25-0.5 s of the first request of every app, so about a
third of the suite's time went on building the same objects again for each test. Here the two
builders are memoised by what they are built from: the same path, the same endpoint function and
the same dependencies give the same result, so the app under test routes, validates and
answers exactly as a freshly built one. Endpoints defined inside `create_app` (the health check,
the brand colour, the error pages) are new functions for each app: those are never kept, so no
app outlives its test.

`install()` is called once, from tests/conftest.py. It refuses to run (and says so) if FastAPI
no longer has the functions it wraps, rather than silently doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import params, routing

_Built = tuple[Any, list[Any], bool]
_dependants: dict[tuple[Any, ...], _Built] = {}
_body_fields: dict[tuple[Any, ...], Any] = {}
_kept_fields: set[int] = set()  # ids of the body fields of kept dependants (alive for good)


def _kept(call: Callable[..., Any]) -> bool:
    """A function defined at module level (or a method of one): the same object for every app."""
    return "<locals>" not in getattr(call, "__qualname__", "<locals>")


def install() -> None:
    build_dependant = routing._build_dependant_with_parameterless_dependencies
    build_body_field = routing._get_body_field
    if getattr(build_dependant, "_shared_by_tests", False):
        return

    def shared_dependant(
        *, path: str, call: Callable[..., Any], dependencies: Sequence[params.Depends]
    ) -> _Built:
        if not _kept(call) or not all(_kept(d.dependency) for d in dependencies):
            return build_dependant(path=path, call=call, dependencies=dependencies)
        key = (path, call, tuple(dependencies))
        built = _dependants.get(key)
        if built is None:
            built = _dependants[key] = build_dependant(
                path=path, call=call, dependencies=dependencies
            )
            _kept_fields.update(id(field) for field in built[1])
        return built

    def shared_body_field(*, body_params: list[Any], name: str, embed_body_fields: bool) -> Any:
        ids = tuple(id(field) for field in body_params)
        if not _kept_fields.issuperset(ids):
            return build_body_field(
                body_params=body_params, name=name, embed_body_fields=embed_body_fields
            )
        key = (name, embed_body_fields, ids)
        if key not in _body_fields:
            _body_fields[key] = build_body_field(
                body_params=body_params, name=name, embed_body_fields=embed_body_fields
            )
        return _body_fields[key]

    shared_dependant._shared_by_tests = True  # type: ignore[attr-defined]
    routing._build_dependant_with_parameterless_dependencies = shared_dependant
    routing._get_body_field = shared_body_field
