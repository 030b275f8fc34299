"""A school's own page templates (`templates_override_dir`) cannot read the deployment settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.config import Settings

SECRET = "a-very-secret-key-for-this-test-only-0123456789"
SMTP_PASSWORD = "smtp-password-for-this-test-only"
ATTEMPTS = {
    "app-settings": "{{ request.app.state.settings.secret_key }}",
    "smtp": "{{ request.app.state.settings.smtp_password }}",
    "state": "{{ request.state }}",
    "scope": "{{ request.scope }}",
    "scope-item": "{{ request['app'].state.settings.secret_key }}",
    "attr-filter": "{{ (request|attr('app')).state.settings.secret_key }}",
    "globals": "{{ request.__class__.__init__.__globals__ }}",
    "mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler": "{{ cycler.__init__.__globals__.os.environ }}",
    "url-for": "{{ url_for.__globals__ }}",
}


@pytest.fixture
def override_app(app: FastAPI, settings: Settings, tmp_path: Path) -> Iterator[FastAPI]:
    folder = tmp_path / "school-templates"
    folder.mkdir()
    hostile = settings.model_copy(
        update={
            "templates_override_dir": folder,
            "secret_key": SECRET,
            "smtp_password": SMTP_PASSWORD,
        }
    )
    application = create_app(hostile, app.state.clock)
    application.state.sessions = app.state.sessions  # inside the test's transaction too
    application.state.attempt_folder = folder
    yield application
    application.state.engine.dispose()


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_an_override_page_template_cannot_print_the_deployment_secrets(override_app, name):
    folder: Path = override_app.state.attempt_folder
    (folder / "guidance").mkdir(exist_ok=True)
    template = f"<html><body><h1>Attempt</h1><p>{ATTEMPTS[name]}</p></body></html>"
    # The home page's own template is replaced by the attempt.
    (folder / "guidance" / "home.html").write_text(template)
    with TestClient(override_app, raise_server_exceptions=False) as browser:
        response = browser.get("/")
    assert SECRET not in response.text
    assert SMTP_PASSWORD not in response.text
    assert "secret_key" not in response.text
    assert response.status_code in (200, 500)
    if response.status_code == 500:
        assert "Traceback" not in response.text


def test_the_override_folder_is_still_searched_first(override_app):
    folder: Path = override_app.state.attempt_folder
    (folder / "guidance").mkdir(exist_ok=True)
    (folder / "guidance" / "home.html").write_text(
        "<html><body><h1>Our own home</h1></body></html>"
    )
    with TestClient(override_app, raise_server_exceptions=False) as browser:
        response = browser.get("/")
    assert response.status_code == 200
    assert "Our own home" in response.text
