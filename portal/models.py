"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from sqlmodel import SQLModel

from portal.accounts.models import StaffSession, StaffUser
from portal.complaints.models import (
    Attachment,
    CaseExclusion,
    Complaint,
    ComplaintDraft,
    ComplaintMessage,
    Panel,
    PersistentComplainant,
    StatusCount,
)
from portal.guidance.models import PolicyVersion
from portal.history import HistoryEvent
from portal.mail import OutboxMessage
from portal.school.models import SchoolClosure, SchoolProfile, SchoolTerm

metadata = SQLModel.metadata

__all__ = [
    "Attachment",
    "CaseExclusion",
    "Complaint",
    "ComplaintDraft",
    "ComplaintMessage",
    "HistoryEvent",
    "OutboxMessage",
    "Panel",
    "PersistentComplainant",
    "PolicyVersion",
    "SchoolClosure",
    "SchoolProfile",
    "SchoolTerm",
    "StaffSession",
    "StaffUser",
    "StatusCount",
    "metadata",
]
