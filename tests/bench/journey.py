"""What a parent sends through the form, page by page, and drafts prepared in bulk."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from portal.clock import SystemClock
from portal.complaints import drafts
from portal.complaints.models import About, ComplaintDraft
from portal.complaints.services import NewComplaint, token_digest
from portal.school.services import school_of

CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
SUBMIT_PATH = "/complaints/new/submit"
DONE_PATH = "/complaints/new/done"
FIRST_PAGE = "/complaints/new/kind"


def csrf_from(html: str) -> str | None:
    found = CSRF_FIELD.search(html)
    return found.group(1) if found else None


def answers(number: int, categories: list[str], today: date) -> dict[str, Any]:
    """One parent's complete answers, as the draft stores them."""
    return {
        "kind": "complaint" if number % 3 else "concern",
        "about": "school",
        "about_name": "",
        "category": categories[number % len(categories)],
        "what_happened": (
            f"My son was pushed over in the playground at lunchtime (bench parent {number}). "
            "Nobody told me and I only found out at bedtime."
        ),
        "happened_on": (today - timedelta(days=3)).isoformat(),
        "done_so_far": "I spoke to the class teacher at pick-up.",
        "put_right": "Please phone me the same day when something like this happens.",
        "anonymous": False,
        "parent_name": f"Bench Parent {number}",
        "parent_email": f"bench.parent{number}@example.com",
        "parent_phone": "",
        "child_name": "Leo",
    }


def new_complaint(number: int, categories: list[str], today: date) -> NewComplaint:
    given = answers(number, categories, today)
    return NewComplaint(
        formal=given["kind"] == "complaint",
        about=About(given["about"]),
        about_name="",
        category=given["category"],
        what_happened=given["what_happened"],
        happened_on=date.fromisoformat(given["happened_on"]),
        done_so_far=given["done_so_far"],
        put_right=given["put_right"],
        anonymous=False,
        parent_name=given["parent_name"],
        parent_email=given["parent_email"],
        child_name=given["child_name"],
    )


def form_posts(given: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every POST a browser makes through the form, in order, ending with the submit button."""
    happened = date.fromisoformat(given["happened_on"])
    return [
        ("/complaints/new/kind", {"kind": given["kind"]}),
        ("/complaints/new/about", {"about": given["about"], "about_name": ""}),
        ("/complaints/new/category", {"category": given["category"]}),
        (
            "/complaints/new/what-happened",
            {
                "what_happened": given["what_happened"],
                "happened_on-day": str(happened.day),
                "happened_on-month": str(happened.month),
                "happened_on-year": str(happened.year),
            },
        ),
        ("/complaints/new/done-so-far", {"done_so_far": given["done_so_far"]}),
        ("/complaints/new/put-right", {"put_right": given["put_right"]}),
        ("/complaints/new/attachments", {"action": "continue"}),
        (
            "/complaints/new/contact",
            {
                "anonymous": "no",
                "parent_name": given["parent_name"],
                "parent_email": given["parent_email"],
                "parent_phone": "",
                "child_name": given["child_name"],
            },
        ),
        (SUBMIT_PATH, {"website": ""}),
    ]


def categories_of(engine: Engine) -> list[str]:
    """The school's own categories (a setting of its profile, made by the demo school)."""
    with Session(engine) as session:
        return list(school_of(session).categories)


def insert_drafts(
    engine: Engine, count: int, categories: list[str], today: date, first_number: int
) -> list[str]:
    """Finished drafts (every page answered), as the form leaves them; returns cookie tokens."""
    now = SystemClock().now()
    tokens: list[str] = []
    rows: list[dict[str, Any]] = []
    for number in range(first_number, first_number + count):
        token = secrets.token_urlsafe(32)
        tokens.append(token)
        rows.append(
            {
                "token_hash": token_digest(token),
                "answers": json.dumps(answers(number, categories, today), sort_keys=True),
                "created_at": now,
                "updated_at": now,
                "expires_at": now + drafts.KEEP_FOR,
            }
        )
    table = ComplaintDraft.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(table), rows[start : start + 5000])
    return tokens
