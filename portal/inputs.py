"""What a request brings in, checked once before any view reads it.

- `CleanInputRoute` is the route class of every router in the portal (an architecture test checks
  it). Each request it handles is a `CleanInputRequest`, whose form fields, query parameters and
  path parameters have been through `portal.text.clean_text`. Views, dependencies and the CSRF
  check all read the same cleaned values, and a new route gets the same treatment for free.
- Row ids in paths and query strings are `RowId` / `OptionalRowId`: a whole number from 1 to
  `MAX_ROW_ID` (the largest value an INTEGER column holds on PostgreSQL). Anything else is refused
  before it reaches the database: a path answers 404, as if the row did not exist; a query string
  answers a clear 422 page. Ids typed into forms go through `row_id_or_none`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from portal.text import clean_text

# PostgreSQL's INTEGER (all the portal's id columns) ends at 2**31 - 1; a bigger number raises
# "integer out of range" there, and one beyond 64 bits overflows SQLite's driver too.
MAX_ROW_ID = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


def row_id_or_none(value: object) -> int | None:
    """A row id typed or chosen in a form: ASCII digits within range, otherwise None."""
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ROW_ID)):
            return None
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ROW_ID else None


def clean_form(form: FormData) -> FormData:
    """The same form with every text value cleaned; uploaded files are passed on as they are."""
    return FormData(
        [
            (key, clean_text(value) if isinstance(value, str) else value)
            for key, value in form.multi_items()
        ]
    )


class CleanInputRequest(Request):
    """A request whose text inputs are read through `clean_text`."""

    @property
    def query_params(self) -> QueryParams:
        if not hasattr(self, "_clean_query_params"):
            raw = QueryParams(self.scope["query_string"])
            self._clean_query_params = QueryParams(
                [(key, clean_text(value)) for key, value in raw.multi_items()]
            )
        return self._clean_query_params

    @property
    def path_params(self) -> dict[str, Any]:
        raw: dict[str, Any] = self.scope.get("path_params", {})
        return {key: clean_text(v) if isinstance(v, str) else v for key, v in raw.items()}

    async def _get_form(self, **limits: Any) -> FormData:
        # Starlette's form() parses once and caches in `_form`; the cache is swapped for the
        # cleaned copy, so every later `await request.form()` (FastAPI's Form() parameters, the
        # CSRF check, the views) sees cleaned values. Closing the request still closes the files.
        if not getattr(self, "_form_cleaned", False):
            form = await super()._get_form(**limits)
            self._form = clean_form(form)
            self._form_cleaned = True
        assert self._form is not None
        return self._form


class CleanInputRoute(APIRoute):
    """The portal's route class: its endpoints see a `CleanInputRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def clean_input_handler(request: Request) -> Response:
            return await handler(CleanInputRequest(request.scope, request.receive, request._send))

        return clean_input_handler
