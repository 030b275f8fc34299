"""Publishing the policy and rendering its Markdown safely."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.guidance.models import PolicyVersion
from portal.history import Actor, record_event
from portal.text import render_markdown as render_markdown  # the shared safe renderer

_VERSION_PATTERN = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}$")


class PolicyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def current_policy(session: Session) -> PolicyVersion | None:
    return session.scalars(
        select(PolicyVersion).order_by(PolicyVersion.effective_on.desc(), PolicyVersion.id.desc())
    ).first()


def policy_versions(session: Session) -> list[PolicyVersion]:
    return list(
        session.scalars(
            select(PolicyVersion).order_by(
                PolicyVersion.effective_on.desc(), PolicyVersion.id.desc()
            )
        )
    )


def find_version(session: Session, version: str) -> PolicyVersion | None:
    return session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()


def publish_policy(
    session: Session,
    *,
    version: str,
    effective_on: date | None,
    body_markdown: str,
    summary_of_changes: str,
    user: StaffUser | None,
) -> PolicyVersion:
    version = version.strip()
    if not _VERSION_PATTERN.match(version):
        raise PolicyError("version", "Enter a version number like 3 or 3.1")
    if find_version(session, version):
        raise PolicyError(
            "version", f"Version {version} already exists. Enter a new version number"
        )
    if effective_on is None:
        raise PolicyError("effective_on", "Enter the date this version takes effect")
    if len(body_markdown.strip()) < 50:
        raise PolicyError("body_markdown", "Enter the full policy text")
    policy = PolicyVersion(
        version=version,
        effective_on=effective_on,
        body_markdown=body_markdown.strip(),
        summary_of_changes=summary_of_changes.strip()[:500],
        published_by_user_id=user.id if user else None,
    )
    session.add(policy)
    session.flush()
    record_event(
        session,
        subject_type="policy",
        subject_id=policy.id,
        tag="policy:publish",
        actor=Actor.staff(user) if user else Actor.system(),
        to_value=version,
    )
    return policy
