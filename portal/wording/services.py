"""The emails and letters as the portal sends them: a school's own wording where it has one,
ours otherwise; and the admin's changes to that wording, each one history event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from portal.db import now_of
from portal.history import Actor, record_event
from portal.school.services import School, school_of
from portal.school.stamp import keep, kept
from portal.wording.catalogue import BY_KEY, CATALOGUE, SAMPLE_CASE, Wording, wording_for
from portal.wording.models import WordingOverride
from portal.wording.rendering import (
    Rendered,
    WordingProblem,
    check,
    default_text,
    finish,
    render_default,
    render_text,
)

log = logging.getLogger(__name__)
_CACHE_KEY = "portal.settings.wording"
HISTORY_SUBJECT = "wording"
SAVED_TAG = "wording:save"
RESET_TAG = "wording:reset"
CHANGED_ELSEWHERE = (
    "Someone else changed this wording while you were editing it. Your text is below: "
    "copy it, then open the page again to see theirs"
)


@dataclass(frozen=True)
class Listed:
    wording: Wording
    overridden: bool


@dataclass(frozen=True)
class Editing:
    """What the edit page shows: the school's wording (or ours) and the version it is at."""

    wording: Wording
    subject: str
    body: str
    overridden: bool
    version: int  # 0: no override yet


@dataclass(frozen=True)
class Override:
    """A school's own wording for one email or letter, as stored."""

    key: str
    subject: str
    body: str
    version: int


def _overrides(session: Session, school: School) -> Mapping[str, Override]:
    """The school's overrides, read once per session (a request, a CLI run), and kept by the
    process under the settings stamp while they do not change (`portal.school.stamp`)."""
    cache: dict[int | None, Mapping[str, Override]] = session.info.setdefault(_CACHE_KEY, {})
    if school.id not in cache:
        kind = f"wording:{school.id}"
        found = kept(session, kind)
        if found is None:
            rows = (
                session.exec(select(WordingOverride).where(WordingOverride.school_id == school.id))
                if school.id is not None
                else []
            )
            found = MappingProxyType(
                {row.key: Override(row.key, row.subject, row.body, row.version) for row in rows}
            )
            if school.id is not None:
                keep(session, kind, found)
        cache[school.id] = found
    return cache[school.id]


def _forget(session: Session) -> None:
    session.info.pop(_CACHE_KEY, None)


def context_for(wording: Wording, school: School, values: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the variables the wording lists, from `values` (plus the school): nothing else
    reaches a template."""
    context = {name: values[name] for name in wording.variables if name in values}
    context["school"] = school
    return context


def render(
    session: Session, key: str, values: Mapping[str, Any], *, school: School | None = None
) -> Rendered:
    """The email or letter `key` for `values`, in the school's own wording if it has one.

    `school` defaults to the portal's school (`school_of`); pass it to render for another
    profile. A school's template that fails now (it passed its checks when saved) gives way to
    ours, logged, so a message is never lost to a template.
    """
    school = school or school_of(session)
    wording = wording_for(key)
    context = context_for(wording, school, values)
    override = _overrides(session, school).get(key)
    if override is not None:
        try:
            rendered = finish(
                render_text(override.subject, context) if wording.is_email else "",
                render_text(override.body, context),
            )
            if not wording.needs_private_link or str(context.get("private_link")) in rendered.body:
                return rendered
            log.warning("wording %s of school %s lost its private link", key, school.id)
        except Exception:  # any failure of a school's template falls back to ours
            log.exception("wording %s of school %s failed; our default was used", key, school.id)
    return render_default(wording, context)


def sample_values(wording: Wording, school: School) -> dict[str, Any]:
    """The sample case the preview and the checks render on (fictional names)."""
    case = SAMPLE_CASE
    if wording.key in ("panel-outcome-letter", "staff-next-stage", "panel-outcome-ready"):
        case = replace(case, stage="stage 2 (governors' panel)")
    if school.categories:
        case = replace(case, category=school.categories[0])
    return context_for(wording, school, {"case": case, **wording.sample})


def preview(wording: Wording, school: School, subject: str, body: str) -> Rendered:
    """The text as the parent (or member of staff) would read it on the sample case; raises
    WordingProblem for a template that cannot be used."""
    return check(wording, subject, body, sample_values(wording, school))


def listing(session: Session, school: School) -> list[Listed]:
    overrides = _overrides(session, school)
    return [Listed(wording=w, overridden=w.key in overrides) for w in CATALOGUE]


def editing(session: Session, school: School, key: str) -> Editing | None:
    wording = BY_KEY.get(key)
    if wording is None:
        return None
    override = _overrides(session, school).get(key)
    if override is not None:
        return Editing(wording, override.subject, override.body, True, override.version)
    text = default_text(wording)
    return Editing(wording, text.subject, text.body, False, 0)


def save(
    session: Session,
    school: School,
    key: str,
    *,
    subject: str,
    body: str,
    seen_version: int,
    actor: Actor,
) -> None:
    """Store the school's wording for `key` if it passes the checks (WordingProblem if not) and
    nobody changed it since the admin opened it (`seen_version`; WordingProblem if they did).
    One history event: who, which, from what to what. The caller commits."""
    wording = wording_for(key)
    if not wording.is_email:
        subject = ""
    preview(wording, school, subject, body)
    now = now_of(session)
    before = editing(session, school, key)
    assert before is not None
    if seen_version == 0:
        row = WordingOverride(
            school_id=school.id,
            key=key,
            subject=subject,
            body=body,
            version=1,
            updated_at=now,
            updated_by_id=actor.user_id,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            raise WordingProblem("body", CHANGED_ELSEWHERE) from None
    else:
        changed = session.execute(
            update(WordingOverride)
            .where(
                WordingOverride.school_id == school.id,
                WordingOverride.key == key,
                WordingOverride.version == seen_version,
            )
            .values(
                subject=subject,
                body=body,
                version=seen_version + 1,
                updated_at=now,
                updated_by_id=actor.user_id,
            )
        )
        if changed.rowcount != 1:
            raise WordingProblem("body", CHANGED_ELSEWHERE)
    _record(session, SAVED_TAG, key, actor, before, subject, body, "the school's own")
    _forget(session)


def reset(session: Session, school: School, key: str, *, seen_version: int, actor: Actor) -> bool:
    """Back to our default: the override goes (if it is still the one the admin saw). False when
    there was nothing to remove or it changed meanwhile. The caller commits."""
    wording = wording_for(key)
    before = editing(session, school, key)
    if before is None or not before.overridden:
        return False
    removed = session.execute(
        delete(WordingOverride).where(
            WordingOverride.school_id == school.id,
            WordingOverride.key == key,
            WordingOverride.version == seen_version,
        )
    )
    if removed.rowcount != 1:
        return False
    ours = default_text(wording)
    _record(session, RESET_TAG, key, actor, before, ours.subject, ours.body, "our default")
    _forget(session)
    return True


def _record(
    session: Session,
    tag: str,
    key: str,
    actor: Actor,
    before: Editing,
    subject: str,
    body: str,
    to_words: str,
) -> None:
    record_event(
        session,
        subject_type=HISTORY_SUBJECT,
        subject_id=key,
        tag=tag,
        actor=actor,
        from_value="the school's own" if before.overridden else "our default",
        to_value=to_words,
        detail={
            "from": {"subject": before.subject, "body": before.body},
            "to": {"subject": subject, "body": body},
        },
    )
