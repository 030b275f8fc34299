"""The forms of the staff news pages (`portal.forms`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from portal.channel.services import workflow
from portal.clock import SCHOOL_TIME
from portal.forms import Checked, PostedForm, Text, Ticked, read_date
from portal.inputs import row_id_or_none

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
FURTHEST_AHEAD = timedelta(days=366)


def revision_of(value: str) -> int:
    """The revision the page showed (0 when it is not a number: the change is then refused as
    made meanwhile, never a 5xx)."""
    return row_id_or_none(value) or 0


@dataclass(frozen=True)
class PostForm(PostedForm):
    """A post's words: its title, a one-line summary (for the list and the feed), and the post
    in Markdown."""

    title: Text = ""
    summary: Text = ""
    body_markdown: Text = ""
    revision: Text = ""

    def validate(self) -> Checked[dict[str, str]]:
        errors = workflow.check_words(self.title, self.summary, self.body_markdown)
        return Checked(
            {"title": self.title, "summary": self.summary, "body": self.body_markdown}, errors
        )


@dataclass(frozen=True)
class RevisionForm(PostedForm):
    revision: Text = ""


@dataclass(frozen=True)
class ApproveForm(PostedForm):
    """Approving: publish now, or on a day at a time (the school's time)."""

    revision: Text = ""
    when: Text = ""
    publish_on_day: Text = ""
    publish_on_month: Text = ""
    publish_on_year: Text = ""
    publish_time: Text = ""

    def validate(self, now: datetime) -> Checked[datetime | None]:
        """None: publish now; otherwise the moment (naive UTC) it goes out."""
        if self.when == "now":
            return Checked(None)
        if self.when != "later":
            return Checked(None, {"when": "Choose when the post goes out"})
        errors: dict[str, str] = {}
        day = read_date(self.publish_on_day, self.publish_on_month, self.publish_on_year)
        if day.value is None:
            parts = day.wrong_parts or ("day",)
            errors[f"publish_on_{parts[0]}"] = day.problem or "Enter the day it goes out"
        match = _TIME.match(self.publish_time.strip())
        if match is None:
            errors["publish_time"] = "Enter the time it goes out, like 09:00 or 16:30"
        if errors or day.value is None or match is None:
            return Checked(None, errors)
        try:
            local = datetime(
                day.value.year,
                day.value.month,
                day.value.day,
                int(match.group(1)),
                int(match.group(2)),
                tzinfo=SCHOOL_TIME,
            )
        except ValueError:
            return Checked(None, {"publish_on_day": "Enter a real date"})
        moment = local.astimezone(UTC).replace(tzinfo=None)
        if moment <= now:
            return Checked(None, {"publish_on_day": "Choose a time in the future, or publish now"})
        if moment > now + FURTHEST_AHEAD:
            return Checked(None, {"publish_on_day": "Choose a day within the next year"})
        return Checked(moment)


@dataclass(frozen=True)
class ReturnForm(PostedForm):
    revision: Text = ""
    comments: Text = ""


@dataclass(frozen=True)
class NoteForm(PostedForm):
    note: Text = ""


@dataclass(frozen=True)
class ImageForm(PostedForm):
    alt_text: Text = ""


@dataclass(frozen=True)
class PupilsForm(PostedForm):
    pupil_ids: Ticked = None

    def ids(self) -> list[int]:
        found = (row_id_or_none(value) for value in (self.pupil_ids or [])[:500])
        return [i for i in found if i is not None]


@dataclass(frozen=True)
class AnswerPupilsForm(PostedForm):
    who: Text = ""


@dataclass(frozen=True)
class RemovePupilForm(PostedForm):
    pupil_id: Text = ""


async def posted_picture(request: Request) -> UploadFile | None:
    """The picture chosen on the pictures page (`file`), if one was: read here so a browser
    that sends the field without a file, or as text, gets the form back with its message."""
    form = await request.form()
    upload = form.get("file")
    return upload if isinstance(upload, UploadFile) and upload.filename else None


PostedPicture = Annotated[UploadFile | None, Depends(posted_picture)]
