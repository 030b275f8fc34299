"""The forms of the wording pages (`portal.forms`). The wording's own checks (placeholders it
may use, lengths) are the service's, which names the field a problem is in."""

from __future__ import annotations

from dataclasses import dataclass

from portal.forms import PostedForm, Text


def _version(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else -1


@dataclass(frozen=True)
class VersionedForm(PostedForm):
    """`version` is the version of the wording the page showed: a save or reset made on a
    version someone has changed since is refused by the service."""

    version: Text = ""

    @property
    def seen_version(self) -> int:
        """The version as a number; -1 (never a stored version) when it is not one."""
        return _version(self.version)


@dataclass(frozen=True)
class WordingForm(VersionedForm):
    """An email's or letter's subject and body; `action` is "save", or a preview otherwise."""

    subject: Text = ""
    body: Text = ""
    action: Text = "preview"

    @property
    def saving(self) -> bool:
        return self.action == "save"
