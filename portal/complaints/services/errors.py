"""A step that breaks a rule of the procedure."""

from __future__ import annotations


class ComplaintError(ValueError):
    """A step that breaks a rule of the procedure; the message is shown next to `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
