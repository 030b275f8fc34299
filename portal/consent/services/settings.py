"""The school's consent settings, changed by an admin: the uses parents answer for (purposes),
how long an answer lasts, and which roles read a safeguarding flag's kind and reason.

Every change is one history event (who, what, from, to). All changes take one lock (the
settings row: a write first, so SQLite's write lock too), then check that what the admin's page
showed is still true (the revision of the purpose or settings row, or the order of the uses):
two admins changing the same thing at once, the first wins and the second is told, with what
they typed kept. A purpose is retired, never deleted (records point at it); a new wording is a
new version, and answers given to an older one stay valid unless the admin asks parents again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.consent.models import ConsentSettings, Pupil, Purpose
from portal.consent.services.answers import Validity
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import Actor, HistoryEvent, record_event

SETTINGS_SUBJECT = "consent_settings"
PURPOSE_SUBJECT = "consent_purpose"
VALIDITY_TAG = "consent:settings:validity"
FLAG_ROLES_TAG = "consent:settings:flag-roles"
ASKING_TAG = "consent:settings:asking"
PURPOSE_ADDED_TAG = "consent:purpose:added"
PURPOSE_CHANGED_TAG = "consent:purpose:changed"
PURPOSE_RETIRED_TAG = "consent:purpose:retired"
PURPOSE_RESTORED_TAG = "consent:purpose:restored"
PURPOSE_MOVED_TAG = "consent:purpose:moved"
SETTINGS_ROLES = (Role.admin,)
MAX_NAME = 100
MAX_WORDING = 1000
MAX_PURPOSES = 30
HISTORY_VALUE_CHARS = 200
VALIDITY_LABELS = {
    Validity.school_year: "Each school year, from 1 September",
    Validity.key_stage: "Each key stage",
    Validity.while_at_school: "While the child is at the school",
}
VALIDITY_HINTS = {
    Validity.school_year: "Parents are asked again every September. Most schools do this.",
    Validity.key_stage: (
        "Parents are asked again when their child starts a new key stage (worked out from the "
        "date of birth): reception, year 1, year 3, year 7, year 10 and year 12."
    ),
    Validity.while_at_school: "An answer lasts until the child leaves, unless a parent changes it.",
}


class SettingsRefused(Exception):
    """The change cannot be made; `field` is the form field the message belongs to."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class EditedMeanwhile(SettingsRefused):
    """Another admin changed this after the page was shown: nothing was changed."""


# ---------------------------------------------------------------- reading what was typed


def read_validity(value: str) -> tuple[Validity | None, str]:
    if value not in Validity.__members__:
        return None, "Choose how long an answer lasts"
    return Validity(value), ""


def read_flag_roles(values: Iterable[str]) -> tuple[list[Role], str]:
    chosen = {value for value in values}
    roles = [role for role in Role if role.value in chosen]
    if not roles:
        return [], "Choose at least one role that may read why a pupil is restricted"
    if len(roles) != len(chosen):
        return [], "Choose only from the roles listed"
    return roles, ""


def read_purpose(name: str, wording: str) -> tuple[tuple[str, str], dict[str, str]]:
    """A use's name and wording, trimmed, with what to do about each problem."""
    problems: dict[str, str] = {}
    name = " ".join(name.split())
    wording = wording.strip()
    if not name:
        problems["name"] = "Enter a name for this use, like School trips"
    elif len(name) > MAX_NAME:
        problems["name"] = f"The name must be {MAX_NAME} characters or fewer"
    if not wording:
        problems["wording"] = "Enter the words parents will read and answer yes or no to"
    elif len(wording) > MAX_WORDING:
        problems["wording"] = f"The wording must be {MAX_WORDING:,} characters or fewer"
    return (name, wording), problems


# ---------------------------------------------------------------- the lock


def _require_admin(user: StaffUser) -> None:
    if not user.has_role(*SETTINGS_ROLES):
        raise SettingsRefused("Only a portal administrator can change the consent settings")


def locked_settings(session: Session) -> ConsentSettings:
    """The settings row (made with the defaults the first time), locked until the transaction
    ends: every change to the consent settings or the purposes waits here for the one before."""
    row_id = session.scalar(select(func.min(ConsentSettings.id)))
    if row_id is None:
        try:
            with session.begin_nested():
                session.add(ConsentSettings(id=1))
                session.flush()
        except IntegrityError:
            pass  # another admin made it at the same moment
        row_id = session.scalar(select(func.min(ConsentSettings.id)))
    session.execute(
        update(ConsentSettings)
        .where(ConsentSettings.id == row_id)
        .values(revision=ConsentSettings.revision)
        .execution_options(synchronize_session=False)
    )
    statement = (
        select(ConsentSettings)
        .where(ConsentSettings.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(statement).one()


def tell_every_pupil(session: Session) -> None:
    """A change that can change any pupil's photo check (how long answers last, asking pupils
    too, a use's wording asked again, its naming question, retiring or bringing it back): tell
    the other domains about every pupil on the register, in this transaction (a news post
    showing one the check now refuses is flagged). Pupils who left are "no" whatever the
    settings say."""
    session.flush()
    on_roll = session.scalars(select(Pupil.id).where(Pupil.on_roll))
    pupil_consent_changed(session, on_roll, now_of(session))


def _short(value: object) -> str | None:
    if value is None:
        return None
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return text if len(text) <= HISTORY_VALUE_CHARS else text[: HISTORY_VALUE_CHARS - 1] + "…"


# ---------------------------------------------------------------- how long, and who reads flags


def save_validity(
    session: Session, user: StaffUser, validity: Validity, *, seen_revision: int
) -> bool:
    """Set how long an answer lasts; False when it was already so. The caller commits."""
    _require_admin(user)
    row = locked_settings(session)
    if row.revision != seen_revision:
        raise EditedMeanwhile(
            "Another administrator changed the consent settings while you were choosing. "
            f"An answer now lasts: {VALIDITY_LABELS.get(Validity(row.validity), row.validity)}. "
            "Check your choice, then save again",
            "validity",
        )
    if row.validity == validity:
        return False
    before = row.validity
    row.validity = validity
    row.revision += 1
    session.add(row)
    record_event(
        session,
        subject_type=SETTINGS_SUBJECT,
        subject_id=row.id,
        tag=VALIDITY_TAG,
        actor=Actor.staff(user),
        from_value=before,
        to_value=str(validity),
        detail={"field": "validity", "from": before, "to": str(validity)},
    )
    tell_every_pupil(session)
    return True


def save_flag_roles(
    session: Session, user: StaffUser, roles: Sequence[Role], *, seen_revision: int
) -> bool:
    """Set which roles read a safeguarding flag's kind and reason (at least one)."""
    _require_admin(user)
    if not roles:
        raise SettingsRefused(
            "Choose at least one role that may read why a pupil is restricted", "flag_roles"
        )
    row = locked_settings(session)
    if row.revision != seen_revision:
        raise EditedMeanwhile(
            "Another administrator changed the consent settings while you were choosing. "
            "The page shows the roles now chosen; check them, then save again",
            "flag_roles",
        )
    after = [role.value for role in Role if role in set(roles)]
    before = [value for value in row.flag_roles.split(",") if value]
    if sorted(before) == sorted(after):
        return False
    row.flag_roles = ",".join(after)
    row.revision += 1
    session.add(row)
    record_event(
        session,
        subject_type=SETTINGS_SUBJECT,
        subject_id=row.id,
        tag=FLAG_ROLES_TAG,
        actor=Actor.staff(user),
        from_value=_short(before),
        to_value=_short(after),
        detail={"field": "flag_roles", "from": before, "to": after},
    )
    session.flush()
    return True


# ---------------------------------------------------------------- the purposes


@dataclass(frozen=True)
class Asking:
    """How the school asks: whether pupils aged 12 and over are asked too, and the days before a
    class may be sent another request for answers, or another reminder to confirm."""

    ask_pupils_12_and_over: bool
    request_interval_days: int
    confirmation_reminder_days: int


MAX_INTERVAL_DAYS = 90
ASKING_LABELS = {
    "ask_pupils_12_and_over": "Pupils aged 12 and over are asked too",
    "request_interval_days": "Days before a class is sent another request for answers",
    "confirmation_reminder_days": "Days before families are reminded again to confirm",
}


def read_days(value: str) -> tuple[int | None, str]:
    """A whole number of days, 1 to MAX_INTERVAL_DAYS, as typed."""
    typed = value.strip()
    if not typed:
        return None, "Enter a number of days"
    if not (typed.isascii() and typed.isdigit()) or len(typed) > 3:
        return None, "Enter a whole number of days, like 7"
    days = int(typed)
    if not 1 <= days <= MAX_INTERVAL_DAYS:
        return None, f"Enter a number of days from 1 to {MAX_INTERVAL_DAYS}"
    return days, ""


def asking_of(row: ConsentSettings) -> Asking:
    return Asking(
        ask_pupils_12_and_over=bool(row.ask_pupils_12_and_over),
        request_interval_days=row.request_interval_days,
        confirmation_reminder_days=row.confirmation_reminder_days,
    )


def save_asking(session: Session, user: StaffUser, asking: Asking, *, seen_revision: int) -> int:
    """Save how the school asks; one history event per value changed (how many changed). The
    caller commits."""
    _require_admin(user)
    row = locked_settings(session)
    if row.revision != seen_revision:
        raise EditedMeanwhile(
            "Another administrator changed the consent settings while you were choosing. "
            "The page now shows their choices: check yours, then save again",
            "ask_pupils",
        )
    before = asking_of(row)
    changed = 0
    for field in ASKING_LABELS:
        old, new = getattr(before, field), getattr(asking, field)
        if old == new:
            continue
        setattr(row, field, new)
        changed += 1
        record_event(
            session,
            subject_type=SETTINGS_SUBJECT,
            subject_id=row.id,
            tag=ASKING_TAG,
            actor=Actor.staff(user),
            from_value=str(old),
            to_value=str(new),
            detail={"field": field, "from": old, "to": new},
        )
    if changed:
        row.revision += 1
        session.add(row)
        session.flush()
    if before.ask_pupils_12_and_over != asking.ask_pupils_12_and_over:
        tell_every_pupil(session)
    return changed


def _new_key(name: str, taken: set[str]) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:30] or "use"
    key, number = stem, 2
    while key in taken:
        key = f"{stem}_{number}"
        number += 1
    return key


def _purpose_event(
    session: Session,
    user: StaffUser,
    purpose: Purpose,
    tag: str,
    *,
    field: str = "",
    before: object = None,
    after: object = None,
    **extra: object,
) -> None:
    record_event(
        session,
        subject_type=PURPOSE_SUBJECT,
        subject_id=purpose.id,
        tag=tag,
        actor=Actor.staff(user),
        from_value=_short(before),
        to_value=_short(after),
        detail={"purpose": purpose.name, "field": field, "from": before, "to": after, **extra},
    )


def add_purpose(
    session: Session, user: StaffUser, name: str, wording: str, asks_naming: bool
) -> Purpose:
    """A new use parents answer for, last in the order, at wording version 1."""
    _require_admin(user)
    (name, wording), problems = read_purpose(name, wording)
    if problems:
        field, message = next(iter(problems.items()))
        raise SettingsRefused(message, field)
    locked_settings(session)
    every = purposes(session, include_retired=True)
    if len(every) >= MAX_PURPOSES:
        raise SettingsRefused(f"A school can have up to {MAX_PURPOSES} uses. Retire one", "name")
    if any(p.name.casefold() == name.casefold() for p in every):
        raise SettingsRefused(f"There is already a use called “{name}”", "name")
    purpose = Purpose(
        key=_new_key(name, {p.key for p in every}),
        name=name,
        wording=wording,
        version=1,
        asks_naming=asks_naming,
        position=max((p.position for p in every), default=0) + 1,
        active=True,
    )
    session.add(purpose)
    session.flush()
    _purpose_event(
        session, user, purpose, PURPOSE_ADDED_TAG, after=wording, asks_naming=asks_naming
    )
    return purpose


def _claim(session: Session, purpose_id: int, seen_revision: int) -> Purpose:
    """Move the purpose's revision on if it is still the one the page showed (a conditional
    update, under the settings lock), and return it; EditedMeanwhile otherwise."""
    moved = session.execute(
        update(Purpose)
        .where(Purpose.id == purpose_id, Purpose.revision == seen_revision)
        .values(revision=Purpose.revision + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    purpose = session.scalars(
        select(Purpose).where(Purpose.id == purpose_id).execution_options(populate_existing=True)
    ).one_or_none()
    if purpose is None:
        raise LookupError(purpose_id)
    if moved != 1:
        raise EditedMeanwhile(
            f"Another administrator changed “{purpose.name}” while you were editing it. "
            "The page shows what you typed; check it against what is there now, then save again",
            "name",
        )
    return purpose


@dataclass(frozen=True)
class PurposeChange:
    name: str
    wording: str
    asks_naming: bool
    ask_again: bool


def change_purpose(
    session: Session,
    user: StaffUser,
    purpose_id: int,
    change: PurposeChange,
    *,
    seen_revision: int,
) -> list[str]:
    """Change a use's name, wording or naming question; returns what changed. A new wording is
    a new version; with `ask_again`, answers to earlier versions lapse (parents are asked
    again). One history event per thing changed."""
    _require_admin(user)
    (name, wording), problems = read_purpose(change.name, change.wording)
    if problems:
        field, message = next(iter(problems.items()))
        raise SettingsRefused(message, field)
    locked_settings(session)
    clash = session.scalar(
        select(Purpose.id).where(Purpose.id != purpose_id, func.lower(Purpose.name) == name.lower())
    )
    if clash is not None:
        raise SettingsRefused(f"There is already a use called “{name}”", "name")
    purpose = _claim(session, purpose_id, seen_revision)
    changed: list[str] = []
    if purpose.name != name:
        _purpose_event(
            session,
            user,
            purpose,
            PURPOSE_CHANGED_TAG,
            field="name",
            before=purpose.name,
            after=name,
        )
        purpose.name = name
        changed.append("name")
    if purpose.wording != wording:
        before_version = purpose.version
        purpose.version += 1
        if change.ask_again:
            purpose.reask_from_version = purpose.version
        _purpose_event(
            session,
            user,
            purpose,
            PURPOSE_CHANGED_TAG,
            field="wording",
            before=purpose.wording,
            after=wording,
            from_version=before_version,
            to_version=purpose.version,
            ask_again=change.ask_again,
        )
        purpose.wording = wording
        changed.append("wording")
    if purpose.asks_naming != change.asks_naming:
        _purpose_event(
            session,
            user,
            purpose,
            PURPOSE_CHANGED_TAG,
            field="asks_naming",
            before=purpose.asks_naming,
            after=change.asks_naming,
        )
        purpose.asks_naming = change.asks_naming
        changed.append("asks_naming")
    if not changed:
        purpose.revision -= 1  # nothing changed: the page that showed it is still right
    session.add(purpose)
    session.flush()
    if "asks_naming" in changed or ("wording" in changed and change.ask_again):
        tell_every_pupil(session)
    return changed


def set_active(
    session: Session, user: StaffUser, purpose_id: int, active: bool, *, seen_revision: int
) -> Purpose:
    """Retire a use (parents are no longer asked, the photo check no longer offers it; its
    records stay) or bring it back. At least one use stays active."""
    _require_admin(user)
    locked_settings(session)
    if not active:
        others = session.scalar(
            select(func.count())
            .select_from(Purpose)
            .where(Purpose.active, Purpose.id != purpose_id)
        )
        if not others:
            raise SettingsRefused(
                "Keep at least one use: parents need something to answer. Add another use first",
                "purposes",
            )
    purpose = _claim(session, purpose_id, seen_revision)
    if purpose.active == active:
        raise EditedMeanwhile(
            f"“{purpose.name}” was already {'in use' if active else 'retired'}", "purposes"
        )
    purpose.active = active
    session.add(purpose)
    session.flush()
    _purpose_event(
        session,
        user,
        purpose,
        PURPOSE_RESTORED_TAG if active else PURPOSE_RETIRED_TAG,
        field="active",
        before=not active,
        after=active,
    )
    tell_every_pupil(session)
    return purpose


def order_token(shown: Sequence[Purpose]) -> str:
    """What the page showed of the order (the active uses' ids, in order)."""
    return ",".join(str(p.id) for p in shown if p.active)


def move_purpose(
    session: Session, user: StaffUser, purpose_id: int, up: bool, *, seen_order: str
) -> bool:
    """Move an active use one place up or down among the active ones; False at either end.
    Refused when the order changed since the page was shown."""
    _require_admin(user)
    locked_settings(session)
    every = purposes(session, include_retired=True)
    if order_token(every) != seen_order:
        raise EditedMeanwhile(
            "Another administrator changed the order while you were looking. "
            "Here is the order now; move it again if you still need to",
            "purposes",
        )
    active = [p for p in every if p.active]
    index = next((i for i, p in enumerate(active) if p.id == purpose_id), None)
    if index is None:
        raise LookupError(purpose_id)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(active):
        return False
    before = [p.name for p in active]
    active[index], active[other] = active[other], active[index]
    for position, purpose in enumerate([*active, *(p for p in every if not p.active)], 1):
        if purpose.position != position:
            purpose.position = position
            session.add(purpose)
    moved = active[other]
    session.flush()
    _purpose_event(
        session,
        user,
        moved,
        PURPOSE_MOVED_TAG,
        field="position",
        before=before,
        after=[p.name for p in active],
    )
    return True


# ---------------------------------------------------------------- what changed, by whom


def changes(session: Session, limit: int = 50) -> list[HistoryEvent]:
    """The consent settings' history, newest first."""
    statement = (
        select(HistoryEvent)
        .where(HistoryEvent.subject_type.in_((SETTINGS_SUBJECT, PURPOSE_SUBJECT)))  # type: ignore[attr-defined]
        .order_by(HistoryEvent.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(session.scalars(statement))


def last_changes(session: Session) -> dict[str, HistoryEvent]:
    """The latest event per setting ("validity", "flag_roles") and per purpose ("purpose:<id>"):
    what the page shows as "last changed by ... on ..."."""
    latest_settings = (
        select(func.max(HistoryEvent.id))
        .where(HistoryEvent.subject_type == SETTINGS_SUBJECT)
        .group_by(HistoryEvent.tag)
    )
    latest_purposes = (
        select(func.max(HistoryEvent.id))
        .where(HistoryEvent.subject_type == PURPOSE_SUBJECT)
        .group_by(HistoryEvent.subject_id)
    )
    ids = [*session.scalars(latest_settings), *session.scalars(latest_purposes)]
    if not ids:
        return {}
    found: dict[str, HistoryEvent] = {}
    by_tag = {VALIDITY_TAG: "validity", FLAG_ROLES_TAG: "flag_roles", ASKING_TAG: "asking"}
    for event in session.scalars(select(HistoryEvent).where(HistoryEvent.id.in_(ids))):  # type: ignore[union-attr]
        if event.subject_type == SETTINGS_SUBJECT:
            found[by_tag.get(event.tag, event.tag)] = event
        else:
            found[f"purpose:{event.subject_id}"] = event
    return found
