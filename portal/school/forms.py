"""The forms of the school settings pages, the first-run steps and the term dates pages.

Each class declares its inputs once (`portal.forms`); its `validate()` asks the rules that
already read them (`portal.school.profile`, `portal.school.term_dates`), so a settings page and
its first-run twin, or the add and change pages of a term, read one form the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portal.forms import Checked, PostedForm, Text
from portal.school import profile as rules
from portal.school import term_dates


@dataclass(frozen=True)
class SettingsForm(PostedForm):
    """A settings page's form. `seen` is the fingerprint of the values the page showed: a save
    made on values another admin has changed since is refused (`rules.EditedMeanwhile`)."""

    seen: Text = ""


@dataclass(frozen=True)
class NameForm(SettingsForm):
    name: Text = ""

    def validate(self) -> Checked[str]:
        return Checked(*rules.read_name(self.name))


@dataclass(frozen=True)
class ContactForm(SettingsForm):
    contact_email: Text = ""
    contact_phone: Text = ""
    contact_address: Text = ""
    website_url: Text = ""

    def validate(self) -> Checked[dict[str, str]]:
        return Checked(
            *rules.read_contacts(
                self.contact_email, self.contact_phone, self.contact_address, self.website_url
            )
        )


@dataclass(frozen=True)
class SetupSchoolForm(ContactForm):
    """The first step of setting up: the school's name and its contact details on one page."""

    name: Text = ""

    def validate(self) -> Checked[dict[str, str]]:
        name, errors = rules.read_name(self.name)
        contacts = super().validate()
        return Checked({"name": name, **contacts.value}, {**errors, **contacts.errors})


@dataclass(frozen=True)
class ChannelsForm(SettingsForm):
    official_channels: Text = ""

    def validate(self) -> Checked[list[str]]:
        return Checked(*rules.read_channels(self.official_channels))


@dataclass(frozen=True)
class CategoriesForm(SettingsForm):
    categories: Text = ""

    def validate(self) -> Checked[list[str]]:
        return Checked(*rules.read_categories(self.categories))


@dataclass(frozen=True)
class ColourForm(SettingsForm):
    brand_colour: Text = ""

    def validate(self) -> Checked[str]:
        return Checked(*rules.read_colour(self.brand_colour))


@dataclass(frozen=True)
class TimescalesForm(SettingsForm):
    """One input per `rules.TIMESCALES` entry (a test checks they match), the same form on the
    settings page and in the first-run steps."""

    acknowledge_within_days: Text = ""
    concern_response_days: Text = ""
    stage1_response_days: Text = ""
    escalation_window_days: Text = ""
    stage2_outcome_days: Text = ""
    late_after_months: Text = ""
    reminder_days_before: Text = ""

    def validate(self) -> Checked[dict[str, int]]:
        return Checked(*rules.read_timescales(self.typed()))


@dataclass(frozen=True)
class ProcedureForm(SettingsForm):
    """Another procedure (out of scope): the same form adds one and changes one."""

    name: Text = ""
    where: Text = ""
    url: Text = ""

    def validate(self, others: Sequence[Mapping[str, Any]]) -> Checked[dict[str, str]]:
        """`others` are the procedures this one must not share its name with."""
        return Checked(*rules.read_procedure(self.name, self.where, self.url, others))


@dataclass(frozen=True)
class ParagraphForm(SettingsForm):
    """A suggested letter paragraph: the same form adds one and changes one."""

    title: Text = ""
    text: Text = ""

    def validate(self) -> Checked[dict[str, str]]:
        return Checked(*rules.read_paragraph(self.title, self.text))


# ---------------------------------------------------------------- term dates


@dataclass(frozen=True)
class TermForm(PostedForm):
    """A term: its name, first and last day. The same form adds one and changes one."""

    name: Text = ""
    start_day: Text = ""
    start_month: Text = ""
    start_year: Text = ""
    end_day: Text = ""
    end_month: Text = ""
    end_year: Text = ""

    def validate(self) -> Checked[term_dates.TermInput | None]:
        try:
            return Checked(term_dates.read_term(self.typed()))
        except term_dates.TermDatesInputError as error:
            return Checked(None, error.errors)


@dataclass(frozen=True)
class ClosureForm(PostedForm):
    """A day the school is closed in term, and why."""

    day_day: Text = ""
    day_month: Text = ""
    day_year: Text = ""
    reason: Text = ""

    def validate(self) -> Checked[term_dates.ClosureInput | None]:
        try:
            return Checked(term_dates.read_closure(self.typed()))
        except term_dates.TermDatesInputError as error:
            return Checked(None, error.errors)


@dataclass(frozen=True)
class ImportConfirmForm(PostedForm):
    """The import's preview, confirmed: the plan travels back signed (see term_dates_views)."""

    plan: Text = ""
