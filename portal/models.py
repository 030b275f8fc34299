"""Every table, in one metadata, so Alembic and the tests see the whole schema.

The shared and core tables (history, outbox, school profile, term dates) are imported here; each
installed domain's tables come from its `Domain.models` (`portal.domains.INSTALLED_DOMAINS`), so
a new domain adds no line here.
"""

from sqlmodel import SQLModel

from portal.domains import models_modules
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from portal.school.models import SchoolClosure, SchoolProfile, SchoolTerm

DOMAIN_MODELS = models_modules()
metadata = SQLModel.metadata

__all__ = [
    "DOMAIN_MODELS",
    "HistoryEvent",
    "OutboxMessage",
    "SchoolClosure",
    "SchoolProfile",
    "SchoolTerm",
    "metadata",
]
