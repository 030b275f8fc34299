"""Publishing the policy and rendering its Markdown safely."""

from __future__ import annotations

import re
from datetime import date

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.guidance.models import PolicyVersion
from portal.history import Actor, record_event

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_VERSION_PATTERN = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}$")

ALLOWED_TAGS = {"h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "br"}
_GOVUK_CLASSES = {
    "h2": "govuk-heading-m",
    "h3": "govuk-heading-s",
    "h4": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
}


class PolicyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML off, then sanitised, then given GOV.UK classes.

    Headings are shifted down one level so the page keeps a single h1.
    """
    html = _markdown.render(text)
    for level in (5, 4, 3, 2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
    for tag, css in _GOVUK_CLASSES.items():
        clean = re.sub(rf"<{tag}(?=[\s>])", f'<{tag} class="{css}"', clean)
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


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
