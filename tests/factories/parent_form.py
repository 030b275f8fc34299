"""A parent filling in the complaint form through HTTP, step by step, as a browser does."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.testclient import TestClient

from tests.pages import csrf_of, post_form, text_of

FORM = "/complaints/new"


def answer(client: TestClient, step: str, data: dict, *, from_check: bool = False):  # type: ignore[no-untyped-def]
    """Answer one question page (from the check page, when `from_check`)."""
    path = f"{FORM}/{step}"
    return post_form(
        client,
        path,
        {**data, **({"from": "check"} if from_check else {})},
        from_page=path + ("?from=check" if from_check else ""),
    )


def answer_steps(client: TestClient, steps: Iterable[tuple[str, dict]]) -> None:
    """Answer question pages in turn; each must move the parent on (303)."""
    for step, data in steps:
        response = answer(client, step, data)
        assert response.status_code == 303, (step, text_of(response))


def upload(  # type: ignore[no-untyped-def]
    client: TestClient,
    filename: str,
    content: bytes,
    *,
    action: str = "add",
    media_type: str = "application/octet-stream",
):
    """Add (or otherwise act on) one file on the attachments page."""
    form_page = client.get(f"{FORM}/attachments")
    return client.post(
        f"{FORM}/attachments",
        data={"csrf_token": csrf_of(form_page), "action": action},
        files={"file": (filename, content, media_type)},
        follow_redirects=False,
    )


def send(client: TestClient, **extra):  # type: ignore[no-untyped-def]
    """Send the answers from the check page."""
    check = client.get(f"{FORM}/check")
    assert check.status_code == 200
    return client.post(
        f"{FORM}/submit",
        data={"csrf_token": csrf_of(check), "website": "", **extra},
        follow_redirects=False,
    )
