"""Static files under content-hashed names with a year's cache; pages and files sent compressed."""

from __future__ import annotations

import hashlib
import re

import pytest

from portal.accounts.models import Role
from portal.config import PROJECT_ROOT
from portal.static_files import IMMUTABLE, StaticAssets, UnknownStaticFile
from tests.conftest import page
from tests.factories import make_user, sign_in

HASHED = re.compile(r"^/static/build/portal\.[0-9a-f]{8}\.css$")


def _stylesheet(client) -> str:
    return page(client.get("/")).select_one('link[rel="stylesheet"]')["href"]


def test_the_layout_links_the_stylesheet_by_a_hashed_name(client):
    assert HASHED.match(_stylesheet(client))


def test_the_hash_comes_from_the_file_content():
    css = (PROJECT_ROOT / "static" / "build" / "portal.css").read_bytes()
    digest = hashlib.sha256(css).hexdigest()[:8]
    assert StaticAssets(PROJECT_ROOT / "static").url("build/portal.css") == (
        f"/static/build/portal.{digest}.css"
    )


def test_a_hashed_file_is_cached_for_a_year_and_sent_compressed(client):
    url = _stylesheet(client)
    for encoding in ("gzip", "br"):
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["content-encoding"] == encoding
        assert response.headers["content-type"].startswith("text/css")
        assert "vary" in response.headers and "accept-encoding" in response.headers["vary"].lower()
        # the test client undoes the encoding itself; the bytes on the wire are much smaller
        assert int(response.headers["content-length"]) < len(response.content) / 3
        assert response.content == (PROJECT_ROOT / "static" / "build" / "portal.css").read_bytes()


def test_a_hashed_file_answers_a_revalidation_with_304(client):
    url = _stylesheet(client)
    etag = client.get(url).headers["etag"]
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


def test_plain_names_still_work_with_a_short_cache(client):
    response = client.get("/static/build/portal.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"


def test_an_unknown_hashed_name_is_not_found(client):
    assert client.get("/static/build/portal.00000000.css").status_code == 404


def test_the_script_imports_govuk_frontend_by_its_hashed_name(client):
    script = page(client.get("/")).select_one('script[type="module"]')["src"]
    body = client.get(script).text
    frontend = StaticAssets(PROJECT_ROOT / "static").url("build/govuk-frontend.min.js")
    assert f'from "{frontend}"' in body
    assert client.get(frontend).headers["cache-control"] == IMMUTABLE


def test_asking_for_a_file_that_is_not_there_is_an_error():
    with pytest.raises(UnknownStaticFile):
        StaticAssets(PROJECT_ROOT / "static").url("build/no-such-file.css")


@pytest.mark.parametrize("path", ["/", "/complaints/new/kind", "/track"])
def test_parent_pages_are_sent_compressed(client, path):
    response = client.get(path, headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.headers["cache-control"] == "no-store"


def test_gzip_when_the_browser_offers_only_gzip(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


def test_no_compression_when_the_browser_asks_for_none(client):
    response = client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers


def test_pages_for_signed_in_staff_are_not_compressed(client, db_session):
    """They hold a session-bound CSRF token and echo searches: BREACH (docs/decisions.md)."""
    sign_in(client, make_user(db_session, Role.office))
    response = client.get("/staff", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    stylesheet = client.get(_stylesheet(client), headers={"Accept-Encoding": "br"})
    assert stylesheet.headers["content-encoding"] == "br"


def test_no_template_names_a_static_path_itself():
    """Every template reaches static files through `static_url(...)`, so each gets its hash."""
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "templates").rglob("*.html")
        if re.search(r"""["'(]/static/""", path.read_text())
    ]
    assert offenders == []


def test_every_static_url_in_the_templates_names_a_real_file():
    assets = StaticAssets(PROJECT_ROOT / "static")
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        for name in re.findall(r"""static_url\(\s*["']([^"']+)["']\s*\)""", path.read_text()):
            assert assets.url(name).startswith("/static/")
