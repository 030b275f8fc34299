"""What a production install writes and brings: parents' files owner-only, and a production
extra with the Redis client and no test tools."""

from __future__ import annotations

import os
import tomllib

from portal.config import PROJECT_ROOT
from tests.complaints.test_form import PARENT, PDF, answer_up_to_contact
from tests.factories import answer, send, upload
from tests.factories.parent_form import FORM  # noqa: F401 (the form the parent fills in)


def test_uploads_are_owner_only_whatever_the_umask(client, settings):
    previous = os.umask(0o000)  # the most careless umask: nothing taken away
    try:
        answer_up_to_contact(client)
        assert upload(client, "letter.pdf", PDF).status_code == 303
        assert answer(client, "contact", PARENT).status_code == 303
        assert send(client).status_code == 303
    finally:
        os.umask(previous)
    folder = settings.attachments_dir
    assert folder.stat().st_mode & 0o777 == 0o700
    files = list(folder.iterdir())
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o777 == 0o600


def _project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


TEST_TOOLS = {
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "playwright",
    "axe-playwright-python",
    "beautifulsoup4",
    "ruff",
    "import-linter",
    "yappi",
}


def _names(requirements: list[str]) -> set[str]:
    import re

    return {re.split(r"[\[=<>~! ;]", line, maxsplit=1)[0].lower() for line in requirements}


def test_the_production_install_brings_redis_and_no_test_tools():
    project = _project()
    production = _names(project["optional-dependencies"]["production"])
    base = _names(project["dependencies"])
    assert "redis" in production
    assert "redis" not in base  # only a portal that uses Redis needs its client
    assert not (production | base) & TEST_TOOLS
    assert "redis" in _names(project["optional-dependencies"]["dev"])  # the tests start Redis


def test_the_makefile_and_the_guide_name_the_same_production_install():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    guide = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    assert "install-production:" in makefile
    assert "'.[production]'" in makefile
    assert "make install-production" in guide
