"""The form for publishing a new version of the complaints policy (`portal.forms`). Its rules
(a new version number, a date, some text) are the service's, which names the field at fault."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.forms import PostedForm, Text


@dataclass(frozen=True)
class PolicyForm(PostedForm):
    version: Text = ""
    effective_on: Text = ""
    body_markdown: Text = ""
    summary_of_changes: Text = ""

    @property
    def effective_date(self) -> date | None:
        """The date it takes effect (YYYY-MM-DD), or None when that is not a date."""
        try:
            return date.fromisoformat(self.effective_on.strip())
        except ValueError:
            return None
