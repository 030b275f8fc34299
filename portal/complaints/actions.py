"""The staff actions on a case, in one table: who may take each one, and when it applies.

The case page shows an action's form when both hold; its route refuses (403) a person who may not
take it, and the service it calls checks the case's state again inside the transaction (a form
shown a moment ago may have been overtaken). Who-may rules are the services' own `can_*`
functions, so this table and the services cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.complaints import services
from portal.complaints.models import Complaint, DeadlineKind, Stage, Status


class Checks:
    """The who-may answers for one person and one case, each asked of the services once."""

    def __init__(self, session: Session, user: StaffUser, case: Complaint) -> None:
        self.session, self.user, self.case = session, user, case

    @cached_property
    def triage(self) -> bool:
        return services.can_triage(self.session, self.user, self.case)

    @cached_property
    def handle(self) -> bool:
        return services.can_handle(self.session, self.user, self.case)

    @cached_property
    def delegate(self) -> bool:
        return services.can_delegate(self.session, self.user, self.case)

    @cached_property
    def persistent(self) -> bool:
        return services.can_mark_persistent(self.session, self.user, self.case)

    @cached_property
    def message(self) -> bool:
        return services.can_message(self.session, self.user, self.case)


@dataclass(frozen=True)
class StaffAction:
    name: str
    may: Callable[[Checks], bool]
    applies: Callable[[Complaint], bool]


def _sortable(case: Complaint) -> bool:
    return case.status in (Status.new, Status.open) and case.stage != Stage.stage2


def _stage2_open(case: Complaint) -> bool:
    return case.stage == Stage.stage2 and case.status == Status.open


def _on_its_own(case: Complaint) -> bool:
    """Not answered with a lead case (a linked case is sorted, answered and heard with it)."""
    return not services.is_follower(case)


def _before_the_answer(case: Complaint) -> bool:
    return case.status in (Status.new, Status.open) and case.stage != Stage.stage2


def _always(_case: Complaint) -> bool:
    return True


ACTIONS: dict[str, StaffAction] = {
    action.name: action
    for action in (
        StaffAction(
            "triage", lambda c: c.triage, lambda case: _sortable(case) and _on_its_own(case)
        ),
        StaffAction("release", lambda c: c.triage, lambda case: case.status == Status.held),
        StaffAction("clear-exclusion", lambda c: c.triage, lambda case: case.is_active),
        StaffAction("redirect", lambda c: c.triage, _sortable),
        StaffAction(
            "link",
            lambda c: c.triage or c.handle,
            lambda case: _before_the_answer(case) and case.lead_complaint_id is None,
        ),
        StaffAction(
            "unlink",
            lambda c: c.triage or c.handle,
            lambda case: _before_the_answer(case) and services.is_follower(case),
        ),
        StaffAction(
            "close-same-matter",
            lambda c: c.triage or c.persistent,
            lambda case: bool(
                case.is_active and case.persistent_matter and case.lead_complaint_id is not None
            ),
        ),
        StaffAction(
            "letter",
            lambda c: c.handle,
            lambda case: case.status == Status.open and _on_its_own(case),
        ),
        StaffAction(
            "respond",
            lambda c: c.handle,
            lambda case: (
                case.status == Status.open and case.stage != Stage.stage2 and _on_its_own(case)
            ),
        ),
        StaffAction(
            "delegate",
            lambda c: c.delegate,
            lambda case: (
                case.status == Status.open and case.stage != Stage.stage2 and _on_its_own(case)
            ),
        ),
        StaffAction(
            "take-back",
            lambda c: c.delegate,
            lambda case: (
                case.status == Status.open
                and case.stage != Stage.stage2
                and case.delegate_user_id is not None
                and _on_its_own(case)
            ),
        ),
        StaffAction(
            "update",
            lambda c: c.handle,
            lambda case: (
                case.is_active and case.deadline_kind in (DeadlineKind.respond, DeadlineKind.panel)
            ),
        ),
        StaffAction("message", lambda c: c.message, _always),
        StaffAction("note", lambda _c: True, _always),
        StaffAction(
            "panel", lambda c: c.handle, lambda case: _stage2_open(case) and _on_its_own(case)
        ),
        StaffAction(
            "papers", lambda c: c.handle, lambda case: _stage2_open(case) and _on_its_own(case)
        ),
        StaffAction(
            "send-bundle",
            lambda c: c.handle,
            lambda case: _stage2_open(case) and _on_its_own(case),
        ),
        StaffAction(
            "outcome", lambda c: c.handle, lambda case: _stage2_open(case) and _on_its_own(case)
        ),
        StaffAction(
            "persistent",
            lambda c: c.persistent,
            lambda case: not case.anonymous and not case.persistent_matter,
        ),
    )
}


def may_take(session: Session, user: StaffUser, case: Complaint, action: str) -> bool:
    """Whether this person may take this action on this case at all (the route's check)."""
    return ACTIONS[action].may(Checks(session, user, case))


def permitted(session: Session, user: StaffUser, case: Complaint) -> dict[str, bool]:
    checks = Checks(session, user, case)
    return {name: action.may(checks) for name, action in ACTIONS.items()}


def shown(session: Session, user: StaffUser, case: Complaint) -> dict[str, bool]:
    """The forms worth showing now: permitted, and the case is in a state where they apply."""
    checks = Checks(session, user, case)
    return {
        name: action.may(checks) and bool(action.applies(case)) for name, action in ACTIONS.items()
    }
