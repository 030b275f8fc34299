"""Many realistic cases at once, for benchmarks and for trying the queue at a real school's scale.

`seed_cases` writes rows shaped like the ones the services write (references, token hashes,
deadlines, counters, history, messages and letters), but with bulk inserts instead of one service
call per case, so 250,000 cases take a minute or two rather than hours. Left out: the emails the
services would have queued, attachments and stage 2 panel records. Only `portal seed`, the tests
and the benchmarks call it.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy import text as sql_text
from sqlmodel import Session

from portal.accounts.models import Role, StaffUser
from portal.calendar import CalendarExhaustedError, SchoolCalendar, format_date
from portal.clock import clock_of
from portal.complaints import services
from portal.complaints.models import (
    NO_DEADLINE,
    About,
    Complaint,
    ComplaintMessage,
    DeadlineKind,
    MessageKind,
    Outcome,
    Stage,
    Status,
    StatusCount,
)
from portal.config import Settings
from portal.history import HistoryEvent, history_import_permitted
from portal.school.services import School, school_of

# Share of all cases per status: most are long finished, about 8% are still active.
STATUS_WEIGHTS = {
    Status.new: 2.0,
    Status.open: 4.0,
    Status.responded: 2.0,
    Status.closed: 74.0,
    Status.withdrawn: 11.0,
    Status.redirected: 7.0,
}
ABOUT_WEIGHTS = {About.school: 55.0, About.staff: 35.0, About.head: 6.0, About.governor: 4.0}
ANONYMOUS_SHARE = 0.05
LATE_SHARE = 0.03
YEARS_BACK = 3

FIRST_NAMES = [
    "Amira", "Ben", "Chloe", "Daniel", "Ella", "Farah", "George", "Hannah", "Imran", "Jess",
    "Kwame", "Laura", "Mohammed", "Nina", "Oliver", "Priya", "Rachel", "Sam", "Tariq", "Uma",
    "Victoria", "Wei", "Yusuf", "Zara", "Aisha", "Callum", "Deepa", "Grace", "Joe", "Megan",
]  # fmt: skip
SURNAMES = [
    "Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fernandes", "Green", "Hughes", "Iqbal",
    "Jones", "Khan", "Lewis", "Morgan", "Nowak", "Okafor", "Patel", "Quinn", "Roberts", "Singh",
    "Taylor", "Walsh", "Wilson", "Wright", "Young", "Murphy", "Kowalski", "Mensah", "Chen",
]  # fmt: skip
CHILD_NAMES = [
    "Leo", "Mia", "Noah", "Ava", "Ali", "Isla", "Jack", "Ruby", "Omar", "Lily", "Theo", "Ivy",
    "Finn", "Maya", "Adam", "Rosa", "Zain", "Evie", "Kai", "Nell",
]  # fmt: skip
STAFF_NAMED = [
    "Miss Hughes", "Mr Patel", "Mrs Clarke", "the class teacher", "a lunchtime supervisor",
    "the PE teacher", "the teaching assistant", "the office", "Mr Evans", "the breakfast club",
]  # fmt: skip
GOVERNOR_NAMED = ["a parent governor", "the chair of governors", "a governor", "Mr Ellis"]

WHO = ["My son", "My daughter", "Our child", "My youngest", "My son in Year 4", "Our daughter"]
WHAT = [
    "was pushed over in the playground",
    "was kept in at break for something he did not do",
    "came home hungry because lunch ran out",
    "was left off the swimming list",
    "has had no homework marked for weeks",
    "was sent home for wearing black trainers",
    "missed the school bus because it left early",
    "was told off in front of the whole class",
    "lost her reading book and was given a detention",
    "was not given the phonics support we agreed",
    "was upset after a trip to the farm",
    "was left waiting at the gate in the rain",
    "had his coat taken and nobody helped",
    "was moved to another table without a reason",
    "was bitten by another child at lunchtime",
    "was not allowed to use the toilet during lessons",
    "got hurt on the climbing frame",
    "was left out of the Christmas play",
    "was given the wrong medicine dose in the office",
    "was refused a place at breakfast club",
]
WHEN = [
    "on Monday", "last Tuesday", "at lunchtime", "during PE", "after school", "at drop-off",
    "at pick-up", "during the school trip", "in the music lesson", "at morning break",
]  # fmt: skip
THEN = [
    "Nobody told me.",
    "I only heard about it from another parent.",
    "The office did not call me back.",
    "I emailed the class teacher twice and had no answer.",
    "This has happened three times this term.",
    "It has left my child worried about coming to school.",
    "I would like to understand why this happened.",
    "Other parents have said the same thing.",
    "I asked at the gate but nobody knew anything.",
]
RARE = "My child was hurt on the trampoline at the after-school club and it was not written down."
DONE_SO_FAR = [
    "I spoke to the class teacher at pick-up.",
    "I emailed the office.",
    "I phoned the school and left a message.",
    "",
    "I talked to the teaching assistant.",
]
PUT_RIGHT = [
    "I would like an explanation and to know it won't happen again.",
    "Please call me the same day when something like this happens.",
    "An apology would help.",
    "I would like a meeting with the head teacher.",
    "",
]
NOTES = [
    "Spoke to the class teacher: she remembers the day.",
    "Checked the incident log for that week.",
    "Parent phoned the office for an update.",
    "Asked the lunchtime team for their notes.",
]
FIRST_LOOK = [
    "Read on arrival: not a safeguarding matter. To sort this week.",
    "Read on arrival: checking which class this is about before sorting.",
]
REPLIES = [
    "I have remembered something else: it also happened the week before.",
    "Please can you call me rather than email.",
    "Thank you for looking into this.",
]
INVESTIGATED = [
    "I spoke to the class teacher and the staff on duty, and read the incident log.",
    "I looked at the records for that week and spoke to everyone involved.",
    "I met the staff involved and checked the school's policy.",
]
DECISIONS = [
    "Staff dealt with it at the time, but we should have told you the same day.",
    "We followed our policy, and I am satisfied it was applied fairly.",
    "You are right that this was not good enough, and I am sorry.",
]
ACTIONS = [
    "Staff will now record every incident on the same day.",
    "The office will phone parents before home time.",
    "No further action is needed.",
]
OUTCOME_WEIGHTS = {Outcome.upheld: 2.0, Outcome.partly_upheld: 3.0, Outcome.not_upheld: 5.0}
REDIRECT_REASONS = {
    "admissions": "School places are decided by the council's admissions team.",
    "exclusions": "This is about a suspension, which the governors review separately.",
    "send": "The council's SEND team decides on EHC needs assessments.",
    "safeguarding": "We have passed this to the Designated Safeguarding Lead today.",
}
STATUS_TAG = "complaint:status"


@dataclass(frozen=True)
class _Staff:
    users: list[StaffUser]
    office: StaffUser | None
    head: StaffUser | None
    chair: StaffUser | None
    clerk: StaffUser | None

    def handler_for(self, about: str) -> StaffUser | None:
        """The first person the procedure's routing allows (services.handler_roles)."""
        roles = services.handler_roles(About(about))
        return next((u for u in self.users if u.has_role(*roles)), None)

    def triager_for(self, about: str) -> StaffUser | None:
        if about == About.head:
            return self.chair
        if about == About.governor:
            return self.clerk
        return self.office


def _find_staff(session: Session, settings: Settings) -> _Staff:
    users = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )
    if not users:
        from portal.demo import load_demo

        load_demo(session, settings)
        users = list(
            session.scalars(
                select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
            )
        )

    def first(role: Role) -> StaffUser | None:
        return next((u for u in users if u.has_role(role)), None)

    return _Staff(
        users=users,
        office=first(Role.office),
        head=first(Role.head),
        chair=first(Role.chair),
        clerk=first(Role.clerk),
    )


class _Days:
    """School-day arithmetic with a fallback for dates before the known terms (old cases)."""

    def __init__(self, calendar: SchoolCalendar) -> None:
        self.calendar = calendar
        self._deadlines: dict[tuple[date, int], date] = {}

    def received_on(self, day: date) -> date:
        try:
            return self.calendar.next_school_day(day)
        except CalendarExhaustedError:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            return day

    def deadline(self, start: date, days: int) -> date:
        key = (start, days)
        if key not in self._deadlines:
            try:
                due = services.compute_deadline(self.calendar, start, days)
            except CalendarExhaustedError:
                due = start + timedelta(days=days * 7 // 5)
            self._deadlines[key] = due
        return self._deadlines[key]

    def clamp(self, day: date) -> date:
        return max(day, self.calendar.first_known_day)


class _Ids:
    def __init__(self, session: Session) -> None:
        self.complaint = _max_id(session, Complaint)
        self.message = _max_id(session, ComplaintMessage)
        self.event = _max_id(session, HistoryEvent)


def _max_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0)


def seed_cases(
    session: Session,
    settings: Settings,
    n: int,
    *,
    batch_size: int = 5000,
    rng_seed: int = 1,
    progress: Callable[[str], None] | None = print,
) -> int:
    """Add `n` realistic cases with their messages and history; returns how many were added.

    Loads the demo school first when there are no staff. Commits after every batch (the
    cases, their messages and history, and `complaint_status_count` together) and runs ANALYZE
    at the end. Assumes nobody else writes
    cases meanwhile (ids are given explicitly so messages and history can point at them).
    """
    say = progress or (lambda _message: None)
    started = clock_of(session).monotonic()
    rng = random.Random(rng_seed)
    staff = _find_staff(session, settings)
    days = _Days(services.school_calendar(session))
    today = services.school_date(session)
    ids = _Ids(session)
    used = set(session.scalars(select(Complaint.reference)))
    builder = _CaseBuilder(rng, school_of(session), staff, days, today, used, ids)
    complaint_table = Complaint.__table__  # type: ignore[attr-defined]
    message_table = ComplaintMessage.__table__  # type: ignore[attr-defined]
    event_table = HistoryEvent.__table__  # type: ignore[attr-defined]
    sqlite = session.get_bind().dialect.name == "sqlite"
    done = 0
    report_every = max(batch_size, n // 10)
    next_report = report_every
    try:
        while done < n:
            size = min(batch_size, n - done)
            cases, messages, events = [], [], []
            counts: Counter[str] = Counter()
            for _ in range(size):
                case, case_messages, case_events = builder.build()
                cases.append(case)
                messages.extend(case_messages)
                events.extend(case_events)
                counts[services._count_key(case["status"], case["about"])] += 1
            if sqlite:
                # Made-up rows: a bigger page cache and no fsync per commit while loading.
                session.execute(sql_text("PRAGMA cache_size=-262144"))
                session.execute(sql_text("PRAGMA synchronous=OFF"))
            session.execute(insert(complaint_table), cases)
            session.execute(insert(message_table), messages)
            # Made-up events are dated in the past (the import permit), never after now: history
            # refuses new events dated before its newest one.
            now = clock_of(session).now()
            for event in events:
                event["occurred_at"] = min(event["occurred_at"], now)
            with history_import_permitted(session):
                session.execute(insert(event_table), events)
            _add_counts(session, counts)
            session.commit()
            done += size
            if done >= next_report or done == n:
                next_report += report_every
                elapsed = clock_of(session).monotonic() - started
                rate = f" ({done / elapsed:,.0f} cases/s)" if elapsed > 0 else ""
                say(f"  seeded {done:,}/{n:,} cases{rate}")
    finally:
        _after_bulk_insert(session, sqlite)
    _analyze(session, sqlite)
    elapsed = clock_of(session).monotonic() - started
    say(f"  done, with sequences and ANALYZE: {elapsed:,.1f} s in all")
    return done


def _add_counts(session: Session, counts: Counter[str]) -> None:
    for key, delta in sorted(counts.items()):
        result = session.execute(
            update(StatusCount)
            .where(StatusCount.status == key)
            .values(count=StatusCount.count + delta)
        )
        if result.rowcount == 0:
            session.add(StatusCount(status=key, count=delta))
            session.flush()


def _after_bulk_insert(session: Session, sqlite: bool) -> None:
    """Put the connection back to normal and move PostgreSQL's sequences past the explicit ids."""
    session.rollback()
    if sqlite:
        session.execute(sql_text("PRAGMA synchronous=NORMAL"))
        session.execute(sql_text("PRAGMA cache_size=-2000"))
    else:
        for table in ("complaint", "complaint_message", "history_event"):
            session.execute(
                sql_text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            )
    session.commit()


def _analyze(session: Session, sqlite: bool) -> None:
    """Fresh statistics, so the planner knows the tables are big now."""
    tables = "complaint, complaint_message, history_event, complaint_status_count"
    session.execute(sql_text("ANALYZE" if sqlite else f"ANALYZE {tables}"))
    session.commit()


class _CaseBuilder:
    """One case's row, its messages and its history, as the services would have left them."""

    def __init__(
        self,
        rng: random.Random,
        school: School,
        staff: _Staff,
        days: _Days,
        today: date,
        used: set[str],
        ids: _Ids,
    ) -> None:
        self.rng = rng
        self.school = school
        self.staff = staff
        self.days = days
        self.today = today
        self.used = used
        self.ids = ids
        self.statuses = list(STATUS_WEIGHTS)
        self.status_weights = list(STATUS_WEIGHTS.values())
        self.abouts = list(ABOUT_WEIGHTS)
        self.about_weights = list(ABOUT_WEIGHTS.values())
        self.outcomes = list(OUTCOME_WEIGHTS)
        self.outcome_weights = list(OUTCOME_WEIGHTS.values())
        self.categories = list(school.categories)
        self.oldest = today - timedelta(days=365 * YEARS_BACK)
        self._role_labels: dict[int | None, str] = {}

    # ---------------------------------------------------------------- small pieces

    def reference(self) -> str:
        alphabet = services.REFERENCE_ALPHABET
        while True:
            chars = "".join(self.rng.choice(alphabet) for _ in range(7))
            reference = f"C-{chars[:4]}-{chars[4:]}"
            if reference not in self.used:
                self.used.add(reference)
                return reference

    def moment(self, day: date) -> datetime:
        """A time on `day` (naive UTC, like the clock's), mostly in the working day."""
        minutes = self.rng.randint(7 * 60, 21 * 60)
        return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)

    def what_happened(self) -> str:
        rng = self.rng
        first = f"{rng.choice(WHO)} {rng.choice(WHAT)} {rng.choice(WHEN)}."
        sentences = [first, rng.choice(THEN)]
        if rng.random() < 0.5:
            sentences.append(rng.choice(THEN))
        if rng.random() < 0.001:
            sentences.append(RARE)
        return " ".join(dict.fromkeys(sentences))

    def event(
        self,
        case_id: int,
        tag: str,
        at: datetime,
        actor: tuple[str, str, int | None],
        *,
        from_value: str | None = None,
        to_value: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.ids.event += 1
        kind, label, user_id = actor
        return {
            "id": self.ids.event,
            "subject_type": "complaint",
            "subject_id": str(case_id),
            "tag": tag,
            "actor_type": kind,
            "actor_user_id": user_id,
            "actor_label": label,
            "occurred_at": at,
            "from_value": from_value,
            "to_value": to_value,
            "detail": json.dumps(detail, default=str) if detail else None,
        }

    def message(
        self,
        case_id: int,
        kind: MessageKind,
        body: str,
        at: datetime,
        actor: tuple[str, str, int | None],
        *,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        self.ids.message += 1
        author_type, label, user_id = actor
        return {
            "id": self.ids.message,
            "complaint_id": case_id,
            "kind": str(kind),
            "author_type": author_type,
            "author_user_id": user_id,
            "author_label": label,
            "body": body.strip(),
            "outcome": outcome,
            "new_deadline": None,
            "created_at": at,
        }

    def role_labels(self, user: StaffUser | None) -> str:
        if user is None:
            return "Head teacher"
        if user.id not in self._role_labels:
            self._role_labels[user.id] = ", ".join(user.role_labels)
        return self._role_labels[user.id]

    @staticmethod
    def staff_actor(user: StaffUser | None) -> tuple[str, str, int | None]:
        if user is None:
            return ("system", "The portal", None)
        return ("staff", user.name, user.id)

    def letter(self, case: dict[str, Any], outcome: str, signer: StaffUser | None, on: date) -> str:
        """The shape of services.stage1_letter_text, with made-up findings."""
        rng = self.rng
        kind_word = "concern" if case["stage"] == Stage.concern else "complaint"
        greeting = "Dear parent or carer" if case["anonymous"] else f"Dear {case['parent_name']}"
        window = self.days.deadline(on, self.school.escalation_window_days)
        next_step = (
            "If you are not satisfied with this response, you can ask for your complaint to be "
            "considered by a panel of governors (stage 2). Use the button on the portal, or write "
            f"to the clerk to the governors, by {format_date(window)}."
        )
        if case["stage"] == Stage.concern:
            next_step = (
                "If you are not satisfied, you can make this a formal complaint (stage 1) on the "
                f"portal by {format_date(window)}."
            )
        name = signer.name if signer else "The head teacher"
        roles = self.role_labels(signer)
        return "\n\n".join(
            [
                f"{greeting},",
                f"Your {kind_word} {case['reference']}, received "
                f"{format_date(case['received_on'])}.",
                f"Outcome: {Outcome(outcome).label}.",
                f"What we looked into\n{rng.choice(INVESTIGATED)}",
                f"Our decision and the reasons for it\n{rng.choice(DECISIONS)}",
                f"What we will do\n{rng.choice(ACTIONS)}",
                f"What you can do next\n{next_step}",
                f"Yours sincerely,\n{name}\n{roles}, {self.school.name}",
            ]
        )

    def panel_letter(self, case: dict[str, Any], outcome: str, signer: StaffUser | None) -> str:
        greeting = "Dear parent or carer" if case["anonymous"] else f"Dear {case['parent_name']}"
        name = signer.name if signer else "The clerk to the governors"
        return "\n\n".join(
            [
                f"{greeting},",
                f"Your complaint {case['reference']}: the governors' panel has met.",
                f"Outcome: {Outcome(outcome).label}.",
                f"What the panel considered\n{self.rng.choice(INVESTIGATED)}",
                f"The panel's decision and reasons\n{self.rng.choice(DECISIONS)}",
                "This is the end of the school's complaints procedure\n"
                "The governing board's decision is final.",
                f"Yours sincerely,\n{name}\n{self.school.name}",
            ]
        )

    # ---------------------------------------------------------------- one case

    def received_day(self, status: Status) -> date:
        """Active cases arrived recently (inside the known terms); finished ones any time."""
        rng = self.rng
        if status is Status.new:
            back = rng.randint(0, 9)
        elif status is Status.open:
            back = rng.randint(3, 30)
        elif status is Status.responded:
            back = rng.randint(12, 30)
        else:
            return self.oldest + timedelta(
                days=rng.randint(0, (self.today - self.oldest).days - 14)
            )
        return min(self.days.clamp(self.today - timedelta(days=back)), self.today)

    def build(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        status = rng.choices(self.statuses, self.status_weights)[0]
        about = rng.choices(self.abouts, self.about_weights)[0]
        anonymous = rng.random() < ANONYMOUS_SHARE
        formal = rng.random() < 0.6
        self.ids.complaint += 1
        case_id = self.ids.complaint
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        name = "" if anonymous else f"{first} {last}"
        email = "" if anonymous else f"{first}.{last}{rng.randint(1, 999)}@example.com"
        received_day = self.received_day(status)
        received_at = self.moment(received_day)
        received_on = self.days.received_on(received_day)
        late = rng.random() < LATE_SHARE
        happened_on = received_day - timedelta(
            days=rng.randint(100, 300) if late else rng.randint(0, 20)
        )
        about_name = ""
        if about == About.staff:
            about_name = rng.choice(STAFF_NAMED)
        elif about == About.head:
            about_name = self.staff.head.name if self.staff.head else "The head teacher"
        elif about == About.governor:
            about_name = rng.choice(GOVERNOR_NAMED)
        case: dict[str, Any] = {
            "id": case_id,
            "reference": self.reference(),
            "access_token_hash": services.token_digest(secrets.token_urlsafe(24)),
            "stage": str(Stage.stage1 if formal else Stage.concern),
            "status": str(status),
            "is_active": status.is_active,
            "asked_for_formal": formal,
            "about": str(about),
            "about_name": about_name,
            "about_user_id": None,
            "category": rng.choice(self.categories),
            "what_happened": self.what_happened(),
            "happened_on": happened_on,
            "done_so_far": rng.choice(DONE_SO_FAR),
            "put_right": rng.choice(PUT_RIGHT),
            "anonymous": anonymous,
            "parent_name": name,
            "parent_name_normalised": name.lower(),
            "parent_email": email,
            "parent_email_normalised": services.normalise_email(email),
            "parent_phone": ""
            if anonymous or rng.random() < 0.5
            else f"07700 900{rng.randint(100, 999)}",
            "child_name": "" if rng.random() < 0.2 else rng.choice(CHILD_NAMES),
            "received_at": received_at,
            "received_on": received_on,
            "triaged_at": None,
            "responded_on": None,
            "escalated_on": None,
            "closed_at": None,
            "handler_user_id": None,
            "lead_complaint_id": None,
            "deadline_kind": None,
            "deadline_from": None,
            "deadline_school_days": None,
            "deadline_extended_to": None,
            "next_deadline": None,
            "queue_date": NO_DEADLINE,
            "reminded_for": None,
            "is_late": late,
            "late_decision": None,
            "anonymous_decision": None,
            "decision_notes": "",
            "redirect_to": "",
            "redirect_reason": "",
            "outcome": None,
            "persistent_matter": False,
        }
        parent = ("parent", "Anonymous" if anonymous else name, None)
        events = [
            self.event(
                case_id,
                "complaint:receive",
                received_at,
                parent,
                to_value=str(Status.new),
                detail={
                    "stage": case["stage"],
                    "received_on": received_on,
                    "late": late,
                    "anonymous": anonymous,
                    "persistent": False,
                },
            )
        ]
        messages: list[dict[str, Any]] = []
        if status is Status.new:
            self._new(case, messages, events, parent)
        elif status is Status.redirected:
            self._redirected(case, messages, events)
        elif status is Status.withdrawn:
            self._withdrawn(case, messages, events, parent)
        else:
            self._handled(case, status, messages, events)
        return case, messages, events

    def _deadline(self, case: dict[str, Any], kind: DeadlineKind, start: date) -> None:
        count = services.timescale_days(self.school, kind, Stage(case["stage"]))
        due = self.days.deadline(start, count)
        case.update(
            deadline_kind=str(kind),
            deadline_from=start,
            deadline_school_days=count,
            next_deadline=due,
            queue_date=due,
        )

    def _new(self, case: dict[str, Any], messages: list, events: list, parent: tuple) -> None:
        """Not sorted yet: the parent added something, or the office left a note on first look."""
        self._deadline(case, DeadlineKind.acknowledge, case["received_on"])
        at = case["received_at"] + timedelta(hours=self.rng.randint(1, 30))
        if self.rng.random() < 0.5:
            kind, body, actor = MessageKind.parent_reply, self.rng.choice(REPLIES), parent
        else:
            office = self.staff_actor(self.staff.office)
            kind, body, actor = MessageKind.internal_note, self.rng.choice(FIRST_LOOK), office
            events.append(self.event(case["id"], "complaint:view", at, office))
        messages.append(self.message(case["id"], kind, body, at, actor))
        events.append(
            self.event(
                case["id"],
                f"complaint:message:{kind}",
                at,
                actor,
                detail={"message_id": messages[-1]["id"]},
            )
        )

    def _triage(self, case: dict[str, Any], events: list, at: datetime) -> StaffUser | None:
        rng = self.rng
        handler = self.staff.handler_for(case["about"])
        triager = self.staff.triager_for(case["about"])
        if case["about"] == About.head and self.staff.head:
            case["about_user_id"] = self.staff.head.id
        asked_for = case["stage"]
        if rng.random() < 0.15:
            case["stage"] = str(Stage.stage1 if case["stage"] == Stage.concern else Stage.concern)
        case["triaged_at"] = at
        case["handler_user_id"] = handler.id if handler else None
        if case["is_late"]:
            case["late_decision"] = "investigate"
        if case["anonymous"]:
            case["anonymous_decision"] = "investigate"
        events.append(
            self.event(
                case["id"],
                "complaint:triage",
                at,
                self.staff_actor(triager),
                from_value=asked_for,
                to_value=case["stage"],
                detail={
                    "category": case["category"],
                    "handler": handler.name if handler else "",
                    "late_decision": case["late_decision"],
                    "anonymous_decision": case["anonymous_decision"],
                    "notes": "",
                },
            )
        )
        return handler

    def _handled(self, case: dict[str, Any], status: Status, messages: list, events: list) -> None:
        """Triaged, then open, answered, on to stage 2 or closed."""
        rng = self.rng
        case_id = case["id"]
        triaged = case["received_at"] + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
        handler = self._triage(case, events, triaged)
        actor = self.staff_actor(handler)
        stage1 = case["stage"] == Stage.stage1
        if status is Status.open and (not stage1 or rng.random() > 0.1):
            self._deadline(case, DeadlineKind.respond, case["received_on"])
            note_at = triaged + timedelta(hours=rng.randint(1, 48))
            messages.append(
                self.message(case_id, MessageKind.internal_note, rng.choice(NOTES), note_at, actor)
            )
            events.append(
                self.event(case_id, STATUS_TAG, triaged, actor, from_value="new", to_value="open")
            )
            return
        # Answered: a letter, then either still inside the escalation window or finished.
        if status is Status.responded:
            responded_on = min(
                self.today, self.days.clamp(self.today - timedelta(days=rng.randint(0, 9)))
            )
        else:
            responded_on = triaged.date() + timedelta(days=rng.randint(5, 16))
            if status is Status.open:
                responded_on = min(
                    self.today, self.days.clamp(self.today - timedelta(days=rng.randint(10, 25)))
                )
        outcome = str(rng.choices(self.outcomes, self.outcome_weights)[0])
        letter_at = self.moment(responded_on)
        messages.append(
            self.message(
                case_id,
                MessageKind.stage1_letter,
                self.letter(case, outcome, handler, responded_on),
                letter_at,
                actor,
                outcome=outcome,
            )
        )
        events.append(
            self.event(
                case_id,
                "complaint:message:stage1_letter",
                letter_at,
                actor,
                detail={"message_id": messages[-1]["id"]},
            )
        )
        case["responded_on"] = responded_on
        case["outcome"] = outcome
        if status is Status.responded:
            self._deadline(case, DeadlineKind.escalate, responded_on)
            events.append(
                self.event(
                    case_id, STATUS_TAG, letter_at, actor, from_value="open", to_value="responded"
                )
            )
            return
        stage2 = stage1 and (status is Status.open or rng.random() < 0.2)
        if stage2:
            escalated_on = responded_on + timedelta(days=rng.randint(1, 10))
            if status is Status.open:
                escalated_on = min(escalated_on, self.today)
            escalated_on = self.days.received_on(escalated_on)
            case["stage"] = str(Stage.stage2)
            case["escalated_on"] = escalated_on
            clerk = self.staff.clerk
            case["handler_user_id"] = clerk.id if clerk else case["handler_user_id"]
            parent = ("parent", "Anonymous" if case["anonymous"] else case["parent_name"], None)
            reasons = "The letter did not deal with what I actually asked about."
            if rng.random() < 0.5:
                messages.append(
                    self.message(
                        case_id,
                        MessageKind.escalation_request,
                        reasons,
                        self.moment(escalated_on),
                        parent,
                    )
                )
            events.append(
                self.event(
                    case_id,
                    "complaint:stage:escalate",
                    self.moment(escalated_on),
                    parent,
                    from_value=str(Stage.stage1),
                    to_value=str(Stage.stage2),
                )
            )
            if status is Status.open:
                self._deadline(case, DeadlineKind.panel, escalated_on)
                return
            outcome = str(rng.choices(self.outcomes, self.outcome_weights)[0])
            closed_at = self.moment(escalated_on + timedelta(days=rng.randint(14, 28)))
            clerk_actor = self.staff_actor(clerk)
            messages.append(
                self.message(
                    case_id,
                    MessageKind.stage2_letter,
                    self.panel_letter(case, outcome, clerk),
                    closed_at,
                    clerk_actor,
                    outcome=outcome,
                )
            )
            case["outcome"] = outcome
            case["closed_at"] = closed_at
            events.append(
                self.event(
                    case_id,
                    STATUS_TAG,
                    closed_at,
                    clerk_actor,
                    from_value="open",
                    to_value="closed",
                )
            )
            return
        closed_at = self.moment(responded_on + timedelta(days=rng.randint(14, 20)))
        case["closed_at"] = closed_at
        if rng.random() < 0.5:
            text = "The time to ask for the next stage has passed, so this case is now closed."
            messages.append(
                self.message(
                    case_id,
                    MessageKind.school_message,
                    text,
                    closed_at,
                    ("system", "The portal", None),
                )
            )
        events.append(
            self.event(
                case_id,
                STATUS_TAG,
                closed_at,
                ("system", "The portal", None),
                from_value="responded",
                to_value="closed",
                detail={"lapsed": True},
            )
        )

    def _withdrawn(self, case: dict[str, Any], messages: list, events: list, parent: tuple) -> None:
        at = case["received_at"] + timedelta(days=self.rng.randint(1, 10))
        kind_word = "concern" if case["stage"] == Stage.concern else "complaint"
        reason = self.rng.choice(
            [
                "The office sorted it out with me. Thank you.",
                "",
                "We have moved schools.",
            ]
        )
        body = services.withdrawal_confirmation(kind_word, format_date(at.date()), reason)
        messages.append(self.message(case["id"], MessageKind.withdrawal, body, at, parent))
        events.append(
            self.event(
                case["id"],
                "complaint:message:withdrawal",
                at,
                parent,
                detail={"message_id": messages[-1]["id"]},
            )
        )
        events.append(
            self.event(case["id"], STATUS_TAG, at, parent, from_value="new", to_value="withdrawn")
        )
        case["closed_at"] = at

    def _redirected(self, case: dict[str, Any], messages: list, events: list) -> None:
        procedure = self.rng.choice(list(REDIRECT_REASONS))
        chosen = self.school.procedure(procedure)
        name, where = (chosen.name, chosen.where) if chosen else (procedure, "")
        reason = REDIRECT_REASONS[procedure]
        at = case["received_at"] + timedelta(days=self.rng.randint(1, 4))
        office = self.staff_actor(self.staff.triager_for(case["about"]))
        if "Something else" in self.school.categories:
            case["category"] = "Something else"
        case.update(redirect_to=name, redirect_reason=reason, closed_at=at)
        body = f"This is about {name.lower()}, which has its own procedure. {where}\n\n{reason}"
        messages.append(self.message(case["id"], MessageKind.redirect_notice, body, at, office))
        events.append(
            self.event(
                case["id"],
                STATUS_TAG,
                at,
                office,
                from_value="new",
                to_value="redirected",
                detail={"procedure": procedure},
            )
        )
