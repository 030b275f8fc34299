"""The forms of the confirmations and events pages (`portal.forms`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.consent.models import Document
from portal.consent.services.events import MAX_DETAILS, MAX_PLACE, MAX_TITLE
from portal.forms import Checked, PostedForm, Text, Ticked, read_date
from portal.inputs import row_id_or_none

NOT_TICKED = "Tick the box to say you have read this and will follow it"
MAX_GROUPS = 100


@dataclass(frozen=True)
class ConfirmForm(PostedForm):
    """A parent confirming a page: the box ticked, and the version the page showed."""

    read: Text = ""
    version: Text = ""

    def validate(self) -> Checked[str | None]:
        if self.read != "yes":
            return Checked(None, {"read": NOT_TICKED})
        return Checked(self.version.strip()[:20])


@dataclass(frozen=True)
class ReminderForm(PostedForm):
    """ "Email those who have not confirmed": which page, for which class."""

    document: Text = ""
    class_name: Text = ""

    def validate_for(self, classes: list[str]) -> Checked[tuple[Document, str] | None]:
        errors: dict[str, str] = {}
        document = next((d for d in Document if d.value == self.document), None)
        if document is None:
            errors["document"] = "Choose which page to remind them about"
        if self.class_name not in classes:
            errors["class_name"] = "Choose a class"
        if errors or document is None:
            return Checked(None, errors)
        return Checked((document, self.class_name))


@dataclass(frozen=True)
class VersionForm(PostedForm):
    """Raising the photo guidance's version: the version the page showed."""

    version: Text = ""

    def validate(self) -> Checked[int | None]:
        shown = row_id_or_none(self.version)
        if shown is None:
            return Checked(None, {"version": "Open the page again, then try once more"})
        return Checked(shown)


@dataclass(frozen=True)
class EventValues:
    title: str
    held_on: date
    place: str
    details: str
    classes: list[str]
    year_groups: list[str]
    needs_photo_guidance: bool


@dataclass(frozen=True)
class EventForm(PostedForm):
    """A new school event: what, when, where, the details for families, who it is for, and
    whether parents must confirm the photo guidance before they are sent the details."""

    title: Text = ""
    held_on_day: Text = ""
    held_on_month: Text = ""
    held_on_year: Text = ""
    place: Text = ""
    details: Text = ""
    groups: Ticked = None
    needs_photo_guidance: Text = ""

    def validate_for(
        self, classes: list[str], year_groups: list[str], today: date
    ) -> Checked[EventValues | None]:
        errors: dict[str, str] = {}
        title = self.title.strip()
        if not title:
            errors["title"] = "Enter the event's name"
        elif len(title) > MAX_TITLE:
            errors["title"] = f"The name must be {MAX_TITLE} characters or fewer"
        held = read_date(self.held_on_day, self.held_on_month, self.held_on_year)
        if held.is_empty:
            errors["held_on_day"] = "Enter the date of the event"
        elif held.value is None:
            errors["held_on_day"] = held.problem
        elif held.value < today:
            errors["held_on_day"] = "The date must be today or in the future"
        elif held.value.year > today.year + 2:
            errors["held_on_day"] = "The date must be within the next two years"
        place = self.place.strip()
        if not place:
            errors["place"] = "Enter where the event is"
        elif len(place) > MAX_PLACE:
            errors["place"] = f"The place must be {MAX_PLACE} characters or fewer"
        details = self.details.strip()
        if not details:
            errors["details"] = "Enter the details families need"
        elif len(details) > MAX_DETAILS:
            errors["details"] = f"The details must be {MAX_DETAILS:,} characters or fewer"
        ticked = list(dict.fromkeys(self.groups or []))[:MAX_GROUPS]
        chosen_classes = [v[6:] for v in ticked if v.startswith("class:") and v[6:] in classes]
        chosen_years = [v[5:] for v in ticked if v.startswith("year:") and v[5:] in year_groups]
        if not chosen_classes and not chosen_years:
            errors["groups"] = "Tick the classes or year groups the event is for"
        if self.needs_photo_guidance not in ("yes", "no"):
            errors["needs_photo_guidance"] = (
                "Say whether parents must confirm the photo guidance first"
            )
        if errors or held.value is None:
            return Checked(None, errors)
        return Checked(
            EventValues(
                title=title,
                held_on=held.value,
                place=place,
                details=details,
                classes=chosen_classes,
                year_groups=chosen_years,
                needs_photo_guidance=self.needs_photo_guidance == "yes",
            )
        )
