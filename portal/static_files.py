"""Static files under content-hashed names, and compressed responses.

At start-up every file under `static/` gets a name carrying the first 8 hex digits of the SHA-256
of its content (`build/portal.css` → `build/portal.3f2a1c9e.css`). Templates ask for
`static_url("build/portal.css")` and get `/static/build/portal.3f2a1c9e.css`, served with a
year's immutable cache: a changed file is a new name, so a browser never needs to ask again.
Stylesheets and scripts that name other static files (`/static/build/govuk-frontend.min.js` in
`portal.mjs`) are served with those names rewritten to their hashed form, and hashed after the
rewrite, so a change anywhere below reaches the name of the file at the top. The plain names
keep working, with a short cache, for anything that still uses them.

Compression (zstd, Brotli or gzip, whichever the browser accepts) is starlette-compress, for
pages and static files alike, except pages for a signed-in member of staff (see
docs/decisions.md, "Compression and BREACH").
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette_compress import CompressMiddleware

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
STATIC_PREFIX = "/static/"
REWRITTEN_SUFFIXES = {".css", ".js", ".mjs"}
STATIC_REFERENCE = re.compile(r"/static/([A-Za-z0-9_./-]+\.[A-Za-z0-9]+)")
HASH_LENGTH = 8
SESSION_COOKIE_NAME = b"portal_session="

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("image/svg+xml", ".svg")


class UnknownStaticFile(LookupError):
    """A template asked for a static file that is not there (a typo, or `make install` not run)."""


@dataclass(frozen=True)
class HashedFile:
    name: str  # the hashed name, relative to static/
    body: bytes  # the content as served (references rewritten)
    media_type: str
    etag: str


class StaticAssets:
    """Every file under one folder, named by its content; built once, when the app starts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_plain: dict[str, HashedFile] = {}
        self._by_hashed: dict[str, HashedFile] = {}
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    self._hash(path.relative_to(directory).as_posix(), ())

    def _hash(self, plain: str, chain: tuple[str, ...]) -> HashedFile | None:
        if plain in self._by_plain:
            return self._by_plain[plain]
        path = self.directory / plain
        if plain in chain or not path.is_file():
            return None
        body = path.read_bytes()
        if path.suffix in REWRITTEN_SUFFIXES:
            body = self._rewrite(body, (*chain, plain))
        digest = hashlib.sha256(body).hexdigest()
        stem, dot, suffix = plain.rpartition(".")
        hashed = f"{stem}.{digest[:HASH_LENGTH]}.{suffix}" if dot else f"{plain}.{digest[:8]}"
        media_type = mimetypes.guess_type(plain)[0] or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        entry = HashedFile(hashed, body, media_type, f'"{digest[:16]}"')
        self._by_plain[plain] = entry
        self._by_hashed[hashed] = entry
        return entry

    def _rewrite(self, body: bytes, chain: tuple[str, ...]) -> bytes:
        text = body.decode("utf-8")

        def hashed_reference(found: re.Match[str]) -> str:
            entry = self._hash(found.group(1), chain)
            return STATIC_PREFIX + entry.name if entry else found.group(0)

        return STATIC_REFERENCE.sub(hashed_reference, text).encode("utf-8")

    def url(self, plain: str) -> str:
        """`/static/<hashed name>` for a file named as it is in the static folder."""
        entry = self._by_plain.get(plain.lstrip("/"))
        if entry is None:
            raise UnknownStaticFile(f"no static file {plain!r} under {self.directory}")
        return STATIC_PREFIX + entry.name

    def hashed(self, name: str) -> HashedFile | None:
        return self._by_hashed.get(name)


class HashedStaticFiles:
    """Mounted at /static: hashed names from memory with a year's cache, plain names from disk
    (Starlette's StaticFiles, with its ETag and Last-Modified) with five minutes'."""

    def __init__(self, assets: StaticAssets) -> None:
        self.assets = assets
        self.plain = StaticFiles(directory=assets.directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/")
        entry = self.assets.hashed(name)
        if entry is None or scope["method"] not in ("GET", "HEAD"):
            await self.plain(scope, receive, self._with_cache(send, SHORT_CACHE))
            return
        headers = {"Cache-Control": IMMUTABLE, "ETag": entry.etag}
        if Headers(scope=scope).get("if-none-match") == entry.etag:
            response = Response(status_code=304, headers=headers)
        else:
            body = b"" if scope["method"] == "HEAD" else entry.body
            response = Response(body, media_type=entry.media_type, headers=headers)
            if scope["method"] == "HEAD":
                response.headers["Content-Length"] = str(len(entry.body))
        await response(scope, receive, send)

    @staticmethod
    def _with_cache(send: Send, cache_control: str) -> Send:
        async def send_with_cache(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                if not any(name.lower() == b"cache-control" for name, _ in message["headers"]):
                    message["headers"].append((b"cache-control", cache_control.encode()))
            await send(message)

        return send_with_cache  # type: ignore[return-value]


class Compression:
    """starlette-compress around the app, passed by for a signed-in member of staff's pages.

    Static files are always compressed (they hold no secret). A page rendered for a request that
    carries the staff session cookie holds a CSRF token bound to that session and may echo what
    the address asked for (a search), the two ingredients of BREACH: those are sent as they are.
    """

    def __init__(self, app: ASGIApp, *, minimum_size: int = 500) -> None:
        self.app = app
        self.compressed = CompressMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"].startswith(STATIC_PREFIX) or not _has_staff_session(scope)
        ):
            await self.compressed(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_staff_session(scope: Scope) -> bool:
    return any(
        name == b"cookie" and SESSION_COOKIE_NAME in value for name, value in scope["headers"]
    )
