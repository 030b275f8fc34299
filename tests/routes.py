"""Every route the app serves, however it was included.

FastAPI 0.165 keeps an included router as one `_IncludedRouter` entry in `app.routes`, so a test
that looks for `APIRoute` in `app.routes` alone finds none of the routers' pages and passes
without checking anything. This walks into included routers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi.routing import APIRoute


def api_routes(app_or_routes: object) -> Iterator[APIRoute]:
    routes: Iterable[object] = getattr(app_or_routes, "routes", app_or_routes)  # type: ignore[arg-type]
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)
