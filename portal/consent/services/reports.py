"""Consent reports: per class and purpose, who may appear and who may not; who has not answered;
and the same as a spreadsheet (CSV) that Excel opens safely.

A report is for a class or a whole year group (`Group`), one part per class, so a printed report
is one page per class. A restricted pupil is "Restricted" here for everyone: the kind of flag is
added only on screen and only for the roles the consent settings name (the views decide), never
in print or in the CSV, which leave the portal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from portal.consent.models import Pupil, Purpose
from portal.consent.services.answers import Decision, Why, decisions_for

CLASS = "class"
YEAR = "year"
# Why a pupil counts as "not answered": nobody has answered, or every answer has run out.
UNANSWERED = (Why.no_answer, Why.lapsed)
# OWASP's CSV injection advice: a cell starting with one of these is read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BYTE_ORDER_MARK = "\ufeff"


def _natural(text: str) -> list[object]:
    """A sort key that puts Year 2 before Year 10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class Group:
    """A class ("class", "3B") or a year group ("year", "Year 3") of pupils on roll."""

    kind: str
    name: str

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        return f"Class {self.name}" if self.kind == CLASS else self.name


def groups(session: Session) -> list[Group]:
    """Every year group then every class with a pupil on roll, in order."""
    rows = session.execute(
        select(Pupil.year_group, Pupil.class_name).where(Pupil.on_roll).distinct()
    ).all()
    years = sorted({year for year, _c in rows}, key=_natural)
    classes = sorted({name for _y, name in rows}, key=_natural)
    return [Group(YEAR, y) for y in years] + [Group(CLASS, c) for c in classes]


def group_of(session: Session, value: str) -> Group | None:
    """The group a form's value names, if it exists now."""
    kind, _colon, name = value.partition(":")
    if kind not in (CLASS, YEAR) or not name:
        return None
    wanted = Group(kind, name)
    return wanted if wanted in groups(session) else None


def pupils_in(session: Session, group: Group) -> list[Pupil]:
    """The group's pupils on roll, by class then surname."""
    column = Pupil.class_name if group.kind == CLASS else Pupil.year_group
    statement = (
        select(Pupil)
        .where(Pupil.on_roll, column == group.name)
        .order_by(Pupil.class_name, Pupil.legal_last_name, Pupil.legal_first_name, Pupil.id)
    )
    return list(session.scalars(statement))


def classes_in(pupils: Sequence[Pupil]) -> list[str]:
    return sorted({p.class_name for p in pupils}, key=_natural)


@dataclass(frozen=True)
class ReportLine:
    pupil: Pupil
    decision: Decision


@dataclass(frozen=True)
class ClassReport:
    """One class's part of a report: one printed page."""

    class_name: str
    may_appear: list[ReportLine]
    may_not: list[ReportLine]


def report(
    session: Session, pupils: Sequence[Pupil], purpose: Purpose, at: datetime
) -> list[ClassReport]:
    """Per class: who may appear in a picture used for `purpose` (and be named), and who not."""
    decided = decisions_for(session, pupils, [purpose], at)
    parts = []
    for class_name in classes_in(pupils):
        lines = [
            ReportLine(p, decided[(p.id, purpose.id)])  # type: ignore[index]
            for p in pupils
            if p.class_name == class_name
        ]
        parts.append(
            ClassReport(
                class_name,
                [line for line in lines if line.decision.allowed],
                [line for line in lines if not line.decision.allowed],
            )
        )
    return parts


@dataclass(frozen=True)
class Unanswered:
    """A pupil on roll whose answer is missing (or has run out) for some of the purposes."""

    pupil: Pupil
    missing: list[Purpose]
    lapsed: bool

    @property
    def words(self) -> str:
        return "Last answer has run out" if self.lapsed else "No answer yet"


def unanswered(
    session: Session, pupils: Sequence[Pupil], purposes: Sequence[Purpose], at: datetime
) -> list[Unanswered]:
    """The pupils with no current answer for any of `purposes`. Restricted pupils and leavers
    are never asked: their answer is no whatever a parent says."""
    decided = decisions_for(session, pupils, purposes, at)
    found = []
    for pupil in pupils:
        missing = [
            (purpose, decided[(pupil.id, purpose.id)])  # type: ignore[index]
            for purpose in purposes
            if decided[(pupil.id, purpose.id)].why in UNANSWERED  # type: ignore[index]
        ]
        if missing:
            found.append(
                Unanswered(
                    pupil,
                    [purpose for purpose, _d in missing],
                    any(d.why is Why.lapsed for _p, d in missing),
                )
            )
    return found


def neutralised(value: str) -> str:
    """A cell Excel and other spreadsheets show as text, never run as a formula (OWASP: a cell
    that starts with = + - @, a tab or a carriage return gets a leading apostrophe)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


CSV_HEADER = ("Class", "Pupil", "Year", "Where", "May appear", "Why", "May be named")


def report_csv(parts: Sequence[ClassReport], purpose: Purpose) -> bytes:
    """The report as a CSV file: UTF-8 with a byte order mark (so Excel reads names in any
    script), every cell quoted and neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for part in parts:
        for line in [*part.may_appear, *part.may_not]:
            pupil, decision = line.pupil, line.decision
            writer.writerow(
                [
                    neutralised(cell)
                    for cell in (
                        pupil.class_name,
                        pupil.name,
                        pupil.year_group,
                        purpose.name,
                        "Yes" if decision.allowed else "No",
                        decision.words,
                        "Yes" if decision.may_name else "No",
                    )
                ]
            )
    return (BYTE_ORDER_MARK + out.getvalue()).encode("utf-8")


def csv_filename(group: Group, purpose: Purpose) -> str:
    """A plain ASCII file name: the group's and purpose's letters and digits only."""
    words = f"photo-consent {group.label} {purpose.key}"
    return re.sub(r"[^A-Za-z0-9]+", "-", words).strip("-").lower()[:80] + ".csv"
